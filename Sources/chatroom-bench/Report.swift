/// A JSON value with keys kept in the order they were added, so the one JSON line a
/// run prints reads in the same order as its human-readable lines.
indirect enum JSON {
    case int(Int64)
    case double(Double)
    case string(String)
    case bool(Bool)
    case null
    case array([JSON])
    case object([(String, JSON)])

    var encoded: String {
        switch self {
        case let .int(value): return String(value)
        case let .double(value):
            guard value.isFinite else { return "null" }
            return Format.fixed(value, value.magnitude >= 100 ? 1 : 4)
        case let .string(text): return Self.quote(text)
        case let .bool(value): return value ? "true" : "false"
        case .null: return "null"
        case let .array(items): return "[" + items.map(\.encoded).joined(separator: ",") + "]"
        case let .object(fields):
            return "{" + fields.map { Self.quote($0.0) + ":" + $0.1.encoded }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    subscript(key: String) -> JSON? {
        guard case let .object(fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    var doubleValue: Double? {
        switch self {
        case let .int(value): return Double(value)
        case let .double(value): return value
        default: return nil
        }
    }
}

/// One scenario run's outcome: lines for a person, then the same facts as one JSON object.
struct Report {
    let scenario: String
    private(set) var lines: [String] = []
    private(set) var fields: [(String, JSON)] = []

    init(scenario: String) {
        self.scenario = scenario
        fields.append(("scenario", .string(scenario)))
    }

    mutating func line(_ text: String) { lines.append(text) }
    mutating func set(_ key: String, _ value: JSON) {
        if let index = fields.firstIndex(where: { $0.0 == key }) { fields[index].1 = value } else { fields.append((key, value)) }
    }
    mutating func set(_ pairs: [(String, JSON)]) { for (key, value) in pairs { set(key, value) } }

    var json: JSON { .object(fields) }
    subscript(key: String) -> JSON? { json[key] }

    func printHuman() {
        for line in lines { print("  " + line) }
    }

    func printAll() {
        print("\(scenario):")
        printHuman()
        print(json.encoded)
    }
}

/// Number formatting without Foundation.
enum Format {
    /// `value` with exactly `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let integer = UInt64(scaled)
        let whole = integer / UInt64(scale)
        let fraction = integer % UInt64(scale)
        var text = (value < 0 && integer != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let fractionText = String(fraction)
            text += "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
        }
        return text
    }

    /// 1234567 → "1.23 M", 12345 → "12.3 k".
    static func si(_ value: Double) -> String {
        let magnitude = value.magnitude
        if magnitude >= 1e9 { return fixed(value / 1e9, 2) + " G" }
        if magnitude >= 1e6 { return fixed(value / 1e6, 2) + " M" }
        if magnitude >= 1e4 { return fixed(value / 1e3, 1) + " k" }
        return fixed(value, magnitude >= 100 || value == value.rounded() ? 0 : 1)
    }

    static func duration(_ nanoseconds: UInt64?) -> String {
        guard let nanoseconds else { return "-" }
        let value = Double(nanoseconds)
        if value >= 1e9 { return fixed(value / 1e9, 2) + " s" }
        if value >= 1e6 { return fixed(value / 1e6, 2) + " ms" }
        return fixed(value / 1e3, 1) + " µs"
    }

    static func microseconds(_ nanoseconds: UInt64?) -> JSON {
        guard let nanoseconds else { return .null }
        return .double(Double(nanoseconds) / 1e3)
    }

    static func bytes(_ value: Double) -> String {
        let magnitude = value.magnitude
        if magnitude >= 1_073_741_824 { return fixed(value / Double(1 << 30), 2) + " GiB" }
        if magnitude >= 1_048_576 { return fixed(value / Double(1 << 20), 1) + " MiB" }
        if magnitude >= 1024 { return fixed(value / Double(1 << 10), 2) + " KiB" }
        return fixed(value, 0) + " B"
    }

    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 0) + " %" }

    static func optionalDouble(_ value: Double?) -> JSON { value.map { .double($0) } ?? .null }
}
