import Glibc
import Reactor
import SystemCalls

/// The chatroomd being measured: either one this process spawns (a fresh daemon per run,
/// on 127.0.0.1 with a kernel-chosen port) or one already running, named by address and
/// optionally by PID for CPU and memory readings.
final class ServerUnderTest {
    let address: SocketAddress
    let pid: pid_t?
    private let spawned: Bool
    private let logPath: String?
    private let wrapped: Bool
    private var stopped = false
    /// Multi-node mode (`--also-connect`): the room's other nodes; members are spread over
    /// `address` and these in turn.
    var otherNodes: [SocketAddress] = []
    var otherPIDs: [pid_t] = []

    private init(address: SocketAddress, pid: pid_t?, spawned: Bool, logPath: String?, wrapped: Bool) {
        self.address = address
        self.pid = pid
        self.spawned = spawned
        self.logPath = logPath
        self.wrapped = wrapped
    }

    deinit { stop() }

    static func external(address: SocketAddress, pid: pid_t?) -> ServerUnderTest {
        ServerUnderTest(address: address, pid: pid, spawned: false, logPath: nil, wrapped: false)
    }

    private nonisolated(unsafe) static var spawnCount = 0

    /// Starts `path --listen 127.0.0.1:0` with its log in a temporary file, and waits for
    /// the `listening on 127.0.0.1:PORT` line. `wrapper` (e.g. `valgrind --tool=callgrind`)
    /// is put in front of the command; the process it starts becomes the daemon.
    /// With `tls`, the address measured is the daemon's TLS listener (`--listen-tls` among
    /// the extra arguments), found by its `listening on 127.0.0.1:PORT (TLS)` line.
    static func spawn(path: String, logLevel: String, extraArguments: [String], wrapper: [String],
                      startTimeoutSeconds: Double, tls: Bool = false) throws(BenchError) -> ServerUnderTest {
        guard access(path, X_OK) == 0 else {
            throw BenchError("\(path) is not an executable; build it with 'swift build -c release --static-swift-stdlib' (make release)")
        }
        let arguments = wrapper + [path, "--listen", "127.0.0.1:0", "--log-target", "stderr", "--log-level", logLevel] + extraArguments
        return try launch(arguments, wrapped: !wrapper.isEmpty, startTimeoutSeconds: startTimeoutSeconds, tls: tls)
    }

    /// Starts the C reference server (`Tests/bench/ref_fanout.c`, built by
    /// `ReferenceServer.binary`) on 127.0.0.1 with a kernel-chosen port, found in /proc.
    static func spawnReference(path: String, wrapper: [String] = [], startTimeoutSeconds: Double) throws(BenchError) -> ServerUnderTest {
        guard access(path, X_OK) == 0 else { throw BenchError("\(path) is not an executable") }
        return try launch(wrapper + [path, "-a", "127.0.0.1", "-p", "0"], wrapped: !wrapper.isEmpty, startTimeoutSeconds: startTimeoutSeconds)
    }

    /// Spawns `arguments` with its output in a temporary log file and waits until it listens.
    private static func launch(_ arguments: [String], wrapped: Bool, startTimeoutSeconds: Double, tls: Bool = false) throws(BenchError) -> ServerUnderTest {
        spawnCount += 1
        let logPath = "/tmp/chatroom-bench-\(getpid())-\(spawnCount).log"
        let environment = ["PATH=" + (getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin")]

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        // The bench ignores SIGPIPE; the daemon starts with default dispositions and no
        // blocked signals, as it would from a shell.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw BenchError("cannot start \(arguments.joined(separator: " ")): \(String(cString: strerror(result)))")
        }
        let server: ServerUnderTest
        do {
            let port = try waitForListening(pid: pid, logPath: logPath, timeoutSeconds: startTimeoutSeconds, tls: tls)
            server = ServerUnderTest(address: SocketAddress.ipv4("127.0.0.1", port: port)!, pid: pid,
                                     spawned: true, logPath: logPath, wrapped: wrapped)
        } catch {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let log = ProcessStats.readText(logPath) ?? ""
            unlink(logPath)
            throw BenchError("\(error.description)\n\(log.split(separator: "\n").suffix(5).joined(separator: "\n"))")
        }
        return server
    }

    private static func waitForListening(pid: pid_t, logPath: String, timeoutSeconds: Double, tls: Bool) throws(BenchError) -> UInt16 {
        let deadline = MonotonicClock.now() + UInt64(timeoutSeconds * 1e9)
        let marker = "listening on 127.0.0.1:"
        while MonotonicClock.now() < deadline {
            if tls {
                let line = ProcessStats.readText(logPath)?.split(separator: "\n").first { $0.contains(marker) && $0.contains("(TLS)") }
                if let line, let range = line.firstRange(of: marker),
                   let port = UInt16(line[range.upperBound...].prefix { $0.isASCII && $0.isNumber }), port > 0 { return port }
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { throw BenchError("the daemon exited during start-up (wait status \(status))") }
                try Interruption.check()
                usleep(5_000)
                continue
            }
            if let text = ProcessStats.readText(logPath), let range = text.firstRange(of: marker) {
                let digits = text[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
                if let port = UInt16(digits), port > 0 { return port }
            }
            // The line is logged at notice level; below that (--server-log-level warning),
            // find the daemon's listening socket in /proc instead.
            if let port = listeningPort(pid: pid) { return port }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw BenchError("the daemon exited during start-up (wait status \(status))")
            }
            try Interruption.check()
            usleep(5_000)
        }
        throw BenchError("the daemon did not report 'listening on 127.0.0.1:PORT' within \(timeoutSeconds) s")
    }

    /// The port of a TCP socket the process listens on at 127.0.0.1, from its descriptors
    /// (/proc/PID/fd) and the kernel's socket table (/proc/PID/net/tcp).
    private static func listeningPort(pid: pid_t) -> UInt16? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var inodes: Set<Substring> = []
        var links: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.first?.isNumber == true else { continue }
            var buffer = [CChar](repeating: 0, count: 64)
            let count = readlink("/proc/\(pid)/fd/\(name)", &buffer, buffer.count - 1)
            guard count > 0 else { continue }
            links.append(String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        for link in links where link.hasPrefix("socket:[") {
            inodes.insert(link.dropFirst(8).dropLast())
        }
        guard !inodes.isEmpty, let table = ProcessStats.readText("/proc/\(pid)/net/tcp") else { return nil }
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            guard fields.count > 9, fields[3] == "0A", inodes.contains(fields[9]),
                  fields[1].hasPrefix("0100007F:"), let port = UInt16(fields[1].dropFirst(9), radix: 16) else { continue }
            return port
        }
        return nil
    }

    /// The server's CPU time and memory; in multi-node mode the CPU time is summed over
    /// every process of the room (`otherPIDs`: the other nodes and Redis).
    func sample() -> ProcessSample? {
        guard var sample = pid.flatMap({ ProcessStats.sample(pid: $0) }) else { return nil }
        for other in otherPIDs { sample.cpuSeconds += ProcessStats.sample(pid: other)?.cpuSeconds ?? 0 }
        return sample
    }

    /// Occurrences of `text` in the spawned daemon's log (0 for an external server).
    func logCount(_ text: String) -> Int {
        guard let logPath, let log = ProcessStats.readText(logPath) else { return 0 }
        return log.split(separator: "\n").filter { $0.contains(text) }.count
    }

    var isAlive: Bool {
        guard let pid else { return true }
        if spawned {
            var status: Int32 = 0
            return waitpid(pid, &status, WNOHANG) == 0
        }
        return kill(pid, 0) == 0
    }

    /// Ends a spawned daemon. A plain one is killed at once (its state is thrown away and
    /// a graceful shutdown would only measure the leave notices of every member); one under
    /// a wrapper such as valgrind gets SIGTERM and time to exit, so the tool can write its
    /// output. Call after the bench has closed its own connections in the wrapped case.
    func stop() {
        guard spawned, !stopped, let pid else { return }
        stopped = true
        var status: Int32 = 0
        if wrapped {
            kill(pid, SIGTERM)
            let deadline = MonotonicClock.now() + 120_000_000_000
            while MonotonicClock.now() < deadline {
                if waitpid(pid, &status, WNOHANG) == pid {
                    if let logPath { unlink(logPath) }
                    return
                }
                usleep(20_000)
            }
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        if let logPath { unlink(logPath) }
    }

    var isWrapped: Bool { wrapped }
}
