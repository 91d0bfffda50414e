import Glibc
import Reactor
import SystemCalls

/// N members in one room, S of them sending, for a fixed time after everyone has joined.
/// Optionally K more members that join and then never read (the `slow` scenario).
struct FanoutConfiguration {
    enum Mode {
        /// Each sender keeps this many of its lines in flight: a new one goes out when one
        /// of its own comes back.
        case window(Int)
        /// This many lines per second in total, spread round-robin over the senders.
        case rate(Double)
    }

    var members = 100
    var senders = 1
    var slowMembers = 0
    var mode = Mode.window(64)
    var warmupSeconds = 0.5
    var durationSeconds = 5.0
    var drainTimeoutSeconds = 5.0
    var paddingBytes = 0
    var joinConcurrency = 128
    var joinTimeoutSeconds = 120.0
    var sourceAddresses: Int?
    var nickPrefix = ""
    /// Senders log in as this admin account before sending (admins are exempt from flood
    /// control, which caps a member at 10 000 lines/s: less than one closed-loop sender).
    var senderLogin: (account: String, password: String)?

    var modeText: String {
        switch mode {
        case let .window(window): return "closed loop, window \(window) per sender"
        case let .rate(rate): return "\(Format.si(rate)) msg/s total"
        }
    }

    var parameterText: String {
        var text = "N=\(members), S=\(senders)"
        if slowMembers > 0 { text += ", K=\(slowMembers) never read" }
        text += ", " + modeText + ", \(Format.fixed(durationSeconds, durationSeconds.rounded() == durationSeconds ? 0 : 1)) s"
        if paddingBytes > 0 { text += ", lines padded by \(paddingBytes) B" }
        return text
    }
}

final class FanoutRun: DriverEvents {
    enum Phase { case joining, warmup, measuring, draining }

    let configuration: FanoutConfiguration
    let server: ServerUnderTest
    private let driver: Driver
    private let members: [Member]
    private let senders: [Member]
    private var slowDescriptors: [Int32] = []
    private var phase = Phase.joining
    private var sent: [UInt64]
    private var totalSent: UInt64 = 0
    private var windowSent: UInt64 = 0
    private var rateStart: UInt64 = 0
    private var rateSent: UInt64 = 0
    private var rateNext = 0

    init(configuration: FanoutConfiguration, server: ServerUnderTest) throws(BenchError) {
        precondition(configuration.members > 0 && configuration.senders > 0 && configuration.senders <= configuration.members)
        self.configuration = configuration
        self.server = server
        let connections = configuration.members + configuration.slowMembers
        try DescriptorBudget.raise(toFit: connections + 64)
        let connector = try Connector(server: server.address, otherNodes: server.otherNodes, connections: connections,
                                      sourceAddresses: configuration.sourceAddresses)
        driver = try Driver(connector: connector)
        members = (0..<configuration.members).map { i in
            Member(index: i, nick: "\(configuration.nickPrefix)m\(i)", senderIndex: i < configuration.senders ? i : -1)
        }
        senders = Array(members.prefix(configuration.senders))
        sent = Array(repeating: 0, count: configuration.senders)
        driver.sequences = SequenceTable(receivers: configuration.members, senders: configuration.senders)
        driver.events = self
    }

    deinit {
        for fd in slowDescriptors { _ = close(fd) }
    }

    func run() throws(BenchError) -> Report {
        let c = configuration
        let n = c.members
        let start = MonotonicClock.now()
        let hardDeadline = start + UInt64((c.joinTimeoutSeconds * 2 + c.warmupSeconds + c.durationSeconds + c.drainTimeoutSeconds + 10) * 1e9)
        let before = server.sample()

        // Join everyone, and wait until every join notice has been delivered.
        try driver.join(members, concurrency: c.joinConcurrency, expectedNotices: n * (n + 1) / 2,
                        deadline: min(hardDeadline, start + UInt64(c.joinTimeoutSeconds * 1e9)))
        let joined = MonotonicClock.now()
        let afterJoin = server.sample()
        let joinSeconds = Double(joined - start) / 1e9

        // Senders become admins, so flood control does not refuse their lines.
        if let login = c.senderLogin {
            for sender in senders { driver.send(BenchMessage.login(account: login.account, password: login.password), from: sender) }
            let expected = c.senders * n
            guard try driver.run(until: min(hardDeadline, MonotonicClock.now() + 10_000_000_000), {
                (driver.logins >= c.senders && driver.promotionNotices >= expected) || driver.unexpectedCloses > 0
            }), driver.logins == c.senders else {
                throw BenchError("the senders could not log in as admin account \(login.account) (\(driver.logins) of \(c.senders) did; \(driver.firstOtherText ?? "no reply"))")
            }
        }

        // Members that never read: they join (their NICK frame is all they ever write)
        // and are left alone, so their queues in the server can only grow.
        if c.slowMembers > 0 {
            for k in 0..<c.slowMembers {
                let fd = try driver.connector.connect(ordinal: n + k)
                slowDescriptors.append(fd)
                let frame = BenchMessage.join(nick: "\(c.nickPrefix)s\(k)")
                var failure: BenchError?
                frame.withUnsafeBytes { bytes in
                    do throws(BenchError) { try Connector.writeAll(fd, bytes) } catch { failure = error }
                }
                if let failure { throw failure }
            }
            let expected = n * (n + 1) / 2 + n * c.slowMembers
            guard try driver.run(until: min(hardDeadline, MonotonicClock.now() + UInt64(c.joinTimeoutSeconds * 1e9)), { driver.joinNotices >= expected }) else {
                throw BenchError("the \(c.slowMembers) never-reading members did not all join (\(driver.joinNotices) of \(expected) notices)")
            }
        }

        // Warm up, then measure for the configured time.
        phase = .warmup
        startSending()
        let warmupEnd = MonotonicClock.now() + UInt64(c.warmupSeconds * 1e9)
        _ = try driver.run(until: min(warmupEnd, hardDeadline)) { driver.unexpectedCloses > 0 }
        try checkHealthy()

        driver.resetWindow()
        driver.measuring = true
        phase = .measuring
        let windowStart = MonotonicClock.now()
        let serverAtStart = server.sample()
        let ownAtStart = ProcessStats.ownCPUSeconds()
        let machineAtStart = MachineCPUSample.now()
        _ = try driver.run(until: min(windowStart + UInt64(c.durationSeconds * 1e9), hardDeadline)) { driver.unexpectedCloses > 0 }
        let windowEnd = MonotonicClock.now()
        let serverAtEnd = server.sample()
        let ownAtEnd = ProcessStats.ownCPUSeconds()
        let machineAtEnd = MachineCPUSample.now()
        driver.measuring = false
        phase = .draining
        try checkHealthy()

        // Drain: every line sent must reach every reading member.
        let drainStart = MonotonicClock.now()
        let drained = try driver.run(until: min(drainStart + UInt64(c.drainTimeoutSeconds * 1e9), hardDeadline)) {
            driver.chatDeliveries >= totalSent * UInt64(n) || driver.unexpectedCloses > 0
        }
        let drainSeconds = Double(MonotonicClock.now() - drainStart) / 1e9
        let final = server.sample()
        let (lost, duplicated) = driver.sequences!.audit(sent: sent)
        let slowDisconnected = c.slowMembers > 0 ? driver.leaveNotices / n : 0
        let queueExceeded = server.logCount("send-queue-exceeded")

        // Tear down: a plain spawned daemon first (nothing left to measure), then ours.
        if !server.isWrapped { server.stop() }
        driver.closesExpected = true
        driver.closeAll()

        // Report.
        let window = Double(windowEnd - windowStart) / 1e9
        let deliveries = driver.windowDeliveries
        let latency = driver.histogram.summary()
        let serverCPU = cpuDelta(serverAtStart, serverAtEnd)
        let joinCPU = cpuDelta(before, afterJoin)
        let ownCPU = ownAtEnd - ownAtStart
        let perServerCPU = serverCPU.flatMap { $0 > 0 ? Double(deliveries) / $0 : nil }
        let load = MachineLoad(from: machineAtStart, to: machineAtEnd, seconds: window, server: serverCPU, generator: ownCPU)

        var report = Report(scenario: c.slowMembers > 0 ? "slow" : "fanout")
        report.line(c.parameterText + (c.senderLogin != nil ? " (senders logged in as admins: no flood control)" : ""))
        report.line("joins: \(n) in \(Format.fixed(joinSeconds, 2)) s = \(Format.si(Double(n) / joinSeconds))/s (\(Format.si(Double(n * (n + 1) / 2))) join notices delivered)"
                    + (joinCPU.map { ", server CPU \(Format.fixed($0, 2)) s" } ?? ""))
        report.line("sent \(windowSent) lines in \(Format.fixed(window, 2)) s (\(Format.si(Double(windowSent) / window))/s), \(Format.si(Double(deliveries))) deliveries = \(Format.si(Double(deliveries) / window)) deliveries/s")
        report.line("latency \(latency.text)")
        report.line("lost \(lost), duplicated \(duplicated), out of order \(driver.outOfOrder) (of \(totalSent) lines x \(n) members, drained in \(Format.fixed(drainSeconds, 2)) s\(drained ? "" : ", DRAIN TIMED OUT"))")
        if let serverCPU {
            report.line("server CPU \(Format.fixed(serverCPU, 2)) s = \(Format.percent(serverCPU / window)) of a core; \(perServerCPU.map { Format.si($0) } ?? "-") deliveries per server-CPU-second")
        } else {
            report.line("server CPU unknown (no --server-pid)")
        }
        report.line("generator CPU \(Format.fixed(ownCPU, 2)) s = \(Format.percent(ownCPU / window)) of a core" + (load.map { "; " + $0.text } ?? ""))
        if let before, let final {
            report.line("server RSS \(Format.bytes(Double(before.rssBytes))) before, \(Format.bytes(Double(final.rssBytes))) after, peak \(Format.bytes(Double(final.peakRSSBytes)))")
        }
        if c.slowMembers > 0 {
            report.line("never-reading members disconnected by the server: \(slowDisconnected) of \(c.slowMembers) (send-queue-exceeded log lines: \(queueExceeded))")
        }
        if driver.refusedLines > 0 {
            report.line("WARNING: the server's flood control refused \(driver.refusedLines) lines (\"too fast\"); they count as lost and as gaps in the order")
        }
        if driver.otherFrames > 0 { report.line("unexpected frames: \(driver.otherFrames), first: \(driver.firstOtherText ?? "")") }

        report.set("members", .int(Int64(n)))
        report.set("senders", .int(Int64(c.senders)))
        if c.slowMembers > 0 { report.set("slow_members", .int(Int64(c.slowMembers))) }
        report.set("senders_are_admins", .bool(c.senderLogin != nil))
        switch c.mode {
        case let .window(window):
            report.set("mode", .string("closed"))
            report.set("window", .int(Int64(window)))
        case let .rate(rate):
            report.set("mode", .string("rate"))
            report.set("rate_msgs_per_s", .double(rate))
        }
        report.set("padding_bytes", .int(Int64(c.paddingBytes)))
        report.set("duration_s", .double(window))
        report.set("joins_per_s", .double(Double(n) / joinSeconds))
        report.set("join_s", .double(joinSeconds))
        report.set("join_server_cpu_s", Format.optionalDouble(joinCPU))
        report.set("messages_sent", .int(Int64(windowSent)))
        report.set("deliveries", .int(Int64(deliveries)))
        report.set("deliveries_per_s", .double(Double(deliveries) / window))
        report.set(latency.json())
        report.set("lost", .int(Int64(lost)))
        report.set("duplicated", .int(Int64(duplicated)))
        report.set("out_of_order", .int(Int64(driver.outOfOrder)))
        report.set("drained", .bool(drained))
        report.set("server_cpu_s", Format.optionalDouble(serverCPU))
        report.set("deliveries_per_server_cpu_s", Format.optionalDouble(perServerCPU))
        report.set("generator_cpu_s", .double(ownCPU))
        report.set("generator_cpu_share", .double(ownCPU / window))
        report.set(MachineLoad.json(load))
        report.set("server_rss_before_bytes", before.map { .int(Int64($0.rssBytes)) } ?? .null)
        report.set("server_rss_after_bytes", final.map { .int(Int64($0.rssBytes)) } ?? .null)
        report.set("server_rss_peak_bytes", final.map { .int(Int64($0.peakRSSBytes)) } ?? .null)
        if c.slowMembers > 0 {
            report.set("slow_disconnected", .int(Int64(slowDisconnected)))
        }
        report.set("refused_by_flood_control", .int(Int64(driver.refusedLines)))
        report.set("unexpected_frames", .int(Int64(driver.otherFrames)))
        return report
    }

    private func checkHealthy() throws(BenchError) {
        if driver.unexpectedCloses > 0 {
            throw BenchError("a member was disconnected during the run: \(driver.firstUnexpectedClose ?? "?")")
        }
        if !server.isAlive { throw BenchError("the server exited during the run") }
    }

    // MARK: Sending

    private func startSending() {
        let now = MonotonicClock.now()
        switch configuration.mode {
        case let .window(window):
            for sender in senders {
                for _ in 0..<window { send(from: sender, now: now) }
            }
        case .rate:
            rateStart = now
            rateTick()
        }
    }

    private var sending: Bool { phase == .warmup || phase == .measuring }

    private func send(from sender: Member, now: UInt64) {
        driver.sendChat(from: sender, padding: configuration.paddingBytes, now: now)
        sent[sender.senderIndex] += 1
        totalSent += 1
        if phase == .measuring { windowSent += 1 }
    }

    /// Sends what is due by now at the configured rate, then comes back in a millisecond
    /// (the reactor's timer resolution). Lines are stamped when sent, not when due.
    private func rateTick() {
        guard sending, case let .rate(rate) = configuration.mode else { return }
        let now = MonotonicClock.now()
        let due = UInt64(Double(now - rateStart) * rate / 1e9)
        var owed = due > rateSent ? due - rateSent : 0
        // After a stall (the generator was descheduled), catch up at most 100 ms' worth.
        let cap = UInt64(max(1, rate / 10))
        if owed > cap {
            rateSent += owed - cap
            owed = cap
        }
        while owed > 0 {
            send(from: senders[rateNext % senders.count], now: now)
            rateNext += 1
            rateSent += 1
            owed -= 1
        }
        driver.reactor.schedule(afterNanoseconds: 1_000_000) { [weak self] in self?.rateTick() }
    }

    // MARK: DriverEvents

    func joined(_ member: Member, now: UInt64) {}

    func echoed(_ member: Member, count: Int, now: UInt64) {
        guard sending, case .window = configuration.mode else { return }
        for _ in 0..<count { send(from: member, now: now) }
    }

    func closed(_ member: Member, reason: CloseReason, now: UInt64) {}
}
