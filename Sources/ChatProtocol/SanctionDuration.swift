/// Durations as moderators type them (`30s`, `10m`, `2h`, `7d`, `1h30m`) and as members
/// read them (`9m 12s`).
public enum SanctionDuration {
    /// Seconds, or nil if `text` is not a duration. A bare number means seconds.
    public static func parse(_ text: String) -> Int64? {
        guard !text.isEmpty else { return nil }
        if let plain = Int64(text) { return plain > 0 ? plain : nil }
        var total: Int64 = 0
        var number: Int64? = nil
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (times10, overflow1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(digit))
                guard !overflow1, !overflow2 else { return nil }
                number = sum
                continue
            }
            guard let value = number else { return nil }
            let unit: Int64
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            let (scaled, overflow1) = value.multipliedReportingOverflow(by: unit)
            let (sum, overflow2) = total.addingReportingOverflow(scaled)
            guard !overflow1, !overflow2 else { return nil }
            total = sum
            number = nil
        }
        guard number == nil, total > 0 else { return nil }
        return total
    }

    /// The two largest units: `45s`, `9m 12s`, `2h 5m`, `3d 4h`.
    public static func format(seconds: Int64) -> String {
        let units: [(size: Int64, name: String)] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        let total = max(seconds, 0)
        guard let first = units.firstIndex(where: { total >= $0.size }) else { return "0s" }
        var text = "\(total / units[first].size)\(units[first].name)"
        if first + 1 < units.count {
            let next = total % units[first].size / units[first + 1].size
            if next > 0 { text += " \(next)\(units[first + 1].name)" }
        }
        return text
    }
}
