import Bytes
import ChatCore
import ChatProtocol
import CLinux
import Foundation
import Glibc
import Reactor
import SystemCalls

/// A planned restart that drops no one (`chatroomctl restart`, SIGUSR2): the daemon starts
/// its successor (the binary at its own path, so a newly installed version) with every
/// socket and a snapshot of the state, waits until the successor serves, and exits. Members
/// see nothing but a pause. If the successor cannot start, this process carries on.
///
/// The predecessor reads nothing while it waits, so no byte is read twice or lost: input
/// the kernel holds goes to the successor, and the unfinished frame and queued output
/// travel in the snapshot.
extension ChatServer {
    /// How long a successor may take to say it serves.
    static let handoverDeadlineNanoseconds: UInt64 = 15_000_000_000

    /// Starts the successor and waits for it. On success this process exits; otherwise it
    /// returns why, and everything carries on.
    func handOver(trigger: String, replyTo control: ConnectionID? = nil) -> String {
        guard !shuttingDown else { return "the server is shutting down" }
        guard let executable = Self.executablePath else { return "cannot find this program's own path" }
        let pausedAt = MonotonicClock.now()
        let (snapshot, interrupted) = room.snapshot()
        let (handed, listeners) = reactor.handoverState()
        let members = Set(snapshot.connections.map(\.id))
        var connections: [HandoverState.Connection] = []
        for connection in handed where members.contains(connection.id.rawValue) {
            guard let session = self.connections.session(connection.id) else { continue }
            connections.append(HandoverState.Connection(id: connection.id.rawValue, fd: connection.fd, address: "\(session.address)",
                                                        input: Data(session.decoder.unconsumedInput),
                                                        output: Data(connection.pendingOutput)))
        }
        let state = HandoverState(version: HandoverState.currentVersion, room: snapshot, connections: connections,
                                  listeners: listeners,
                                  controlListener: self.control.flatMap { reactor.listenerDescriptor($0.listener) },
                                  controlPath: self.control?.path, pausedAt: pausedAt)
        let stateFD: Int32
        do { stateFD = try state.write() } catch { return error.description }
        let written = MonotonicClock.now()
        let inherited = connections.map(\.fd) + listeners + [stateFD]
        var readyPipe: [Int32] = [-1, -1]
        guard pipe(&readyPipe) == 0 else {
            close(stateFD)
            return "pipe: \(String(cString: strerror(errno)))"
        }
        _ = clinux_set_cloexec(readyPipe[0], 1)
        for fd in inherited + [readyPipe[1]] { _ = clinux_set_cloexec(fd, 0) }
        defer {
            for fd in inherited { _ = clinux_set_cloexec(fd, 1) }
        }
        var environment = Settings.processEnvironment()
        environment[HandoverState.environmentKey] = "\(stateFD)"
        environment[HandoverState.readyEnvironmentKey] = "\(readyPipe[1])"
        // systemd's socket activation variables describe this process; the successor
        // takes its listeners from the snapshot.
        for key in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] { environment[key] = nil }
        let child = Self.spawn(executable, arguments: CommandLine.arguments, environment: environment)
        close(readyPipe[1])
        close(stateFD)
        guard child > 0 else {
            close(readyPipe[0])
            return "cannot start \(executable): \(String(cString: strerror(errno)))"
        }
        let spawned = MonotonicClock.now()
        let verdict = Self.waitForReady(readyPipe[0], child: child) { [supervisor] in supervisor.pingWatchdog() }
        close(readyPipe[0])
        guard verdict == nil else {
            kill(child, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(child, &status, 0)
            log(.error, "handover-failed", "restart failed, carrying on: \(verdict!)", ["chat_reason": verdict!])
            return verdict!
        }
        // The successor serves: tell whoever asked, hand systemd the new main process, go.
        if let control { reactor.writeNow(FrameEncoder.frame("Restarted: \(connections.count) connection(s) handed to process \(child)."), to: control) }
        for client in interrupted { reactor.writeNow(FrameEncoder.frame(Notice.loginInterrupted), to: ConnectionID(rawValue: client.rawValue)) }
        let milliseconds = { (from: UInt64, to: UInt64) in "\((to - from) / 1_000_000)" }
        log(.notice, "handover", "\(trigger): \(connections.count) connection(s) handed to process \(child)",
            ["chat_reason": trigger, "chat_pid": "\(child)", "chat_connections": "\(connections.count)",
             "chat_snapshot_ms": milliseconds(pausedAt, written), "chat_spawn_ms": milliseconds(written, spawned),
             "chat_successor_ms": milliseconds(spawned, MonotonicClock.now())])
        supervisor.handedOver(to: child)
        // A stop or reload that arrived while we waited belongs to the new main process.
        var pending = sigset_t()
        sigpending(&pending)
        for signal in [SIGTERM, SIGINT, SIGHUP] where sigismember(&pending, signal) == 1 { kill(child, signal) }
        exit(0)
    }

    /// In a successor: takes over what the predecessor handed over. Returns the listeners'
    /// descriptors and the control socket's, to adopt instead of binding.
    func restoreHandover(_ state: HandoverState) {
        let began = MonotonicClock.now()
        var ids: [UInt64: ClientID] = [:]
        for connection in state.connections {
            guard let address = IPAddress(parsing: connection.address),
                  let id = try? reactor.adoptConnection(fd: connection.fd) else {
                close(connection.fd)
                continue
            }
            _ = connections.open(id, address: address, maximumFrameLength: settings.maxFrameBytes)
            if !connection.output.isEmpty { reactor.send(SharedBytes.copying(connection.output), to: id) }
            if !connection.input.isEmpty, let session = connections.session(id) {
                // An unfinished frame yields nothing until its rest arrives.
                try? Array(connection.input).withUnsafeBytes { bytes in try session.decoder.feed(bytes) { _ in true } }
            }
            ids[connection.id] = ClientID(id.rawValue)
        }
        let adopted = MonotonicClock.now()
        let restored = room.restore(state.room, ids: ids, now: now(), effects: &effects)
        applyEffects()
        let done = MonotonicClock.now()
        let pause = (done - state.pausedAt) / 1_000_000
        log(.notice, "handover-restored", "took over \(restored) connection(s) from the previous process; paused \(pause) ms",
            ["chat_connections": "\(restored)", "chat_duration_ms": "\(pause)", "chat_started_ms": "\((began - state.pausedAt) / 1_000_000)",
             "chat_adopt_ms": "\((adopted - began) / 1_000_000)", "chat_room_ms": "\((done - adopted) / 1_000_000)"])
    }

    /// This program's path, resolved at start: a newly installed binary at the same path is
    /// what a restart runs.
    nonisolated(unsafe) static var executablePath: String? = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// fork and exec, with the argument and environment arrays built before the fork (the
    /// child of a threaded process may only exec).
    private static func spawn(_ path: String, arguments: [String], environment: [String: String]) -> pid_t {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        let child = fork()
        if child == 0 {
            execve(path, argv, envp)
            _exit(127)
        }
        return child
    }

    /// Nil when the successor wrote `ready`; else why not.
    private static func waitForReady(_ fd: Int32, child: pid_t, tick: () -> Void) -> String? {
        let deadline = MonotonicClock.now() + handoverDeadlineNanoseconds
        var received: [UInt8] = []
        while MonotonicClock.now() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let left = Int32(min((deadline - MonotonicClock.now()) / 1_000_000 + 1, 1000))
            let ready = poll(&poller, 1, left)
            if ready < 0 && errno == EINTR { continue }
            tick()  // a second at most between pings: the watchdog stays quiet while we wait
            if ready == 0 { continue }
            guard ready > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 16)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                // The pipe closes before "ready" only when the new process exits.
                var status: Int32 = 0
                guard waitpid(child, &status, 0) == child else { return "the new process closed its pipe before it served" }
                return status & 0x7F == 0 ? "the new process exited (status \(status >> 8 & 0xFF)) before it served"
                                          : "the new process was killed by signal \(status & 0x7F) before it served"
            }
            received += buffer[..<count]
            if received.starts(with: Array("ready".utf8)) { return nil }
        }
        return "the new process did not serve within \(handoverDeadlineNanoseconds / 1_000_000_000) s"
    }
}
