/// The fanout run twice on fresh servers, the second time with K extra members that join
/// and never read: the readers' latency should not move, and the server's memory should
/// stay bounded (each never-reading member is cut off once its queue passes the limit).
struct SlowConfiguration {
    var fanout = FanoutConfiguration(members: 100, senders: 10, slowMembers: 10, mode: .rate(2000),
                                     durationSeconds: 6, paddingBytes: 1024)

    static let p99Tolerance = 1.5
}

enum SlowScenario {
    static func run(_ configuration: SlowConfiguration, makeServer: () throws(BenchError) -> ServerUnderTest) throws(BenchError) -> (baseline: Report, slow: Report, combined: Report) {
        var baselineConfiguration = configuration.fanout
        baselineConfiguration.slowMembers = 0
        var slowConfiguration = configuration.fanout
        if !configuration.fanout.nickPrefix.isEmpty {  // an external server: keep the two runs' nicks apart
            baselineConfiguration.nickPrefix += "a"
            slowConfiguration.nickPrefix += "b"
        }
        Interruption.install()
        let baselineServer = try makeServer()
        let baseline = try FanoutRun(configuration: baselineConfiguration, server: baselineServer).run()
        baselineServer.stop()

        try Interruption.check()
        let slowServer = try makeServer()
        let slow = try FanoutRun(configuration: slowConfiguration, server: slowServer).run()
        slowServer.stop()

        var combined = Report(scenario: "slow")
        combined.line(configuration.fanout.parameterText)
        let p99Base = baseline["latency_p99_us"]?.doubleValue
        let p99Slow = slow["latency_p99_us"]?.doubleValue
        let ratio: Double? = {
            guard let p99Base, let p99Slow, p99Base > 0 else { return nil }
            return p99Slow / p99Base
        }()
        let peakBase = baseline["server_rss_peak_bytes"]?.doubleValue
        let peakSlow = slow["server_rss_peak_bytes"]?.doubleValue
        combined.line("readers' p99 \(p99Text(p99Base)) without, \(p99Text(p99Slow)) with \(configuration.fanout.slowMembers) never-reading members: x\(ratio.map { Format.fixed($0, 2) } ?? "-") (target within x\(Format.fixed(SlowConfiguration.p99Tolerance, 1)))")
        if let peakBase, let peakSlow {
            combined.line("server peak RSS \(Format.bytes(peakBase)) without, \(Format.bytes(peakSlow)) with (\(Format.bytes((peakSlow - peakBase) / Double(max(1, configuration.fanout.slowMembers)))) per never-reading member; queue limit 4 MiB each)")
        }
        let disconnected = slow["slow_disconnected"]?.doubleValue ?? 0
        combined.line("never-reading members cut off by the server: \(Int(disconnected)) of \(configuration.fanout.slowMembers)")
        let lost = (baseline["lost"]?.doubleValue ?? 0) + (slow["lost"]?.doubleValue ?? 0)
        let disorder = (baseline["out_of_order"]?.doubleValue ?? 0) + (slow["out_of_order"]?.doubleValue ?? 0)
        let duplicated = (baseline["duplicated"]?.doubleValue ?? 0) + (slow["duplicated"]?.doubleValue ?? 0)
        combined.line("readers: lost \(Int(lost)), duplicated \(Int(duplicated)), out of order \(Int(disorder)) over both runs")
        combined.set("members", .int(Int64(configuration.fanout.members)))
        combined.set("senders", .int(Int64(configuration.fanout.senders)))
        combined.set("slow_members", .int(Int64(configuration.fanout.slowMembers)))
        combined.set("rate_msgs_per_s", slow["rate_msgs_per_s"] ?? .null)
        combined.set("padding_bytes", .int(Int64(configuration.fanout.paddingBytes)))
        combined.set("baseline_p99_us", Format.optionalDouble(p99Base))
        combined.set("slow_p99_us", Format.optionalDouble(p99Slow))
        combined.set("p99_ratio", Format.optionalDouble(ratio))
        combined.set("baseline_p999_us", baseline["latency_p999_us"] ?? .null)
        combined.set("slow_p999_us", slow["latency_p999_us"] ?? .null)
        combined.set("baseline_server_rss_peak_bytes", Format.optionalDouble(peakBase))
        combined.set("slow_server_rss_peak_bytes", Format.optionalDouble(peakSlow))
        combined.set("slow_disconnected", .int(Int64(disconnected)))
        combined.set("lost", .int(Int64(lost)))
        combined.set("duplicated", .int(Int64(duplicated)))
        combined.set("out_of_order", .int(Int64(disorder)))
        combined.set("generator_cpu_share", slow["generator_cpu_share"] ?? .null)
        combined.set("baseline", baseline.json)
        combined.set("with_slow", slow.json)
        return (baseline, slow, combined)
    }

    private static func p99Text(_ microseconds: Double?) -> String {
        microseconds.map { Format.duration(UInt64($0 * 1000)) } ?? "-"
    }
}
