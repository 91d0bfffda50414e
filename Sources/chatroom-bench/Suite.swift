import ArgumentParser
import Glibc
import Reactor
import SystemCalls

/// The standard set behind `make bench`, and the results section of docs/benchmarks.md.
struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The standard set: fanout 100/1 and 1000/10 closed loop, 100 members at 1000 msg/s, 1000 at 100 msg/s, idle (a join storm), churn, slow; each but slow also against the C reference server.",
        discussion: "With --markdown FILE, rewrites the results section of FILE (between its chatroom-bench markers).")

    @OptionGroup var server: ServerOptions
    @Flag(help: "A short smoke run: 1 s per scenario, one run each, 1000 idle members.") var quick = false
    @Option(help: "Runs of each headline fanout figure; the median is reported.") var runs = 3
    @Option(help: "Seconds measured per fanout run.") var duration = 5.0
    @Option(name: .customLong("idle-members"), help: "Members in the idle scenario.") var idleMembers = 10_000
    @Option(help: "Closed-loop window per sender.") var window = 64
    @Option(help: ArgumentHelp("Rewrite the results section of this Markdown file.", valueName: "FILE")) var markdown: String?
    @Option(name: .customLong("quiet-wait"), help: "Seconds in all the suite may wait, before its runs, for other processes on the machine to go quiet.")
    var quietWait = 60.0

    func run() throws {
        let started = MonotonicClock.now()
        let machine = MachineInfo.current()
        print("chatroom-bench suite on \(machine.text), \(machine.date)")
        let runs = quick ? 1 : self.runs
        let duration = quick ? 1.0 : self.duration
        let compare = server.comparesWithReference
        var results = SuiteResults(machine: machine, runs: runs)
        var quiet = QuietMachine(budgetSeconds: quick ? 0 : quietWait)
        Interruption.install()
        if compare { _ = try ReferenceServer.binary(for: server.reference ?? ReferenceServer.defaultSource) }
        /// A fresh server for one run (chatroomd, or the C reference), once the machine is
        /// quiet (or the waiting budget is spent).
        func settledServer(reference: Bool = false) throws(BenchError) -> ServerUnderTest {
            try quiet.settle()
            return reference ? try server.makeReferenceServer() : try server.makeServer()
        }
        func measured<T>(reference: Bool = false, _ body: (ServerUnderTest) throws(BenchError) -> T) throws(BenchError) -> T {
            let s = try settledServer(reference: reference)
            defer { s.stop() }
            return try body(s)
        }
        /// `runs` runs on chatroomd and as many on the reference, interleaved in pairs
        /// (the order alternates, so neither always goes first).
        func both(_ runs: Int, _ body: (ServerUnderTest) throws(BenchError) -> Report) throws(BenchError) -> (own: [Report], reference: [Report]) {
            var own: [Report] = []
            var reference: [Report] = []
            for k in 0..<runs {
                let referenceFirst = compare && k % 2 == 1
                if referenceFirst { reference.append(try measured(reference: true, body)) }
                own.append(try measured(body))
                if compare && !referenceFirst { reference.append(try measured(reference: true, body)) }
            }
            return (own, reference)
        }
        func printReference(_ reports: [Report], key: String) {
            guard !reports.isEmpty else { return }
            print("-- the C reference server, same scenario:")
            _ = printMedian(reports, key: key)
        }

        func fanout(_ name: String, members: Int, senders: Int, mode: FanoutConfiguration.Mode, key: String) throws -> (Report, FanoutConfiguration, [Report], [Report]) {
            var configuration = FanoutConfiguration()
            configuration.members = members
            configuration.senders = senders
            configuration.mode = mode
            configuration.durationSeconds = duration
            configuration.sourceAddresses = server.sourceAddresses
            configuration.senderLogin = server.senderLogin
            print("\n== \(name): \(configuration.parameterText)")
            let (own, reference) = try both(runs) { (s) throws(BenchError) in
                configuration.nickPrefix = server.nickPrefix()
                return try FanoutRun(configuration: configuration, server: s).run()
            }
            let median = printMedian(own, key: key)
            printReference(reference, key: key)
            return (median, configuration, own, reference)
        }
        let perCPU = "deliveries per server-CPU-second"
        func compared(_ scenario: String, _ measure: String, _ key: String, higherIsBetter: Bool = true, target: Double? = nil,
                      targetText: String = "–", _ own: [Report], _ reference: [Report]) {
            guard compare else { return }
            let comparison = Comparison(scenario: scenario, measure: measure, key: key, higherIsBetter: higherIsBetter, target: target,
                                        targetText: targetText, own: own, reference: reference)
            results.comparisons.append(comparison)
        }

        let small = try fanout("fanout 100/1", members: 100, senders: 1, mode: .window(window), key: "deliveries_per_server_cpu_s")
        results.small = (small.0, small.1)
        compared("N=100, S=1, closed loop", perCPU, "deliveries_per_server_cpu_s", target: 0.9, targetText: "≥ 0.9", small.2, small.3)
        let large = try fanout("fanout 1000/10", members: 1000, senders: 10, mode: .window(window), key: "deliveries_per_server_cpu_s")
        results.large = (large.0, large.1)
        compared("N=1000, S=10, closed loop", perCPU, "deliveries_per_server_cpu_s", target: 0.9, targetText: "≥ 0.9", large.2, large.3)
        let rate = try fanout("fanout at 1000 msg/s", members: 100, senders: 10, mode: .rate(1000), key: "latency_p99_us")
        results.rate = (rate.0, rate.1)
        compared("N=100, S=10, 1000 msg/s", perCPU, "deliveries_per_server_cpu_s", rate.2, rate.3)
        let wide = try fanout("fanout at 100 msg/s", members: 1000, senders: 10, mode: .rate(100), key: "latency_p99_us")
        results.wide = (wide.0, wide.1)
        compared("N=1000, S=10, 100 msg/s", perCPU, "deliveries_per_server_cpu_s", wide.2, wide.3)

        var idle = IdleConfiguration()
        idle.members = quick ? min(idleMembers, 1000) : idleMembers
        idle.sourceAddresses = server.sourceAddresses
        print("\n== idle: N=\(idle.members) (a join storm: each join announced to every member)")
        let idleRuns = try both(runs) { (s) throws(BenchError) in
            idle.nickPrefix = server.nickPrefix()
            return try IdleRun(configuration: idle, server: s).run()
        }
        results.idle = printMedian(idleRuns.own, key: "joins_per_s")
        printReference(idleRuns.reference, key: "joins_per_s")
        let joinsTitle = "\(Format.si(Double(idle.members))) joins, each announced to all"
        compared(joinsTitle, "joins per second", "joins_per_s", target: 0.9, targetText: "≥ 0.9", idleRuns.own, idleRuns.reference)
        compared(joinsTitle, "joins per server-CPU-second", "joins_per_server_cpu_s", idleRuns.own, idleRuns.reference)
        // Issue 15's bar for memory is chatroomd's own figure before that work, not the reference.
        let perMember = Comparison.median(idleRuns.own.compactMap { Comparison.value($0, "rss_bytes_per_connection") })
        let memoryMark = perMember.map { $0 <= 1155 ? " — met" : " — **not met**" } ?? ""
        compared("idle, N=\(Format.si(Double(idle.members)))", "RSS per member (ratio: reference / chatroomd)", "rss_bytes_per_connection",
                 higherIsBetter: false, targetText: "chatroomd ≤ 1155 B (issue 15's figure)\(memoryMark)", idleRuns.own, idleRuns.reference)

        var churn = ChurnConfiguration()
        churn.durationSeconds = duration
        churn.sourceAddresses = server.sourceAddresses
        print("\n== churn: \(churn.concurrency) connections cycling")
        let churnRuns = try both(1) { (s) throws(BenchError) in
            churn.nickPrefix = server.nickPrefix()
            return try ChurnRun(configuration: churn, server: s).run()
        }
        churnRuns.own[0].printAll()
        printReference(churnRuns.reference, key: "joins_per_s")
        results.churn = (churnRuns.own[0], churn)
        compared("churn, \(churn.concurrency) cycling", "joins per server-CPU-second", "joins_per_server_cpu_s", churnRuns.own, churnRuns.reference)

        // Not against the reference: it has no send-queue bound, so never-reading members
        // would only grow it.
        var slow = SlowConfiguration()
        slow.fanout.durationSeconds = quick ? 2 : slow.fanout.durationSeconds
        slow.fanout.sourceAddresses = server.sourceAddresses
        slow.fanout.senderLogin = server.senderLogin
        slow.fanout.nickPrefix = server.nickPrefix()
        print("\n== slow: \(slow.fanout.parameterText)")
        let slowResult = try SlowScenario.run(slow) { () throws(BenchError) in try settledServer() }
        print("slow: baseline run (no never-reading members):")
        slowResult.baseline.printHuman()
        print("slow: with never-reading members:")
        slowResult.slow.printHuman()
        slowResult.combined.printAll()
        results.slow = (slowResult.combined, slow)

        results.elapsedSeconds = Double(MonotonicClock.now() - started) / 1e9
        results.quietWaitSeconds = quiet.waitedSeconds
        results.daemon = server.isExternal ? "the server at \(server.connect!)" : (server.spawn ?? ".build/release/chatroomd")
        results.logLevel = server.serverLogLevel
        results.reference = compare ? (server.reference ?? ReferenceServer.defaultSource) : nil
        print("\nsuite finished in \(Format.fixed(results.elapsedSeconds, 0)) s")
        if !results.comparisons.isEmpty {
            print("\nchatroomd beside the C reference server, same run:")
            for comparison in results.comparisons { print("  " + comparison.humanLine) }
        }
        print(results.json.encoded)
        if let markdown {
            try results.rewrite(markdown)
            print("wrote the results section of \(markdown)")
        }
    }
}
