import ChatCore
import Glibc
import Reactor
import SystemCalls
import Systemd

/// What the daemon keeps in systemd's file descriptor store while it runs: a duplicate of
/// every member's connection (pushed when it joins, dropped by systemd when the socket is
/// shut down), and the crash journal. So a crash or the watchdog loses no member, and
/// `systemctl restart` (SIGUSR1, chatroomd.service's `RestartKillSignal=`) hands every
/// connection, those still greeting too, and the whole state to the next process.
///
/// Members only, not every accepted connection: systemd compares each descriptor stored
/// with every one it holds (`same_fd()`, a `kcmp` each), so storing costs PID 1 time that
/// grows with the store; a connection that never joins (a scanner, a flood of them) must
/// not make PID 1 pay. Connections still greeting are stored at a planned restart only.
final class StoreKeeper {
    let capacity: Int
    let journal: CrashJournal
    /// Each stored connection's socket inode, recorded in the journal.
    var inodes: [UInt64: UInt64] = [:]
    /// Why the journal could not be written, once logged until it works again.
    var failure: String? = nil
    /// The journal's base still describes the predecessor (its connection IDs): the next
    /// change writes a new base instead of a record.
    var needsRebase = true

    init(capacity: Int, journal: CrashJournal) {
        self.capacity = capacity
        self.journal = journal
    }
}

extension ChatServer {
    /// The exit status of a process that handed everything to the store: chatroomd.service
    /// counts it as success (`SuccessExitStatus=`), and restarts on it even when nobody
    /// asked systemd to (`RestartForceExitStatus=`, a stray SIGUSR1), so the store is kept.
    static let handedToStoreExitStatus: Int32 = 75

    /// Starts keeping the store current, continuing the predecessor's journal if there
    /// was one. Called at start, after any restore.
    func startStoreKeeping(capacity: Int, inheritedJournals: [Int32]) {
        let journal: CrashJournal
        if inheritedJournals.count == 2 {
            journal = CrashJournal(files: inheritedJournals)
        } else {
            for fd in inheritedJournals { close(fd) }
            if !inheritedJournals.isEmpty { FileDescriptorStore.remove(name: CrashJournal.storeName) }
            do { journal = try CrashJournal() } catch {
                log(.error, "store-failed", "cannot keep connections through a crash: \(error)", ["chat_reason": error.description])
                return
            }
            FileDescriptorStore.store(journal.fds, name: CrashJournal.storeName)
        }
        let keeper = StoreKeeper(capacity: capacity, journal: journal)
        storeKeeper = keeper
        // Restored connections came from the store (or across an exec, with their copies
        // still there); a member restored from elsewhere is stored now.
        let restored = reactor.handoverState().connections.filter { connections.session($0.id) != nil }
        for connection in restored where inheritedJournals.count == 2 {
            keeper.inodes[connection.id.rawValue] = StoredDescriptors.inode(of: connection.fd) ?? 0
        }
        storeConnections(restored.map(\.id.rawValue).filter { room.snapshotConnection(ClientID($0))?.member != nil })
        room.tracksConnectionChanges = true
        _ = room.takeChangedConnections()
        // The new base is written in the first turn, not before it: members are waiting.
        _ = reactor.schedule(afterNanoseconds: 0) { [weak self] in if self?.storeKeeper?.needsRebase == true { self?.rebaseJournal() } }
        log(.info, "store", "keeping connections in systemd's file descriptor store (up to \(capacity)) and a crash journal",
            ["chat_connections": "\(keeper.inodes.count)"])
    }

    /// Duplicates of these connections into the store, unless already there.
    func storeConnections(_ clients: [UInt64]) {
        guard let keeper = storeKeeper else { return }
        var fds: [Int32] = []
        for client in clients where keeper.inodes[client] == nil {
            // A TLS session's keys live in this process only: its socket is never stored.
            let connection = ConnectionID(rawValue: client)
            guard !reactor.isSecure(connection), let fd = reactor.descriptor(connection) else { continue }
            keeper.inodes[client] = StoredDescriptors.inode(of: fd) ?? 0
            fds.append(fd)
        }
        if !fds.isEmpty { FileDescriptorStore.store(fds, name: StoredDescriptors.Name.connection) }
    }

    /// After each event: members who joined into the store, and every change to a stored
    /// connection into the journal.
    func journalConnectionChanges() {
        guard let keeper = storeKeeper, room.hasChangedConnections else { return }
        if keeper.needsRebase {
            // The base about to be written holds these changes already.
            for client in room.takeChangedConnections() where room.snapshotConnection(client)?.member != nil {
                storeConnections([client.rawValue])
            }
            return rebaseJournal()
        }
        var records: [CrashJournal.Record] = []
        for client in room.takeChangedConnections() {
            if let connection = room.snapshotConnection(client) {
                guard connection.member != nil, !reactor.isSecure(ConnectionID(rawValue: client.rawValue)) else { continue }
                storeConnections([client.rawValue])
                records.append(.connection(connection, inode: keeper.inodes[client.rawValue] ?? 0))
            } else if keeper.inodes.removeValue(forKey: client.rawValue) != nil {
                records.append(.gone(id: client.rawValue))
            }
        }
        do {
            try keeper.journal.append(records)
            if keeper.journal.wantsRebase { rebaseJournal() }
        } catch {
            journalFailed(error)
        }
    }

    /// A fresh base for the journal (also how the history and sanctions reach it).
    func rebaseJournal() {
        guard let keeper = storeKeeper else { return }
        do {
            try keeper.journal.rebase(room.snapshot().snapshot, inodes: keeper.inodes)
            keeper.needsRebase = false
            if keeper.failure != nil {
                keeper.failure = nil
                log(.notice, "store", "the crash journal is written again")
            }
        } catch {
            journalFailed(error)
        }
    }

    private func journalFailed(_ error: CrashJournal.Problem) {
        guard let keeper = storeKeeper, keeper.failure == nil else { return }
        keeper.failure = error.description
        log(.error, "store-failed", "a crash now would drop members: \(error)", ["chat_reason": error.description])
    }

    /// `systemctl restart`: everything into the store, then exit for the next process.
    /// Without a store: under systemd, a restart job is waiting for this process to exit,
    /// so it shuts down as on SIGTERM (an exec in place would be killed at the stop
    /// timeout); outside systemd, the same as SIGUSR2, an exec in place.
    func handOverToStore(trigger: String) {
        guard storeKeeper != nil else {
            if environment["NOTIFY_SOCKET"] != nil { return beginShutdown(signalName: trigger) }
            _ = handOver(trigger: trigger)
            return
        }
        guard !shuttingDown else { return }
        endTLSSessionsForRestart()  // TLS sessions cannot be handed over (ChatServer+TLS.swift)
        let state = handoverState(replyFD: nil)
        storeConnections(state.connections.map(\.id))  // those still greeting
        let fd: Int32
        do { fd = try state.write() } catch {
            // Nothing handed over: the members will see the restart as a crash, which the
            // journal covers.
            log(.error, "handover-failed", "\(trigger): \(error); the next process restores from the crash journal", ["chat_reason": error.description])
            exit(Self.handedToStoreExitStatus)
        }
        FileDescriptorStore.remove(name: StoredDescriptors.Name.handover)
        FileDescriptorStore.store([fd], name: StoredDescriptors.Name.handover)
        let confirmed = FileDescriptorStore.barrier(timeoutMicroseconds: 5_000_000)
        log(.notice, "handover", "\(trigger): \(state.connections.count) connection(s) and the state handed to systemd's file descriptor store",
            ["chat_reason": trigger, "chat_connections": "\(state.connections.count)",
             "chat_snapshot_ms": "\((MonotonicClock.now() - state.pausedAt) / 1_000_000)",
             "chat_confirmed": confirmed ? "yes" : "no"])
        control?.socketFile.removeIfStillOurs()
        exit(Self.handedToStoreExitStatus)
    }
}

extension ChatServer {
    /// Every few seconds: a new base when lines were relayed since the last (the history
    /// travels in the base) or the sanctions changed.
    func rebaseJournalIfStale() {
        guard storeKeeper != nil, room.relayedMessageCount != journalBaseRelayedCount || unsavedState != nil else { return }
        journalBaseRelayedCount = room.relayedMessageCount
        rebaseJournal()
    }
}
