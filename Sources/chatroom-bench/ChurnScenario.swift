import Glibc
import Reactor
import SystemCalls

/// Connect, join, say one line, leave, in a loop, from several connections at once:
/// how many joins per second the server sustains, and what each costs it.
struct ChurnConfiguration {
    /// Connections cycling at the same time.
    var concurrency = 8
    var warmupSeconds = 0.5
    var durationSeconds = 5.0
    var drainTimeoutSeconds = 3.0
    var nickPrefix = ""
    var sourceAddresses: Int?
}

final class ChurnRun: DriverEvents {
    enum Phase { case warmup, measuring, draining }

    let configuration: ChurnConfiguration
    let server: ServerUnderTest
    private let driver: Driver
    private var phase = Phase.warmup
    private var active = 0
    private var restarts: [Int] = []
    private var cycles: [Int]
    private var completed = 0
    private var windowCompleted = 0
    private var failures = 0
    private var firstFailure: String?
    private let cycleTimes = LatencyHistogram()

    init(configuration: ChurnConfiguration, server: ServerUnderTest) throws(BenchError) {
        self.configuration = configuration
        self.server = server
        try DescriptorBudget.raise(toFit: configuration.concurrency + 64)
        let connector = try Connector(server: server.address, otherNodes: server.otherNodes, connections: configuration.concurrency,
                                      sourceAddresses: configuration.sourceAddresses)
        driver = try Driver(connector: connector)
        driver.closesExpected = true
        cycles = Array(repeating: 0, count: configuration.concurrency)
        driver.events = self
    }

    func run() throws(BenchError) -> Report {
        let c = configuration
        let start = MonotonicClock.now()
        let hardDeadline = start + UInt64((c.warmupSeconds + c.durationSeconds + c.drainTimeoutSeconds + 10) * 1e9)
        restarts = Array(0..<c.concurrency)

        try loop(until: min(hardDeadline, start + UInt64(c.warmupSeconds * 1e9)))
        phase = .measuring
        cycleTimes.reset()
        let windowStart = MonotonicClock.now()
        let serverAtStart = server.sample()
        let ownAtStart = ProcessStats.ownCPUSeconds()
        let machineAtStart = MachineCPUSample.now()
        try loop(until: min(hardDeadline, windowStart + UInt64(c.durationSeconds * 1e9)))
        let windowEnd = MonotonicClock.now()
        let serverAtEnd = server.sample()
        let ownAtEnd = ProcessStats.ownCPUSeconds()
        let machineAtEnd = MachineCPUSample.now()
        phase = .draining
        restarts.removeAll()
        let drainDeadline = min(hardDeadline, MonotonicClock.now() + UInt64(c.drainTimeoutSeconds * 1e9))
        _ = try driver.run(until: drainDeadline) { active == 0 }
        let unfinished = active

        if !server.isWrapped { server.stop() }
        driver.closeAll()

        let window = Double(windowEnd - windowStart) / 1e9
        let serverCPU = cpuDelta(serverAtStart, serverAtEnd)
        let ownCPU = ownAtEnd - ownAtStart
        let rate = Double(windowCompleted) / window
        let perCPU = serverCPU.flatMap { $0 > 0 ? Double(windowCompleted) / $0 : nil }
        let times = cycleTimes.summary()
        let load = MachineLoad(from: machineAtStart, to: machineAtEnd, seconds: window, server: serverCPU, generator: ownCPU)
        var report = Report(scenario: "churn")
        report.line("\(c.concurrency) connections cycling (connect, NICK, wait for Connected, one line, wait for it, !DC, wait for the close), \(Format.fixed(window, 2)) s")
        report.line("\(windowCompleted) cycles = \(Format.si(rate)) joins/s; \(completed) in all, \(failures) failed\(firstFailure.map { " (first: \($0))" } ?? ""), \(unfinished) unfinished at the end")
        report.line("cycle time \(times.text)")
        if let serverCPU {
            report.line("server CPU \(Format.fixed(serverCPU, 2)) s = \(Format.percent(serverCPU / window)) of a core; \(perCPU.map { Format.si($0) } ?? "-") joins per server-CPU-second")
        }
        report.line("generator CPU \(Format.fixed(ownCPU, 2)) s = \(Format.percent(ownCPU / window)) of a core" + (load.map { "; " + $0.text } ?? ""))
        report.set("concurrency", .int(Int64(c.concurrency)))
        report.set("duration_s", .double(window))
        report.set("cycles", .int(Int64(windowCompleted)))
        report.set("joins_per_s", .double(rate))
        report.set("failures", .int(Int64(failures)))
        report.set(times.json(prefix: "cycle"))
        report.set("server_cpu_s", Format.optionalDouble(serverCPU))
        report.set("joins_per_server_cpu_s", Format.optionalDouble(perCPU))
        report.set("generator_cpu_s", .double(ownCPU))
        report.set("generator_cpu_share", .double(ownCPU / window))
        report.set(MachineLoad.json(load))
        return report
    }

    /// Starts the cycles that are due and turns the loop until `deadline`.
    private func loop(until deadline: UInt64) throws(BenchError) {
        while MonotonicClock.now() < deadline {
            while let k = restarts.popLast() { try begin(k) }
            if !server.isAlive { throw BenchError("the server exited during the run") }
            if failures > 100 && completed == 0 { throw BenchError("churn is failing: \(firstFailure ?? "?")") }
            try driver.turn()
        }
    }

    private func begin(_ k: Int) throws(BenchError) {
        cycles[k] += 1
        let member = Member(index: k, nick: "\(configuration.nickPrefix)c\(k)n\(cycles[k])", senderIndex: k)
        member.cycle = cycles[k]
        member.cycleStartedAt = MonotonicClock.now()
        try driver.connect(member, ordinal: k)
        active += 1
    }

    // MARK: DriverEvents

    func joined(_ member: Member, now: UInt64) {
        driver.sendChat(from: member, padding: 0, now: now)
    }

    func echoed(_ member: Member, count: Int, now: UInt64) {
        guard !member.leaving else { return }
        member.leaving = true
        driver.leave(member)
    }

    func closed(_ member: Member, reason: CloseReason, now: UInt64) {
        active -= 1
        if member.leaving, case .peerClosed = reason {
            completed += 1
            if phase == .measuring {
                windowCompleted += 1
                cycleTimes.record(now - member.cycleStartedAt)
                cycleTimes.noteExtremes(minimum: now - member.cycleStartedAt, maximum: now - member.cycleStartedAt)
            }
        } else {
            failures += 1
            if firstFailure == nil { firstFailure = "\(member.nick): \(reason)" }
        }
        if phase != .draining { restarts.append(member.index) }
    }
}
