/// An address as lowercase hex digits (8 for IPv4, 32 for IPv6): how a history line's
/// speaker travels with the line over the cluster's channel and in Redis' history list,
/// because a range is then a prefix of digits, which `ClusterScripts.changeSanctions`
/// can test in a few lines of Lua when it purges the history. Once per chat line on each
/// node, so written and read without intermediate arrays (an IPv4 text is a small string,
/// stored inline).
extension IPAddress {
    public var hex: String {
        let (high, low, count): (UInt64, UInt64, Int)
        switch self {
        case let .v4(value): (high, low, count) = (UInt64(value) << 32, 0, 8)
        case let .v6(h, l): (high, low, count) = (h, l, 32)
        }
        return String(unsafeUninitializedCapacity: count) { buffer in
            for index in 0..<count {
                let word = index < 16 ? high : low
                let nibble = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * (index % 16))) & 0xf
                buffer[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
            }
            return count
        }
    }

    /// Nil unless exactly 8 or 32 lowercase hex digits.
    public init?<Text: StringProtocol>(hex text: Text) {
        let digits = text.utf8
        guard digits.count == 8 || digits.count == 32 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, digit) in digits.enumerated() {
            let value: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = digit - UInt8(ascii: "a") + 10
            default: return nil
            }
            if index < 16 { high = high << 4 | UInt64(value) } else { low = low << 4 | UInt64(value) }
        }
        self = digits.count == 8 ? .v4(UInt32(truncatingIfNeeded: high)) : .v6(high, low)
    }
}
