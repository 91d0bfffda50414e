import CLinux
import CTLS
import Glibc

/// TLS connections: the handshake, reading records into the delegate, and writing the
/// queued frames as records. A plaintext connection never enters this file (one check of
/// `slot.tls` on each path).
///
/// Writing coalesces: the frames queued for a connection in one turn are copied into one
/// scratch buffer of up to 16 KiB (a record's largest plaintext) and written as one record,
/// so a member who gets ten broadcasts in a turn costs one encryption, not ten. The frames
/// themselves stay shared and encoded once. A batched session (the default) also collects
/// the turn's records (up to the turn's write budget) in one staging buffer and sends them
/// with one `send`, like the plaintext path's one `writev`; ciphertext the socket does not
/// take waits in the session's backlog, sent first next time. Without batching (so that
/// kernel TLS can take over), OpenSSL writes each record itself, and a write that returned
/// "want write" must be repeated with the same bytes: until it is done the queue is not
/// consumed and the same prefix is copied again (`tlsRetryLength`).
extension Reactor {
    /// A record's largest plaintext.
    static let tlsRecordBytes = 16 << 10

    /// Starts a server session on an accepted socket: the handshake begins with the
    /// client's first bytes.
    func beginTLS(_ index: Int, context: TLSContext) -> Bool {
        let batched = configuration.tlsBatching
        guard let session = ctls_session_new(context.pointer, slots[index].fd, context.isServer ? 1 : 0, batched ? 1 : 0) else { return false }
        if batched && tlsStaging == nil {
            tlsStaging = .allocate(byteCount: tlsStagingCapacity, alignment: 16)
        }
        slots[index].tls = session
        slots[index].tlsBatched = batched
        tlsHandshakesInProgress += 1
        return true
    }

    /// The session's next handshake step; the delegate hears when it completes. A failure
    /// closes the connection with the reason (plaintext on the TLS port, an old protocol
    /// version, garbage).
    func continueHandshake(_ index: Int, _ id: ConnectionID) {
        guard let session = slots[index].tls else { return }
        switch Int(ctls_handshake(session)) {
        case CTLS_DONE:
            slots[index].tlsEstablished = true
            // A batched session's last flight may still wait for the socket.
            slots[index].tlsWantsOutput = ctls_has_backlog(session) != 0
            slots[index].ktlsSend = ctls_session_ktls_send(session) != 0
            tlsHandshakesInProgress -= 1
            updateInterest(index)
            if !slots[index].queue.isEmpty { scheduleFlush(index) }
            delegate?.reactor(self, secured: id)
        case CTLS_WANT_READ:
            setWantsOutput(index, ctls_has_backlog(session) != 0)
        case CTLS_WANT_WRITE:
            setWantsOutput(index, true)
        default:
            destroy(index, .tlsFailed(sessionError(session)))
        }
    }

    func setWantsOutput(_ index: Int, _ wants: Bool) {
        guard slots[index].tlsWantsOutput != wants else { return }
        slots[index].tlsWantsOutput = wants
        updateInterest(index)
    }

    // MARK: Reading

    func tlsReadable(_ index: Int, _ id: ConnectionID) {
        guard let session = slots[index].tls else { return }
        if !slots[index].tlsEstablished {
            continueHandshake(index, id)
            guard liveSlot(id) != nil, slots[index].tlsEstablished else { return }
        }
        // A record is at most 16 KiB: as many reads as the plaintext budget allows.
        for _ in 0..<(configuration.readsPerWakeup * 4) {
            let result = ctls_read(session, readBuffer.baseAddress, readBuffer.count)
            if result > 0 {
                delegate?.reactor(self, received: UnsafeRawBufferPointer(rebasing: readBuffer[..<Int(result)]), on: id)
                guard liveSlot(id) != nil, slots[index].phase == .open else { return }
                if slots[index].readingPaused { break }
                continue
            }
            switch Int(result) {
            case CTLS_WANT_READ:
                setWantsOutput(index, ctls_has_backlog(session) != 0)
                return
            case CTLS_WANT_WRITE:
                setWantsOutput(index, true)
                return
            case CTLS_DONE:
                destroy(index, .peerClosed)
                return
            default:
                destroy(index, .tlsFailed(sessionError(session)))
                return
            }
        }
        // OpenSSL may hold whole records already read from the socket, which epoll will
        // not report again: come back next turn.
        if ctls_pending(session) != 0 { scheduleTLSRead(index) }
    }

    func scheduleTLSRead(_ index: Int) {
        guard !slots[index].tlsReadScheduled else { return }
        slots[index].tlsReadScheduled = true
        tlsReadList.append(index)
    }

    /// Connections whose decrypted input waits inside OpenSSL (read budget used up, or
    /// reading was paused): served at the start of the next turn's timers.
    func runScheduledTLSReads() {
        let due = tlsReadList
        tlsReadList.removeAll(keepingCapacity: true)
        for index in due {
            slots[index].tlsReadScheduled = false
            guard slots[index].phase == .open, slots[index].tls != nil, !slots[index].readingPaused else { continue }
            tlsReadable(index, ConnectionID(slot: UInt32(index), generation: slots[index].generation))
        }
    }

    // MARK: Writing

    /// Writes the queue as records. Returns whether the socket (or OpenSSL) would not take
    /// everything; nil when the connection was destroyed.
    func tlsWrite(_ index: Int) -> Bool? {
        guard let session = slots[index].tls else { return false }
        let id = ConnectionID(slot: UInt32(index), generation: slots[index].generation)
        if slots[index].tlsBatched && ctls_has_backlog(session) != 0 {
            switch Int(ctls_flush_backlog(session)) {
            case CTLS_DONE:
                slots[index].tlsWantsOutput = false
            case CTLS_WANT_WRITE:
                slots[index].tlsWantsOutput = true
                return true
            default:
                destroy(index, slots[index].phase == .open ? .tlsFailed(sessionError(session)) : (slots[index].closeReason ?? .tlsFailed(sessionError(session))))
                return nil
            }
        }
        if !slots[index].tlsEstablished {
            // Nothing can be sent before the handshake; a connection asked to close before
            // it finished (the handshake deadline, a ban) just goes.
            if slots[index].phase == .closing {
                destroy(index, slots[index].closeReason ?? .peerClosed)
                return nil
            }
            continueHandshake(index, id)
            return liveSlot(id) == nil ? nil : true
        }
        if slots[index].tlsBatched { return tlsWriteBatch(index, session) }
        var written = 0
        while !slots[index].queue.isEmpty && written < configuration.writeBytesPerTurn {
            let retry = Int(slots[index].tlsRetryLength)
            let length = slots[index].queue.copyPrefix(into: tlsBuffer, limit: retry > 0 ? retry : Self.tlsRecordBytes)
            let result = ctls_write(session, tlsBuffer, length)
            if result > 0 {
                slots[index].tlsRetryLength = 0
                slots[index].queue.consume(Int(result))
                written += Int(result)
                continue
            }
            slots[index].tlsRetryLength = Int32(length)
            switch Int(result) {
            case CTLS_WANT_WRITE, CTLS_WANT_READ:
                return true
            default:
                destroy(index, slots[index].phase == .open ? .tlsFailed(sessionError(session)) : (slots[index].closeReason ?? .tlsFailed(sessionError(session))))
                return nil
            }
        }
        return false
    }

    /// The turn's records into the staging buffer, then one send. OpenSSL's writes cannot
    /// block here (the staging buffer takes them), so there is no retry to remember.
    func tlsWriteBatch(_ index: Int, _ session: OpaquePointer) -> Bool? {
        guard !slots[index].queue.isEmpty, let staging = tlsStaging else { return false }
        ctls_batch_begin(session, staging, tlsStagingCapacity)
        var written = 0
        var failed = false
        while !slots[index].queue.isEmpty && written < configuration.writeBytesPerTurn {
            let length = slots[index].queue.copyPrefix(into: tlsBuffer, limit: Self.tlsRecordBytes)
            let result = ctls_write(session, tlsBuffer, length)
            guard result > 0 else {
                failed = true
                break
            }
            slots[index].queue.consume(Int(result))
            written += Int(result)
        }
        let sent = Int(ctls_batch_end(session))
        if failed || sent == CTLS_FAILED {
            let reason = CloseReason.tlsFailed(sessionError(session))
            destroy(index, slots[index].phase == .open ? reason : (slots[index].closeReason ?? reason))
            return nil
        }
        slots[index].tlsWantsOutput = sent == CTLS_WANT_WRITE
        return sent == CTLS_WANT_WRITE
    }

    /// Sends close_notify before our side of the socket is shut down.
    func tlsShutdown(_ index: Int) {
        guard let session = slots[index].tls, slots[index].tlsEstablished else { return }
        ctls_shutdown(session)
    }

    func endTLS(_ index: Int) {
        guard let session = slots[index].tls else { return }
        if !slots[index].tlsEstablished { tlsHandshakesInProgress -= 1 }
        ctls_session_free(session)
        slots[index].tls = nil
    }

    func sessionError(_ session: OpaquePointer) -> String {
        var text = [CChar](repeating: 0, count: 256)
        ctls_session_error(session, &text, text.count)
        return cString(text)
    }

    // MARK: For the delegate

    /// Open TLS connections with a finished handshake.
    public func secureConnections() -> [ConnectionID] {
        slots.indices.compactMap { index in
            guard slots[index].phase == .open, !slots[index].closeScheduled, slots[index].tls != nil, slots[index].tlsEstablished else { return nil }
            return ConnectionID(slot: UInt32(index), generation: slots[index].generation)
        }
    }

    /// Writes what is queued now (best effort, without waiting), sends close_notify and
    /// shuts our side down, before the process goes away (a restart in place). The slot
    /// stays until the peer closes or the process ends; the delegate hears nothing now.
    public func finishTLSNow(_ connection: ConnectionID) {
        guard let index = openSlot(connection), let session = slots[index].tls, slots[index].tlsEstablished else { return }
        var attempts = 0
        while !slots[index].queue.isEmpty && attempts < 64 {
            attempts += 1
            let retry = Int(slots[index].tlsRetryLength)
            let length = slots[index].queue.copyPrefix(into: tlsBuffer, limit: retry > 0 ? retry : Self.tlsRecordBytes)
            let result = ctls_write(session, tlsBuffer, length)
            guard result > 0 else { break }
            slots[index].tlsRetryLength = 0
            slots[index].queue.consume(Int(result))
        }
        // Records the socket did not take at once wait in the session's backlog: out before
        // our side is shut, or the notice never leaves (best effort: the process is going).
        _ = ctls_flush_backlog(session)
        slots[index].phase = .closing
        slots[index].closeReason = .requested("server restarting")
        slots[index].queue.removeAll()
        beginLinger(index)  // close_notify, then our side of the socket
        updateInterest(index)
    }

    /// Whether the connection came through a TLS listener (or was adopted with TLS).
    public func isSecure(_ connection: ConnectionID) -> Bool {
        liveSlot(connection).map { slots[$0].tls != nil } ?? false
    }

    /// The protocol version and cipher of an established session, for logs.
    public func tlsDescription(_ connection: ConnectionID) -> String? {
        guard let index = liveSlot(connection), let session = slots[index].tls, slots[index].tlsEstablished else { return nil }
        let kernel = slots[index].ktlsSend ? ", kernel TLS" : ""
        return "\(String(cString: ctls_session_version(session))) \(String(cString: ctls_session_cipher(session)))\(kernel)"
    }

    /// The peer's certificate as verified against the context's CAs, for a client.
    public func tlsPeer(_ connection: ConnectionID) -> (verifyResult: Int, fingerprint: [UInt8]?)? {
        guard let index = liveSlot(connection), let session = slots[index].tls, slots[index].tlsEstablished else { return nil }
        var digest = [UInt8](repeating: 0, count: 32)
        let fingerprint = ctls_session_peer_fingerprint(session, &digest) == 0 ? digest : nil
        return (Int(ctls_session_verify_result(session)), fingerprint)
    }
}
