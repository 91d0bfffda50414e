import Glibc

/// What one suite run measured, as one JSON line and as the results section of
/// docs/benchmarks.md.
struct SuiteResults {
    let machine: MachineInfo
    let runs: Int
    var small: (Report, FanoutConfiguration)?
    var large: (Report, FanoutConfiguration)?
    var rate: (Report, FanoutConfiguration)?
    var wide: (Report, FanoutConfiguration)?
    var comparisons: [Comparison] = []
    /// The C reference server's source or binary, when it was measured beside chatroomd.
    var reference: String?
    var idle: Report?
    var churn: (Report, ChurnConfiguration)?
    var slow: (Report, SlowConfiguration)?
    var elapsedSeconds = 0.0
    var quietWaitSeconds = 0.0
    var daemon = ""
    var logLevel = "info"

    init(machine: MachineInfo, runs: Int) {
        self.machine = machine
        self.runs = runs
    }

    var json: JSON {
        var fields: [(String, JSON)] = [("scenario", .string("suite")), ("machine", machine.json), ("elapsed_s", .double(elapsedSeconds))]
        let scenarios: [(String, Report?)] = [("fanout_100_1", small?.0), ("fanout_1000_10", large?.0), ("fanout_100_rate_1000", rate?.0),
                                              ("fanout_1000_rate_100", wide?.0), ("idle", idle), ("churn", churn?.0), ("slow", slow?.0)]
        for (name, report) in scenarios { fields.append((name, report?.json ?? .null)) }
        fields.append(("against_reference", .array(comparisons.map(\.json))))
        return .object(fields)
    }

    // MARK: Markdown

    static let beginMarker = "<!-- chatroom-bench results: begin (rewritten by make bench; edit outside the markers) -->"
    static let endMarker = "<!-- chatroom-bench results: end -->"

    /// Replaces the text between the markers, keeping everything around them; a file
    /// without the markers gets the section appended.
    func rewrite(_ path: String) throws(BenchError) {
        let old = ProcessStats.readText(path) ?? "# Benchmarks\n\n"
        let section = Self.beginMarker + "\n" + markdownSection() + Self.endMarker
        let updated: String
        if let begin = old.firstRange(of: Self.beginMarker), let end = old.firstRange(of: Self.endMarker), begin.lowerBound < end.lowerBound {
            updated = String(old[..<begin.lowerBound]) + section + String(old[end.upperBound...])
        } else {
            updated = old + (old.hasSuffix("\n") ? "\n" : "\n\n") + section + "\n"
        }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("cannot write \(temporary): \(Connector.lastError())") }
        var failure: BenchError?
        Array(updated.utf8).withUnsafeBytes { bytes in
            do throws(BenchError) { try Connector.writeAll(fd, bytes) } catch { failure = error }
        }
        _ = close(fd)
        if let failure { throw failure }
        guard Glibc.rename(temporary, path) == 0 else { throw BenchError("cannot replace \(path): \(Connector.lastError())") }
    }

    private func number(_ report: Report?, _ key: String) -> Double? { report?[key]?.doubleValue }

    private func latencyText(_ report: Report) -> String {
        let p = { (key: String) in Format.duration(self.number(report, key).map { UInt64($0 * 1000) }) }
        return "p50 \(p("latency_p50_us")), p99 \(p("latency_p99_us")), p99.9 \(p("latency_p999_us")), max \(p("latency_max_us"))"
    }

    private func integrityText(_ report: Report) -> String {
        let value = { (key: String) in Int(self.number(report, key) ?? -1) }
        return "lost \(value("lost")), duplicated \(value("duplicated")), out of order \(value("out_of_order"))"
    }

    private func mark(_ ok: Bool?) -> String {
        guard let ok else { return "" }
        return ok ? " — met" : " — **not met**"
    }

    private func siOrDash(_ value: Double?) -> String { value.map { Format.si($0) } ?? "–" }

    /// " (runs: 8.1 M, 7.9 M with other processes using 0.4 cores, 8.0 M)".
    private func runsText(_ report: Report, key: String, _ format: (Double) -> String) -> String {
        guard case let .array(values)? = report["\(key)_runs"] else { return "" }
        var others: [JSON] = []
        if case let .array(list)? = report["other_processes_cores_runs"] { others = list }
        let items = values.enumerated().map { i, value -> String in
            let text = value.doubleValue.map(format) ?? "–"
            guard i < others.count, let other = others[i].doubleValue, other >= 0.2 else { return text }
            return text + " with other processes using \(Format.fixed(other, 1)) cores"
        }
        return " (runs: " + items.joined(separator: ", ") + ")"
    }

    /// The most CPU other processes took during any measured window, in cores.
    private var busiest: Double {
        var most = 0.0
        for report in [small?.0, large?.0, rate?.0, wide?.0, idle, churn?.0, slow?.0].compactMap({ $0 }) {
            if let value = number(report, "other_processes_cores") { most = max(most, value) }
            if case let .array(list)? = report["other_processes_cores_runs"] {
                for value in list { most = max(most, value.doubleValue ?? 0) }
            }
            for nested in ["baseline", "with_slow"] {
                if let value = report[nested]?["other_processes_cores"]?.doubleValue { most = max(most, value) }
            }
        }
        return most
    }

    /// ", other processes 0.31 cores" when the machine was not quiet.
    private func otherText(_ report: Report?) -> String {
        guard let other = number(report, "other_processes_cores"), other >= 0.05 else { return "" }
        return ", other processes \(Format.fixed(other, 2)) cores"
    }

    private func fanoutRow(_ entry: (Report, FanoutConfiguration)?, title: String, target: String, targetValue: Double?) -> String {
        guard let (report, configuration) = entry else { return "| \(title) | – | not run | \(target) |" }
        let perCPU = number(report, "deliveries_per_server_cpu_s")
        let runsValues = runsText(report, key: "deliveries_per_server_cpu_s") { siOrDash($0) }
        let ok = targetValue.flatMap { t in perCPU.map { $0 >= t } }
        let median = runs > 1 ? ", median of \(runs)" : ""
        return "| \(title) | \(configuration.parameterText)\(median) | **\(siOrDash(perCPU)) deliveries per server-CPU-second**\(runsValues); "
            + "\(siOrDash(number(report, "deliveries_per_s"))) deliveries/s; \(latencyText(report)); \(integrityText(report)); "
            + "server \(Format.percent(number(report, "server_cpu_s").map { $0 / (number(report, "duration_s") ?? 1) } ?? 0)) of a core, "
            + "generator \(Format.percent(number(report, "generator_cpu_share") ?? 0))\(otherText(report)); joins \(siOrDash(number(report, "joins_per_s")))/s "
            + "| \(target)\(mark(ok)) |"
    }

    private func rateRow(_ entry: (Report, FanoutConfiguration)?, target: Double?) -> String {
        guard let (report, configuration) = entry else { return "" }
        let p99 = number(report, "latency_p99_us")
        let runsValues = runsText(report, key: "latency_p99_us") { Format.duration(UInt64($0 * 1000)) }
        let median = runs > 1 ? ", median of \(runs) by p99" : ""
        var out = "| fanout, fixed rate | \(configuration.parameterText)\(median) | **p99 \(Format.duration(p99.map { UInt64($0 * 1000) }))**\(runsValues); "
        out += "\(latencyText(report)); \(siOrDash(number(report, "deliveries_per_s"))) deliveries/s; \(integrityText(report)); "
        out += "\(siOrDash(number(report, "deliveries_per_server_cpu_s"))) deliveries per server-CPU-second; generator \(Format.percent(number(report, "generator_cpu_share") ?? 0))\(otherText(report)) "
        out += target.map { t in "| p99 ≤ \(Format.duration(UInt64(t * 1000)))\(mark(p99.map { $0 <= t })) |\n" } ?? "| – |\n"
        return out
    }

    /// chatroomd against the C reference server, measured in this run.
    private var comparisonSection: String {
        guard !comparisons.isEmpty else { return "" }
        var out = "\n### Beside the C reference server, in this run\n\n"
        out += "Each scenario also ran, interleaved with chatroomd's runs, against `\(reference ?? ReferenceServer.defaultSource)`: "
        out += "a minimal single-threaded C epoll + `writev` fan-out server with shared frames and no rules or limits, built with `cc -O2`, "
        out += "started fresh for every run like the daemon. Ratio: chatroomd's figure over the reference's for the same run pair "
        out += "(for memory the reference's over chatroomd's), median over the pairs; above 1 chatroomd did better. "
        out += "Because both are measured minutes apart on the same machine, the ratio holds up when other work makes the absolute figures move.\n\n"
        out += Comparison.markdownHeader
        for comparison in comparisons { out += comparison.markdownRow + "\n" }
        return out
    }

    func markdownSection() -> String {
        var out = ""
        out += "\n## Latest results\n\n"
        out += "Measured \(machine.date) on \(machine.processors) CPUs (`nproc`) of \(machine.cpuModel), \(machine.memory) RAM, "
        out += "\(machine.kernel), \(machine.swiftVersion). "
        out += "Daemon: `\(daemon)` (release build, `--static-swift-stdlib`), started fresh for every run on 127.0.0.1, "
        out += "logging at `\(logLevel)` to a file. The generator and the daemon share the machine's cores. "
        out += "The whole set took \(Format.fixed(elapsedSeconds, 0)) s"
        out += quietWaitSeconds >= 1 ? ", \(Format.fixed(quietWaitSeconds, 0)) s of it waiting for other processes on the machine to finish." : "."
        if busiest >= 0.2 {
            out += " **The machine was not quiet:** other processes used up to \(Format.fixed(busiest, 1)) of its \(machine.processors) cores "
            out += "during some measured windows (noted per run below); latency figures suffer most from that."
        }
        out += "\n\n"
        out += "| scenario | parameters | result | target |\n|---|---|---|---|\n"
        out += fanoutRow(small, title: "fanout, closed loop", target: "≥ 7 M deliveries per server-CPU-second", targetValue: 7e6) + "\n"
        out += fanoutRow(large, title: "fanout, closed loop", target: "≥ 9.5 M deliveries per server-CPU-second", targetValue: 9.5e6) + "\n"
        out += rateRow(rate, target: 1000)
        out += rateRow(wide, target: nil)
        if let idle {
            let perConnection = number(idle, "rss_bytes_per_connection")
            let members = Int(number(idle, "members") ?? 0)
            out += "| idle | N=\(members) joined and held, from \(Int(number(idle, "source_addresses") ?? 1)) source address(es) "
            out += "| **\(perConnection.map { Format.bytes($0) } ?? "–") RSS per joined connection** "
            out += "(\(Format.bytes(number(idle, "server_rss_before_bytes") ?? 0)) → \(Format.bytes(number(idle, "server_rss_after_bytes") ?? 0))); "
            out += "joins \(siOrDash(number(idle, "joins_per_s")))/s including \(siOrDash(number(idle, "join_notices"))) join notices; "
            out += "generator \(Format.percent(number(idle, "generator_cpu_share") ?? 0))\(otherText(idle)) while joining "
            out += "| ≤ 2 KiB per connection\(mark(perConnection.map { $0 <= 2048 })) |\n"
        }
        if let (report, configuration) = churn {
            out += "| churn | \(configuration.concurrency) connections cycling: connect, join, one line, `!DC`, \(Format.fixed(configuration.durationSeconds, 0)) s "
            out += "| **\(siOrDash(number(report, "joins_per_s"))) joins/s**, \(siOrDash(number(report, "joins_per_server_cpu_s"))) joins per server-CPU-second; "
            out += "cycle p50 \(Format.duration(number(report, "cycle_p50_us").map { UInt64($0 * 1000) })), p99 \(Format.duration(number(report, "cycle_p99_us").map { UInt64($0 * 1000) })); "
            out += "\(Int(number(report, "failures") ?? 0)) failed; generator \(Format.percent(number(report, "generator_cpu_share") ?? 0))\(otherText(report)) | – |\n"
        }
        if let (report, configuration) = slow {
            let ratio = number(report, "p99_ratio")
            let k = configuration.fanout.slowMembers
            let cut = Int(number(report, "slow_disconnected") ?? 0)
            out += "| slow | \(configuration.fanout.parameterText), against the same run without them "
            out += "| **readers' p99 ×\(ratio.map { Format.fixed($0, 2) } ?? "–")** (\(Format.duration(number(report, "baseline_p99_us").map { UInt64($0 * 1000) })) → \(Format.duration(number(report, "slow_p99_us").map { UInt64($0 * 1000) }))); "
            out += "server peak RSS \(Format.bytes(number(report, "baseline_server_rss_peak_bytes") ?? 0)) → \(Format.bytes(number(report, "slow_server_rss_peak_bytes") ?? 0)); "
            out += "\(cut) of \(k) never-reading members cut off at the send-queue limit; \(integrityText(report)) "
            out += "| p99 within ×1.5\(mark(ratio.map { $0 <= SlowConfiguration.p99Tolerance })), RSS bounded |\n"
        }

        out += comparisonSection
        out += "\n### Beside other servers on these machines\n\n"
        out += "Deliveries per server-CPU-second (higher is better), p99 latency and RSS per idle connection (lower is better). "
        out += "The other servers' figures are reference measurements taken earlier on the same kind of machine.\n\n"
        out += "| server | 100 members / 1 sender | 1000 members / 10 senders | p99, 100 members at 1000 msg/s | RSS per idle connection |\n"
        out += "|---|---|---|---|---|\n"
        let smallValue = siOrDash(number(small?.0, "deliveries_per_server_cpu_s"))
        let largeValue = siOrDash(number(large?.0, "deliveries_per_server_cpu_s"))
        let p99Value = Format.duration(number(rate?.0, "latency_p99_us").map { UInt64($0 * 1000) })
        let idleValue = number(idle, "rss_bytes_per_connection").map { Format.bytes($0) } ?? "–"
        out += "| **chatroomd (this run)** | **\(smallValue)** | **\(largeValue)** | **\(p99Value)** | **\(idleValue)** |\n"
        out += "| Python seed | 0.44 M | 0.30 M | 2.6 ms | 17.5 KiB |\n"
        out += "| SwiftNIO chat example | 0.16 M | 0.11 M | 1.6 ms | – |\n"
        out += "| InspIRCd 3.15 | 4.6 M | 1.8 M | 0.77 ms | 2.0 KiB |\n"
        out += "| minimal C epoll server (earlier) | 8.6 M | 11.8 M | 3.3 ms | 2.5 KiB |\n\n"
        return out
    }
}
