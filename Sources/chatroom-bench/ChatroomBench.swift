import ArgumentParser
import Glibc
import Reactor

@main
struct ChatroomBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatroom-bench",
        abstract: "Load generator for chatroomd: many connections from one process over loopback.",
        discussion: """
            Every chat line carries its sender, a sequence number and a CLOCK_MONOTONIC send \
            time, so receivers measure end-to-end latency and detect loss, duplication and \
            reordering. By default each run starts its own release daemon \
            (.build/release/chatroomd) on 127.0.0.1 with a free port; --connect and \
            --server-pid measure one that is already running. Each scenario prints \
            human-readable lines, then one JSON line.

            Descriptors: the bench and the daemon each hold one per connection. The bench \
            raises its soft RLIMIT_NOFILE to the hard limit and a spawned daemon inherits it, \
            so N members need N + 64 under the hard limit (ulimit -Hn).
            """,
        subcommands: [Fanout.self, Idle.self, Churn.self, Slow.self, Suite.self]
    )
}

/// Which server to measure, and how to start it.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("chatroomd binary to start for each run, listening on 127.0.0.1 with a free port. Default: .build/release/chatroomd, unless --connect is given.", valueName: "PATH"))
    var spawn: String?

    @Option(help: ArgumentHelp("An already running chatroomd to drive instead (an address in 127.0.0.0/8). Its room should be empty.", valueName: "HOST:PORT"))
    var connect: String?

    @Option(name: .customLong("server-pid"), help: ArgumentHelp("PID of the --connect server, for its CPU time and memory from /proc.", valueName: "PID"))
    var serverPID: Int32?

    @Option(name: .customLong("also-connect"), help: ArgumentHelp("Multi-node mode: another node of the --connect server's room (chatroomd with redis); repeat for each. Members are spread over all the nodes' ports in turn.", valueName: "HOST:PORT"))
    var alsoConnect: [String] = []

    @Option(name: .customLong("also-pid"), help: ArgumentHelp("Multi-node mode: a process whose CPU time counts as the server's (the other nodes, Redis); repeat for each.", valueName: "PID"))
    var alsoPID: [Int32] = []

    @Option(name: .customLong("server-log-level"), help: "Log level for a spawned daemon (its log goes to a temporary file).")
    var serverLogLevel = "info"

    @Option(name: .customLong("spawn-wrapper"), help: ArgumentHelp("Command put in front of the spawned daemon, e.g. 'valgrind --tool=callgrind'. The daemon then gets SIGTERM at the end instead of SIGKILL.", valueName: "COMMAND"))
    var spawnWrapper: String?

    @Option(name: .customLong("server-arg"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("An extra argument for a spawned daemon; repeat for several (--server-arg=--history-lines --server-arg=0). Later ones override the bench's own limits below.", valueName: "ARG"))
    var serverArguments: [String] = []

    @Option(name: .customLong("start-timeout"), help: "Seconds to wait for a spawned daemon to listen.")
    var startTimeout: Double = 10

    @Option(name: .customLong("source-addresses"), help: ArgumentHelp("Bind client sockets to this many source addresses, 127.0.0.2 upwards. Default: as many as the connections need (one per ~90 % of the ephemeral port range).", valueName: "K"))
    var sourceAddresses: Int?

    @Option(help: ArgumentHelp("The C reference server measured beside chatroomd: a .c file (built with cc -O2 into .build-bench/) or a binary. Default: \(ReferenceServer.defaultSource).", valueName: "PATH"))
    var reference: String?

    @Flag(name: .customLong("no-reference"), help: "suite: measure chatroomd alone, without the C reference server beside it.")
    var noReference = false

    @Flag(name: .customLong("measure-reference"), help: "Drive the C reference server instead of chatroomd (a fresh one per run).")
    var measureReference = false

    @Flag(help: "Over TLS: a spawned daemon gets a TLS listener with a throwaway certificate (or --connect names one) and every connection is a TLS client.")
    var tls = false

    func validate() throws {
        if tls && measureReference { throw ValidationError("--tls does not go with --measure-reference (the C reference speaks plaintext)") }
        if measureReference && (connect != nil || noReference) { throw ValidationError("--measure-reference goes with neither --connect nor --no-reference") }
        if spawn != nil && connect != nil { throw ValidationError("give --spawn or --connect, not both") }
        if serverPID != nil && connect == nil { throw ValidationError("--server-pid goes with --connect") }
        if (!alsoConnect.isEmpty || !alsoPID.isEmpty) && connect == nil { throw ValidationError("--also-connect and --also-pid go with --connect") }
        for other in alsoConnect {
            guard let address = try? SocketAddress(parsing: other), case .v4 = address else {
                throw ValidationError("--also-connect takes an IPv4 loopback HOST:PORT such as 127.0.0.1:12001")
            }
        }
        if let connect {
            guard let address = try? SocketAddress(parsing: connect), case .v4 = address else {
                throw ValidationError("--connect takes an IPv4 loopback HOST:PORT such as 127.0.0.1:12000")
            }
        }
        if let sourceAddresses, sourceAddresses < 0 || sourceAddresses > 250 {
            throw ValidationError("--source-addresses must be between 0 and 250")
        }
    }

    var isExternal: Bool { connect != nil }

    /// What a spawned daemon is told besides its listen address and log: limits meant for
    /// people, lifted so they do not cut the load generator off (every connection comes
    /// from a handful of addresses, and closed-loop senders are flooding by design), so
    /// flood control is off; every join is announced one by one, as the C reference does,
    /// so the join storm measures the same work. Chat history keeps its default (50 lines
    /// replayed to each joiner).
    static let benchLimits = [
        "--max-connections", "1000000",
        "--max-connections-per-address", "1000000",
        "--accepts-per-address-per-second", "off",
        "--joins-per-address-per-minute", "off",
        "--presence-rate", "off",
        "--flood-rate", "off",
    ]

    @Option(name: .customLong("sender-account"), help: ArgumentHelp("With --connect: an admin account the senders log in with (/login), exempting them from flood control. A spawned daemon runs with flood control off instead.", valueName: "NAME"))
    var senderAccount: String?

    @Option(name: .customLong("sender-password"), help: ArgumentHelp("The password of --sender-account.", valueName: "PASSWORD"))
    var senderPassword: String?

    @Flag(name: .customLong("senders-not-admin"), help: "Senders stay ordinary members (flood control applies to them).")
    var sendersNotAdmin = false

    /// How senders log in, if they do.
    var senderLogin: (account: String, password: String)? {
        if sendersNotAdmin { return nil }
        guard isExternal, let senderAccount, let senderPassword else { return nil }
        return (senderAccount, senderPassword)
    }

    private nonisolated(unsafe) static var runCounter = 0

    /// A fresh spawned daemon, or a handle on the external one.
    func makeServer() throws(BenchError) -> ServerUnderTest {
        BenchTLS.client = tls ? try BenchTLS.makeClient() : nil
        if let connect {
            let server = ServerUnderTest.external(address: try! SocketAddress(parsing: connect), pid: serverPID)
            server.otherNodes = alsoConnect.map { try! SocketAddress(parsing: $0) }
            server.otherPIDs = alsoPID
            return server
        }
        let wrapper = spawnWrapper.map { $0.split(separator: " ").map(String.init) } ?? []
        if measureReference { return try makeReferenceServer(wrapper: wrapper) }
        return try ServerUnderTest.spawn(path: spawn ?? ".build/release/chatroomd", logLevel: serverLogLevel,
                                         extraArguments: Self.benchLimits + (tls ? try BenchTLS.serverArguments() : []) + serverArguments,
                                         wrapper: wrapper, startTimeoutSeconds: startTimeout, tls: tls)
    }

    /// Whether the suite measures the C reference server beside chatroomd.
    var comparesWithReference: Bool { !noReference && !isExternal }

    /// A fresh C reference server (built first if need be).
    func makeReferenceServer(wrapper: [String] = []) throws(BenchError) -> ServerUnderTest {
        let binary = try ReferenceServer.binary(for: reference ?? ReferenceServer.defaultSource)
        return try ServerUnderTest.spawnReference(path: binary, wrapper: wrapper, startTimeoutSeconds: startTimeout)
    }

    /// Nicks must be unique in the room: against an external server, whose room may still
    /// hold the previous run's members for a moment, each run gets its own prefix.
    func nickPrefix() -> String {
        guard isExternal else { return "" }
        Self.runCounter += 1
        return "r\(getpid() % 1000)x\(Self.runCounter)"
    }
}

/// Runs `body` against a server made for it, and always stops the server afterwards.
func withServer<T>(_ options: ServerOptions, _ body: (ServerUnderTest) throws(BenchError) -> T) throws(BenchError) -> T {
    Interruption.install()
    try Interruption.check()
    let server = try options.makeServer()
    defer { server.stop() }
    return try body(server)
}

/// Prints several runs' reports and then one JSON line: the median run's fields (by
/// `key`), with every run's value of `key`.
func printMedian(_ reports: [Report], key: String) -> Report {
    for (i, report) in reports.enumerated() {
        print("\(report.scenario) run \(i + 1) of \(reports.count):")
        report.printHuman()
    }
    guard reports.count > 1 else {
        print(reports[0].json.encoded)
        return reports[0]
    }
    let sorted = reports.sorted { ($0[key]?.doubleValue ?? 0) < ($1[key]?.doubleValue ?? 0) }
    var median = sorted[sorted.count / 2]  // the middle run (upper middle for an even count)
    median.set("runs", .int(Int64(reports.count)))
    median.set("median_of", .string(key))
    median.set("\(key)_runs", .array(reports.map { $0[key] ?? .null }))
    median.set("other_processes_cores_runs", .array(reports.map { $0["other_processes_cores"] ?? .null }))
    print("\(median.scenario): median of \(reports.count) runs by \(key): \(Format.si(median[key]?.doubleValue ?? 0))")
    print(median.json.encoded)
    return median
}

struct Fanout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N members, S of them sending, closed loop (--window) or at a fixed total rate (--rate).")

    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("n"), .long], help: "Members in the room.") var members = 100
    @Option(name: [.customShort("s"), .long], help: "How many of them send.") var senders = 1
    @Option(help: "Closed loop: lines each sender keeps in flight (the default mode, 64).") var window: Int?
    @Option(help: "Fixed total rate in lines per second instead of a closed loop.") var rate: Double?
    @Option(help: "Seconds measured after everyone has joined and the warm-up.") var duration = 5.0
    @Option(help: "Seconds of traffic before measuring.") var warmup = 0.5
    @Option(help: "Pad each line with this many bytes.") var padding = 0
    @Option(help: "Repeat on a fresh server; the JSON line is the median run.") var runs = 1
    @Option(name: .customLong("join-concurrency"), help: "Joins outstanding at a time.") var joinConcurrency = 128

    func validate() throws {
        guard members > 0, senders > 0, senders <= members else { throw ValidationError("need 0 < senders <= members") }
        if window != nil && rate != nil { throw ValidationError("give --window or --rate, not both") }
        if let window, window < 1 { throw ValidationError("--window must be at least 1") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        guard duration > 0, duration <= 3600, warmup >= 0, runs >= 1, runs <= 20, padding >= 0, padding <= 60_000 else {
            throw ValidationError("duration in (0, 3600], warm-up >= 0, runs in 1...20, padding in 0...60000")
        }
    }

    func run() throws {
        var configuration = FanoutConfiguration()
        configuration.members = members
        configuration.senders = senders
        configuration.mode = rate.map { .rate($0) } ?? .window(window ?? 64)
        configuration.durationSeconds = duration
        configuration.warmupSeconds = warmup
        configuration.paddingBytes = padding
        configuration.joinConcurrency = joinConcurrency
        configuration.sourceAddresses = server.sourceAddresses
        configuration.senderLogin = server.senderLogin
        var reports: [Report] = []
        for _ in 0..<runs {
            configuration.nickPrefix = server.nickPrefix()
            reports.append(try withServer(server) { (s) throws(BenchError) in try FanoutRun(configuration: configuration, server: s).run() })
        }
        _ = printMedian(reports, key: rate == nil ? "deliveries_per_server_cpu_s" : "latency_p99_us")
    }
}

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "N members joined and held: the server's RSS per connection.")

    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("n"), .long], help: "Members to join and hold.") var members = 10_000
    @Option(help: "Seconds to hold them before the second RSS reading.") var hold = 1.0
    @Option(name: .customLong("join-concurrency"), help: "Joins outstanding at a time.") var joinConcurrency = 128
    @Option(name: .customLong("join-timeout"), help: "Seconds allowed for joining.") var joinTimeout = 600.0

    func run() throws {
        var configuration = IdleConfiguration()
        configuration.members = members
        configuration.holdSeconds = hold
        configuration.joinConcurrency = joinConcurrency
        configuration.joinTimeoutSeconds = joinTimeout
        configuration.sourceAddresses = server.sourceAddresses
        configuration.nickPrefix = server.nickPrefix()
        let report = try withServer(server) { (s) throws(BenchError) in try IdleRun(configuration: configuration, server: s).run() }
        report.printAll()
    }
}

struct Churn: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Connect, join, say one line, leave, in a loop: joins per second and per server-CPU-second.")

    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("c"), .long], help: "Connections cycling at once.") var concurrency = 8
    @Option(help: "Seconds measured.") var duration = 5.0
    @Option(help: "Seconds of churn before measuring.") var warmup = 0.5

    func run() throws {
        var configuration = ChurnConfiguration()
        configuration.concurrency = concurrency
        configuration.durationSeconds = duration
        configuration.warmupSeconds = warmup
        configuration.sourceAddresses = server.sourceAddresses
        configuration.nickPrefix = server.nickPrefix()
        let report = try withServer(server) { (s) throws(BenchError) in try ChurnRun(configuration: configuration, server: s).run() }
        report.printAll()
    }
}

struct Slow: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fanout at a fixed rate, without and then with K members that never read.")

    @OptionGroup var server: ServerOptions
    @Option(name: [.customShort("n"), .long], help: "Members that read.") var members = 100
    @Option(name: [.customShort("s"), .long], help: "How many of them send.") var senders = 10
    @Option(name: [.customShort("k"), .customLong("slow-members")], help: "Members that never read.") var slowMembers = 10
    @Option(help: "Total lines per second.") var rate = 2000.0
    @Option(help: "Pad each line with this many bytes (so the never-reading members' queues fill within the run).") var padding = 1024
    @Option(help: "Seconds measured, in each of the two runs.") var duration = 6.0

    func validate() throws {
        // The never-reading members write their join on raw sockets.
        if server.tls { throw ValidationError("slow does not run over --tls") }
    }

    func run() throws {
        var configuration = SlowConfiguration()
        configuration.fanout.members = members
        configuration.fanout.senders = senders
        configuration.fanout.slowMembers = slowMembers
        configuration.fanout.mode = .rate(rate)
        configuration.fanout.paddingBytes = padding
        configuration.fanout.durationSeconds = duration
        configuration.fanout.sourceAddresses = server.sourceAddresses
        configuration.fanout.senderLogin = server.senderLogin
        configuration.fanout.nickPrefix = server.nickPrefix()
        let result = try SlowScenario.run(configuration) { () throws(BenchError) in try server.makeServer() }
        print("slow: baseline run (no never-reading members):")
        result.baseline.printHuman()
        print("slow: with never-reading members:")
        result.slow.printHuman()
        result.combined.printAll()
    }
}
