/// An address as lowercase hex digits (8 for IPv4, 32 for IPv6): how a history line's
/// speaker travels with the line over the cluster's channel and in Redis' history list,
/// because a range is then a prefix of digits, which `ClusterScripts.changeSanctions`
/// can test in a few lines of Lua when it purges the history.
extension IPAddress {
    public var hex: String {
        switch self {
        case let .v4(value): return Self.digits(UInt64(value), count: 8)
        case let .v6(high, low): return Self.digits(high, count: 16) + Self.digits(low, count: 16)
        }
    }

    public init?(hex text: String) {
        let digits = Array(text.utf8)
        guard digits.count == 8 || digits.count == 32, digits.allSatisfy({ Self.value(of: $0) != nil }) else { return nil }
        func number(_ slice: ArraySlice<UInt8>) -> UInt64 { slice.reduce(0) { $0 << 4 | UInt64(Self.value(of: $1)!) } }
        if digits.count == 8 {
            self = .v4(UInt32(number(digits[...])))
        } else {
            self = .v6(number(digits[0..<16]), number(digits[16..<32]))
        }
    }

    private static func digits(_ value: UInt64, count: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: count - text.count) + text
    }

    private static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
