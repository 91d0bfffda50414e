import Bytes
import ChatCore
import ChatProtocol
import CLinux
import Foundation
import Glibc
import Reactor
import SystemCalls

/// A planned restart that drops no one (`chatroomctl restart`, SIGUSR2): the daemon becomes
/// the program at its own path (so a newly installed version) in place, with every socket
/// and a snapshot of the state. Members see nothing but a pause.
///
/// In place (`execve` in this process, not a child): the PID stays, so systemd's main
/// process, its watchdog and its knowledge of when the daemon exits all carry on. systemd
/// treats a main process that is not its own child as alien and SIGKILLs it on stop, so a
/// forked successor would not do. The new program is tried first (`check-config` with the
/// same flags and environment): a binary that does not run or refuses the configuration is
/// found out before anything is handed over, and this process carries on.
///
/// This process reads nothing after its snapshot, so no byte is read twice or lost: input
/// the kernel holds goes to the successor, and the unfinished frame and queued output travel
/// in the snapshot.
extension ChatServer {
    /// Names the version of the state a daemon would hand over in a trial run.
    static let trialVersionKey = "CHATROOMD_HANDOVER_VERSION"

    /// In a trial run: why this program could not take over the state a running daemon
    /// would hand it (a newer format: a downgrade), or nil.
    public static func handoverProblem(environment: [String: String]) -> String? {
        guard let text = environment[trialVersionKey] else { return nil }
        guard let version = Int(text), version >= 1 else { return "unreadable handover state version '\(text)'" }
        guard version <= HandoverState.currentVersion else {
            return "the running daemon's state has format \(version); this chatroomd \(ChatroomVersion.current) reads up to \(HandoverState.currentVersion) (a downgrade?)"
        }
        return nil
    }

    /// How long the trial run of the new program may take.
    static let preflightDeadlineNanoseconds: UInt64 = 10_000_000_000

    /// Becomes the new program; returns only if that could not be done, with why, and
    /// everything carries on.
    func handOver(trigger: String, replyTo control: ConnectionID? = nil) -> String {
        guard !shuttingDown else { return "the server is shutting down" }
        guard let executable = Self.executablePath else { return "cannot find this program's own path" }
        let arguments = CommandLine.arguments
        var environment = Settings.processEnvironment()
        if let problem = Self.preflight(executable, arguments: arguments, environment: environment) {
            log(.error, "handover-failed", "restart refused, carrying on: \(problem)", ["chat_reason": problem])
            return problem
        }

        endTLSSessionsForRestart()  // TLS sessions cannot be handed over (ChatServer+TLS.swift)
        let replyFD = control.flatMap(reactor.descriptor)
        let state = handoverState(replyFD: replyFD)
        let pausedAt = state.pausedAt
        let stateFD: Int32
        do { stateFD = try state.write() } catch { return error.description }
        let inherited = state.connections.map(\.fd) + state.listeners + state.journalFDs + [stateFD] + (replyFD.map { [$0] } ?? [])
        for fd in inherited { _ = clinux_set_cloexec(fd, 0) }
        environment[HandoverState.environmentKey] = "\(stateFD)"
        // systemd's socket activation variables describe the sockets of the first start;
        // the successor takes its listeners from the snapshot.
        for key in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] { environment[key] = nil }
        log(.notice, "handover", "\(trigger): handing \(state.connections.count) connection(s) to \(executable)",
            ["chat_reason": trigger, "chat_connections": "\(state.connections.count)",
             "chat_snapshot_ms": "\((MonotonicClock.now() - pausedAt) / 1_000_000)"])
        let failure = Self.execute(executable, arguments: arguments, environment: environment)
        // Still here: the exec failed. Nothing was given away.
        for fd in inherited where fd != stateFD { _ = clinux_set_cloexec(fd, 1) }
        close(stateFD)
        log(.error, "handover-failed", "restart failed, carrying on: \(failure)", ["chat_reason": failure])
        return failure
    }

    /// Everything a successor needs, taken now: from here on this process reads nothing.
    func handoverState(replyFD: Int32?) -> HandoverState {
        releaseHeldInput()  // restarted again before linking: what members said is not lost (ChatServer+ClusterRestart.swift)
        cluster?.handingOver()  // this node's own lines still out in Redis, shown now (ClusterLink)
        let pausedAt = MonotonicClock.now()
        let (snapshot, interrupted) = room.snapshot()
        let (handed, listeners) = reactor.handoverState()
        let known = Set(snapshot.connections.map(\.id))
        var connections: [HandoverState.Connection] = []
        connections.reserveCapacity(handed.count)
        for connection in handed where known.contains(connection.id.rawValue) {
            guard let session = self.connections.session(connection.id) else { continue }
            connections.append(HandoverState.Connection(id: connection.id.rawValue, fd: connection.fd,
                                                        inode: StoredDescriptors.inode(of: connection.fd) ?? 0,
                                                        address: "\(session.address)", input: session.decoder.unconsumedInput,
                                                        output: connection.pendingOutput))
        }
        var state = HandoverState(room: snapshot, connections: connections, listeners: listeners,
                                  controlListener: self.control.flatMap { reactor.listenerDescriptor($0.listener) },
                                  controlPath: self.control?.path, pausedAt: pausedAt,
                                  replyFD: replyFD, interruptedLogins: interrupted.map(\.rawValue),
                                  decoyHash: decoyVerifier?.encoded)
        state.journalFDs = storeKeeper?.journal.fds ?? []
        return state
    }

    /// This program's path, resolved at start: a newly installed binary at the same path is
    /// what a restart runs.
    nonisolated(unsafe) static var executablePath: String? = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Runs the new program as `check-config` with the same flags: nil if it runs and
    /// accepts the configuration, else why not.
    private static func preflight(_ path: String, arguments: [String], environment: [String: String]) -> String? {
        var flags = Array(arguments.dropFirst())
        if flags.first == "serve" { flags.removeFirst() }
        var trialEnvironment = environment
        for key in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC"] {
            trialEnvironment[key] = nil
        }
        trialEnvironment[trialVersionKey] = "\(HandoverState.currentVersion)"
        // The trial holds the write end of this pipe until it exits: its end of file is
        // the exit, waited for with a deadline.
        var exitPipe: [Int32] = [-1, -1]
        guard pipe(&exitPipe) == 0 else { return "pipe: \(String(cString: strerror(errno)))" }
        _ = clinux_set_cloexec(exitPipe[0], 1)
        let child = spawn(path, arguments: [path, "check-config"] + flags, environment: trialEnvironment)
        close(exitPipe[1])
        defer { close(exitPipe[0]) }
        guard child > 0 else { return "cannot start \(path): \(String(cString: strerror(errno)))" }
        let deadline = MonotonicClock.now() + preflightDeadlineNanoseconds
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else {
                kill(child, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(child, &status, 0)
                return "the new program did not finish its trial run (check-config) within \(preflightDeadlineNanoseconds / 1_000_000_000) s"
            }
            var poller = pollfd(fd: exitPipe[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32((deadline - now) / 1_000_000) + 1)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(exitPipe[0], $0.baseAddress, $0.count) }
            if count == 0 || (count < 0 && errno != EINTR) { break }
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7F != 0 { return "the new program was killed by signal \(status & 0x7F) in its trial run (check-config)" }
        let code = status >> 8 & 0xFF
        return code == 0 ? nil : "the new program failed its trial run (check-config exited \(code)\(code == 78 ? ": its configuration or the state format; see its error" : ""))"
    }

    /// fork and exec, with the argument and environment arrays built before the fork (the
    /// child of a threaded process may only exec).
    private static func spawn(_ path: String, arguments: [String], environment: [String: String]) -> pid_t {
        withCArrays(arguments, environment) { argv, envp in
            let child = fork()
            if child == 0 {
                let null = open("/dev/null", O_RDWR)
                if null >= 0 { dup2(null, 1) }  // the trial's "OK" line is not the daemon's output
                execve(path, argv, envp)
                _exit(127)
            }
            return child
        }
    }

    /// execve in this process; returns only on failure, with why.
    private static func execute(_ path: String, arguments: [String], environment: [String: String]) -> String {
        withCArrays(arguments, environment) { argv, envp in
            execve(path, argv, envp)
            return "cannot run \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// `argv` and `envp` as execve takes them, freed afterwards.
    private static func withCArrays<Result>(_ arguments: [String], _ environment: [String: String],
                                            _ body: ([UnsafeMutablePointer<CChar>?], [UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        return body(argv, envp)
    }
}
