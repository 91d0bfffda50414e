import Bytes
import CLinux
import CTLS
import Glibc
import SystemCalls

/// Reading into the loop's buffer, writing queues with `writev`, and closing gracefully.
extension Reactor {
    // MARK: Reading

    func readable(_ index: Int, _ id: ConnectionID) {
        // A closing TLS connection's input is discarded unread like a plaintext one's.
        if slots[index].tls != nil && (slots[index].phase == .open || !slots[index].tlsEstablished) {
            return tlsReadable(index, id)
        }
        for _ in 0..<configuration.readsPerWakeup {
            let fd = slots[index].fd
            let result: NonBlocking<Int>
            do {
                result = try nonBlocking("read") { Glibc.read(fd, readBuffer.baseAddress, readBuffer.count) }
            } catch {
                destroy(index, slots[index].phase == .open ? .failed(error) : (slots[index].closeReason ?? .failed(error)))
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .done(0):
                destroy(index, slots[index].phase == .open ? .peerClosed : (slots[index].closeReason ?? .peerClosed))
                return
            case let .done(count):
                // Input arriving after we asked to close is discarded unread.
                guard slots[index].phase == .open else { continue }
                delegate?.reactor(self, received: UnsafeRawBufferPointer(rebasing: readBuffer[..<count]), on: id)
                guard liveSlot(id) != nil, slots[index].phase == .open else { return }
                if count < readBuffer.count { return }  // drained: skip the EAGAIN round trip
            }
        }
    }

    // MARK: Writing

    @inline(__always)
    func scheduleFlush(_ index: Int) {
        if !slots[index].flushScheduled {
            slots[index].flushScheduled = true
            flushList.append(index)
        }
    }

    func flush(_ index: Int) {
        let phase = slots[index].phase
        guard phase == .open || phase == .closing else { return }
        if slots[index].tls != nil && !slots[index].ktlsSend {
            guard let blocked = tlsWrite(index) else { return }  // destroyed
            return finishFlush(index, blocked: blocked)
        }
        let fd = slots[index].fd
        var written = 0
        var blocked = false
        while !slots[index].queue.isEmpty && written < configuration.writeBytesPerTurn {
            let (count, offered) = slots[index].queue.gather(into: iovecs, limit: iovecCapacity)
            let result: NonBlocking<Int>
            do {
                result = try nonBlocking("writev") { Glibc.writev(fd, iovecs, Int32(count)) }
            } catch {
                destroy(index, phase == .open ? .failed(error) : (slots[index].closeReason ?? .failed(error)))
                return
            }
            guard case let .done(sent) = result else {
                blocked = true
                break
            }
            slots[index].queue.consume(sent)
            written += sent
            if sent < offered {  // the socket buffer is full
                blocked = true
                break
            }
        }
        finishFlush(index, blocked: blocked)
    }

    /// After a flush: the queue bound, backpressure, storage and the close.
    func finishFlush(_ index: Int, blocked: Bool) {
        // A peer that cannot take what we have, with more than the bound still waiting, is
        // not reading: cut it off rather than buffer for it without end.
        let queued = slots[index].queue.queuedBytes
        if blocked && queued > configuration.maximumQueuedBytes {
            abort(index, .sendQueueExceeded(queuedBytes: queued, limit: configuration.maximumQueuedBytes))
            return
        }
        if slots[index].readingPaused && slots[index].queue.queuedBytes <= configuration.pauseReadingAboveQueuedBytes / 4 {
            slots[index].readingPaused = false
            if let session = slots[index].tls, ctls_pending(session) != 0 { scheduleTLSRead(index) }
        }
        if slots[index].queue.isEmpty {
            if slots[index].queue.capacity > OutboundQueue.keptCapacity && !slots[index].trimScheduled {
                slots[index].trimScheduled = true
                trimList.append(index)
            }
            // A TLS connection may still have records waiting for the socket.
            if slots[index].phase == .closing && !slots[index].tlsWantsOutput { beginLinger(index) }
        }
        updateInterest(index)
    }

    /// Input unless reading is paused, output while anything is queued.
    func updateInterest(_ index: Int) {
        let current = slots[index].interest
        var desired = CLINUX_EPOLLRDHUP
        if !slots[index].readingPaused { desired |= CLINUX_EPOLLIN }
        if slots[index].tls == nil {
            if !slots[index].queue.isEmpty { desired |= CLINUX_EPOLLOUT }
        } else if slots[index].tlsWantsOutput || (slots[index].tlsEstablished && !slots[index].queue.isEmpty) {
            // Before the handshake ends the queue waits: only OpenSSL's own flights need output.
            desired |= CLINUX_EPOLLOUT
        }
        guard desired != current else { return }
        let id = ConnectionID(slot: UInt32(index), generation: slots[index].generation)
        do {
            try control(EPOLL_CTL_MOD, slots[index].fd, desired, id.rawValue)
            slots[index].interest = desired
        } catch {
            abort(index, .failed(error))
        }
    }

    // MARK: Closing

    func beginLinger(_ index: Int) {
        slots[index].phase = .lingering
        slots[index].readingPaused = false  // read until the peer's EOF
        tlsShutdown(index)
        _ = Glibc.shutdown(slots[index].fd, Int32(SHUT_WR))
    }

    func closeTimedOut(_ connection: ConnectionID) {
        guard let index = liveSlot(connection) else { return }
        slots[index].closeTimer = nil
        let reason: CloseReason
        if slots[index].phase == .lingering, let requested = slots[index].closeReason {
            reason = requested  // everything was sent; the peer just never closed its side
        } else {
            reason = .closeTimedOut(slots[index].closeReason?.description ?? "closing")
        }
        destroy(index, reason)
    }

    /// Schedules an immediate close from inside a public method: the delegate hears of
    /// it at the end of the turn, never re-entrantly.
    func abort(_ index: Int, _ reason: CloseReason) {
        guard slots[index].phase != .free, !slots[index].closeScheduled else { return }
        slots[index].closeScheduled = true
        slots[index].closeReason = reason
        slots[index].queue.removeAll()
        if slots[index].phase == .open { slots[index].phase = .closing }
        closeList.append(index)
    }

    func destroy(_ index: Int, _ reason: CloseReason) {
        guard slots[index].phase != .free else { return }
        let id = ConnectionID(slot: UInt32(index), generation: slots[index].generation)
        // Shut down before closing: a duplicate of the descriptor may live on elsewhere (in
        // systemd's file descriptor store), and close() alone would leave the connection
        // open there; shut down, the peer gets its end of file and systemd drops its copy.
        _ = Glibc.shutdown(slots[index].fd, Int32(SHUT_RDWR))
        closeDescriptor(slots[index].fd)  // also removes it from the epoll set
        if let timer = slots[index].closeTimer { timers.cancel(timer) }
        endTLS(index)
        let generation = slots[index].generation
        slots[index].queue.removeAll()  // the queue's storage is manual (see OutboundQueue)
        slots[index] = Slot()
        slots[index].generation = generation
        freeSlots.append(UInt32(index))
        connectionCount -= 1
        delegate?.reactor(self, closed: id, because: reason)
    }
}
