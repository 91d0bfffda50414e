import Glibc
import Reactor
import SystemCalls

/// N members joined and held: what each one costs the server in resident memory.
struct IdleConfiguration {
    var members = 10_000
    var holdSeconds = 1.0
    var joinConcurrency = 128
    var joinTimeoutSeconds = 240.0
    var sourceAddresses: Int?
    var nickPrefix = ""
}

final class IdleRun: DriverEvents {
    let configuration: IdleConfiguration
    let server: ServerUnderTest
    private let driver: Driver
    private let members: [Member]

    init(configuration: IdleConfiguration, server: ServerUnderTest) throws(BenchError) {
        self.configuration = configuration
        self.server = server
        try DescriptorBudget.raise(toFit: configuration.members + 64)
        let connector = try Connector(server: server.address, otherNodes: server.otherNodes, connections: configuration.members,
                                      sourceAddresses: configuration.sourceAddresses)
        driver = try Driver(connector: connector)
        members = (0..<configuration.members).map { Member(index: $0, nick: "\(configuration.nickPrefix)m\($0)") }
        driver.events = self
    }

    func run() throws(BenchError) -> Report {
        let c = configuration
        let n = c.members
        let before = server.sample()
        let ownBefore = ProcessStats.ownCPUSeconds()
        let ownRSSBefore = ProcessStats.ownSample()?.rssBytes ?? 0
        let machineBefore = MachineCPUSample.now()
        let start = MonotonicClock.now()
        // Every join is announced to every member already present: N(N+1)/2 notices in all.
        try driver.join(members, concurrency: c.joinConcurrency, expectedNotices: n * (n + 1) / 2,
                        deadline: start + UInt64(c.joinTimeoutSeconds * 1e9))
        let joined = MonotonicClock.now()
        let afterJoin = server.sample()
        let ownAfterJoin = ProcessStats.ownCPUSeconds()
        let machineAfterJoin = MachineCPUSample.now()
        // Hold: the loop keeps running (so nothing queues up) but nothing is sent.
        _ = try driver.run(until: joined + UInt64(c.holdSeconds * 1e9)) { driver.unexpectedCloses > 0 }
        if driver.unexpectedCloses > 0 {
            throw BenchError("a member was disconnected while held: \(driver.firstUnexpectedClose ?? "?")")
        }
        let held = server.sample()
        let ownRSS = ProcessStats.ownSample()?.rssBytes ?? 0
        let alive = members.filter(\.isOpen).count

        if !server.isWrapped { server.stop() }
        driver.closesExpected = true
        driver.closeAll()

        let joinSeconds = Double(joined - start) / 1e9
        let joinCPU = cpuDelta(before, afterJoin)
        let ownJoinCPU = ownAfterJoin - ownBefore
        let load = MachineLoad(from: machineBefore, to: machineAfterJoin, seconds: joinSeconds, server: joinCPU, generator: ownJoinCPU)
        var report = Report(scenario: "idle")
        let sourceText = driver.connector.sourceDescription
        report.line("N=\(n) joined and held \(Format.fixed(c.holdSeconds, 1)) s, from \(sourceText)")
        report.line("joins: \(n) in \(Format.fixed(joinSeconds, 2)) s = \(Format.si(Double(n) / joinSeconds))/s, \(Format.si(Double(n * (n + 1) / 2))) join notices delivered"
                    + (joinCPU.map { ", server CPU \(Format.fixed($0, 2)) s (\(Format.si(Double(n) / $0)) joins per server-CPU-second)" } ?? ""))
        var perConnection: Double?
        if let before, let held {
            let grown = Double(held.rssBytes - before.rssBytes)
            perConnection = grown / Double(n)
            report.line("server RSS \(Format.bytes(Double(before.rssBytes))) before, \(Format.bytes(Double(held.rssBytes))) with \(n) members: \(Format.bytes(perConnection!)) per connection (peak \(Format.bytes(Double(held.peakRSSBytes))))")
        } else {
            report.line("server RSS unknown (no --server-pid)")
        }
        report.line("generator: CPU \(Format.fixed(ownJoinCPU, 2)) s while joining (\(Format.percent(ownJoinCPU / joinSeconds)) of a core), RSS \(Format.bytes(Double(ownRSS - ownRSSBefore))) grown; \(alive) of \(n) still connected at the end")
        if let load { report.line("while joining, " + load.text) }

        report.set("members", .int(Int64(n)))
        report.set("source_addresses", .int(Int64(max(1, driver.connector.sources.count))))
        report.set("join_s", .double(joinSeconds))
        report.set("joins_per_s", .double(Double(n) / joinSeconds))
        report.set("join_notices", .int(Int64(n * (n + 1) / 2)))
        report.set("join_server_cpu_s", Format.optionalDouble(joinCPU))
        report.set("joins_per_server_cpu_s", Format.optionalDouble(joinCPU.flatMap { $0 > 0 ? Double(n) / $0 : nil }))
        report.set("server_rss_before_bytes", before.map { .int(Int64($0.rssBytes)) } ?? .null)
        report.set("server_rss_after_bytes", held.map { .int(Int64($0.rssBytes)) } ?? .null)
        report.set("server_rss_peak_bytes", held.map { .int(Int64($0.peakRSSBytes)) } ?? .null)
        report.set("rss_bytes_per_connection", Format.optionalDouble(perConnection))
        report.set("generator_cpu_s", .double(ownJoinCPU))
        report.set("generator_cpu_share", .double(ownJoinCPU / joinSeconds))
        report.set("still_connected", .int(Int64(alive)))
        report.set(MachineLoad.json(load))
        return report
    }

    func joined(_ member: Member, now: UInt64) {}
    func echoed(_ member: Member, count: Int, now: UInt64) {}
    func closed(_ member: Member, reason: CloseReason, now: UInt64) {}
}
