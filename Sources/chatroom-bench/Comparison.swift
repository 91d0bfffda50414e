/// One figure measured on chatroomd and on the C reference server in the same suite run,
/// their runs interleaved (chatroomd first, then the reference, then the other way round),
/// so that whatever else the machine was doing weighs on both alike.
///
/// The ratio is the median of the per-pair ratios (run k of chatroomd against run k of the
/// reference, taken seconds apart), which cancels slow drifts in the machine's load better
/// than a ratio of medians would.
struct Comparison {
    let scenario: String
    /// What is compared, e.g. "deliveries per server-CPU-second".
    let measure: String
    /// The JSON field of each run's report.
    let key: String
    /// Deliveries and joins: more is better. Memory: less is better (the ratio is then
    /// reference / chatroomd, so above 1 still means chatroomd is better).
    let higherIsBetter: Bool
    /// The target for the ratio, if there is one, and its words.
    let target: Double?
    let targetText: String
    let own: [Report]
    let reference: [Report]

    static func value(_ report: Report, _ key: String) -> Double? { report[key]?.doubleValue }

    var ownValues: [Double] { own.compactMap { Self.value($0, key) } }
    var referenceValues: [Double] { reference.compactMap { Self.value($0, key) } }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// chatroomd's standing against the reference, run by run: > 1 means chatroomd did better.
    var pairRatios: [Double] {
        zip(own, reference).compactMap { pair -> Double? in
            guard let a = Self.value(pair.0, key), let b = Self.value(pair.1, key), a > 0, b > 0 else { return nil }
            return higherIsBetter ? a / b : b / a
        }
    }

    var ratio: Double? { Self.median(pairRatios) }

    var met: Bool? { target.flatMap { t in ratio.map { $0 >= t } } }

    /// The busiest any other process got during one of the runs, in cores.
    var otherCores: Double {
        (own + reference).compactMap { $0["other_processes_cores"]?.doubleValue }.max() ?? 0
    }

    func format(_ value: Double) -> String {
        key.contains("bytes") ? Format.bytes(value) : Format.si(value)
    }

    private func valuesText(_ values: [Double]) -> String {
        guard let median = Self.median(values) else { return "–" }
        let runs = values.count > 1 ? " (" + values.map(format).joined(separator: ", ") + ")" : ""
        return "**\(format(median))**" + runs
    }

    var markdownRow: String {
        let ratioText = ratio.map { Format.fixed($0, 2) } ?? "–"
        let pairs = pairRatios.count > 1 ? " (" + pairRatios.map { Format.fixed($0, 2) }.joined(separator: ", ") + ")" : ""
        let mark = met.map { $0 ? " — met" : " — **not met**" } ?? ""
        let noise = otherCores >= 0.2 ? "; other processes up to \(Format.fixed(otherCores, 1)) cores" : ""
        return "| \(scenario) | \(measure) | \(valuesText(ownValues)) | \(valuesText(referenceValues)) | **\(ratioText)**\(pairs)\(noise) | \(targetText)\(mark) |"
    }

    var humanLine: String {
        let ratioText = ratio.map { Format.fixed($0, 2) } ?? "-"
        let ownText = Self.median(ownValues).map(format) ?? "-"
        let referenceText = Self.median(referenceValues).map(format) ?? "-"
        return "\(scenario), \(measure): chatroomd \(ownText), C reference \(referenceText), ratio \(ratioText)"
            + (pairRatios.count > 1 ? " (runs: " + pairRatios.map { Format.fixed($0, 2) }.joined(separator: ", ") + ")" : "")
            + (met.map { $0 ? " (target met)" : " (target NOT met)" } ?? "")
    }

    var json: JSON {
        .object([("scenario", .string(scenario)), ("measure", .string(measure)), ("key", .string(key)),
                 ("chatroomd", .array(ownValues.map { .double($0) })), ("reference", .array(referenceValues.map { .double($0) })),
                 ("pair_ratios", .array(pairRatios.map { .double($0) })), ("ratio", Format.optionalDouble(ratio)),
                 ("target", Format.optionalDouble(target))])
    }

    static let markdownHeader = """
        | scenario | compared | chatroomd | C reference | ratio (runs) | target |
        |---|---|---|---|---|---|

        """
}
