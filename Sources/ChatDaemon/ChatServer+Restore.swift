import Bytes
import ChatCore
import ChatProtocol
import Glibc
import Reactor
import SystemCalls
import Systemd

/// A successor taking over: what a predecessor handed over on a planned restart (across
/// an exec, or through systemd's file descriptor store), or, after a crash, what its crash
/// journal says. Each restored member carries on with its nick, admin login, mute and
/// flood state; a connection that cannot be restored is told why and closed.
extension ChatServer {
    /// Where a successor's state came from: says how its descriptors are found.
    enum Predecessor {
        /// An exec in place (`chatroomctl restart`, SIGUSR2): descriptors by number.
        case exec(HandoverState)
        /// `systemctl restart` (SIGUSR1): the state and descriptors from the store.
        case store(HandoverState)
        /// A crash or the watchdog: the crash journal and the descriptors in the store.
        case crash(HandoverState)
        /// The predecessor's state could not be used: every stored connection is told why.
        case unusable(String)

        var state: HandoverState? {
            switch self {
            case let .exec(state), let .store(state), let .crash(state): return state
            case .unusable: return nil
            }
        }
    }

    /// What systemd passed at start and the environment say about a predecessor, if any.
    static func findPredecessor(_ stored: inout StoredDescriptors, environment: [String: String]) -> Predecessor? {
        if let fd = environment[HandoverState.environmentKey].flatMap(Int32.init) {
            do { return .exec(try HandoverState.read(fd: fd)) } catch { return .unusable(error.description) }
        }
        if let fd = stored.handover {
            stored.handover = nil
            do { return .store(try HandoverState.read(fd: fd)) } catch { return .unusable(error.description) }
        }
        guard !stored.journals.isEmpty else { return stored.connections.isEmpty ? nil : .unusable("no crash journal came with them") }
        do {
            let (snapshot, inodes, _) = try CrashJournal.read(stored.journals)
            let connections = snapshot.connections.map { connection in
                HandoverState.Connection(id: connection.id, fd: -1, inode: inodes[connection.id] ?? 0,
                                         address: connection.address, input: [], output: [])
            }
            return .crash(HandoverState(room: snapshot, connections: connections, listeners: [], pausedAt: 0,
                                        interruptedLogins: []))
        } catch {
            return .unusable(error.description)
        }
    }

    /// Takes over a predecessor's connections and state.
    func restore(_ predecessor: Predecessor) {
        let began = MonotonicClock.now()
        guard var state = predecessor.state else {
            if case let .unusable(why) = predecessor {
                log(.error, "handover-refused", "could not take over the previous process's connections: \(why)", ["chat_reason": why])
                dismissStoredConnections(Notice.notRestored(why.contains("downgrade") ? "this is an older version of the server" : "its state was unreadable"))
            }
            return
        }
        var ids: [UInt64: ClientID] = [:]
        for connection in state.connections {
            let fd: Int32?
            switch predecessor {
            case .exec: fd = connection.fd
            default: fd = stored.connections.removeValue(forKey: connection.inode)
            }
            guard let fd else { continue }
            guard let address = IPAddress(parsing: connection.address), let id = try? reactor.adoptConnection(fd: fd) else {
                close(fd)
                continue
            }
            connections.adopt(id, address: address, maximumFrameLength: settings.maxFrameBytes)
            if !connection.output.isEmpty { reactor.send(SharedBytes.copying(connection.output), to: id) }
            if !connection.input.isEmpty, let session = connections.session(id) {
                // An unfinished frame yields nothing until its rest arrives.
                try? connection.input.withUnsafeBytes { bytes in try session.decoder.feed(bytes) { _ in true } }
            }
            ids[connection.id] = ClientID(id.rawValue)
        }
        let adopted = MonotonicClock.now()
        if case .crash = predecessor, stateStore != nil {
            // The state directory was written on every change to the sanctions and the
            // topic, and the history every few seconds: fresher than the journal's base.
            let disk = room.snapshot().snapshot
            (state.room.sanctions, state.room.history, state.room.topic) = (disk.sanctions, disk.history, disk.topic)
            (state.room.topicSetBy, state.room.topicSetAt) = (disk.topicSetBy, disk.topicSetAt)
        }
        let restored = room.restore(state.room, ids: ids, now: now(), effects: &effects)
        for old in state.interruptedLogins {
            if let client = ids[old] { effects.append(.send(FrameEncoder.frame(Notice.loginInterrupted), to: client)) }
        }
        if case .crash = predecessor {
            for client in ids.values { effects.append(.send(FrameEncoder.frame(Notice.restoredAfterFailure), to: client)) }
        }
        applyEffects()
        dismissStoredConnections(Notice.notRestored("the previous process ended before it recorded your connection"))
        let done = MonotonicClock.now()
        if let fd = state.replyFD, case .exec = predecessor {
            // The operator's `chatroomctl restart`, answered by the process it asked for.
            let reply = FrameEncoder.frame("Restarted: \(restored) connection(s) handed to chatroomd \(ChatroomVersion.current).")
            _ = reply.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(fd)
        }
        if case .crash = predecessor {
            log(.warning, "crash-restored", "restored \(restored) connection(s) from the crash journal after the previous process ended without handing over",
                ["chat_connections": "\(restored)", "chat_duration_ms": "\((done - began) / 1_000_000)"])
            return
        }
        let pause = (done - state.pausedAt) / 1_000_000
        log(.notice, "handover-restored", "took over \(restored) connection(s) from the previous program; paused \(pause) ms",
            ["chat_connections": "\(restored)", "chat_duration_ms": "\(pause)", "chat_started_ms": "\((began - state.pausedAt) / 1_000_000)",
             "chat_adopt_ms": "\((adopted - began) / 1_000_000)", "chat_room_ms": "\((done - adopted) / 1_000_000)"])
    }

    /// Stored connections nobody restored: each is told `notice` and closed (shut down
    /// first, so systemd's duplicate goes too).
    func dismissStoredConnections(_ notice: String) {
        let frame = FrameEncoder.frame(notice)
        for fd in stored.connections.values {
            guard let id = try? reactor.adoptConnection(fd: fd) else {
                _ = shutdown(fd, Int32(SHUT_RDWR))
                close(fd)
                continue
            }
            reactor.send(frame, to: id)
            reactor.close(id, reason: "not restored")
        }
        if !stored.connections.isEmpty {
            log(.warning, "handover-refused", "closed \(stored.connections.count) stored connection(s) that could not be restored: \(notice)",
                ["chat_connections": "\(stored.connections.count)", "chat_reason": notice])
        }
        stored.connections.removeAll()
    }
}
