/// An address range in CIDR form (`10.0.0.0/8`, `2001:db8::/32`); a single address is a
/// range of one (`/32` or `/128`). Bans and mutes match by range.
public struct IPRange: Hashable, Sendable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    public init(_ address: IPAddress) {
        network = address
        switch address {
        case .v4: prefixLength = 32
        case .v6: prefixLength = 128
        }
    }

    /// The network is masked, so `10.1.2.3/8` and `10.0.0.0/8` are the same range.
    /// The addresses that count as one host for per-address limits: an IPv4 address by
    /// itself, an IPv6 address by its first `ipv6PrefixLength` bits (one host's usual
    /// allocation; counting single IPv6 addresses would let a host be billions of "others").
    public static func host(of address: IPAddress, ipv6PrefixLength: Int) -> IPRange {
        if case .v6 = address, let prefix = IPRange(network: address, prefixLength: ipv6PrefixLength) { return prefix }
        return IPRange(address)
    }

    public init?(network: IPAddress, prefixLength: Int) {
        switch network {
        case let .v4(value):
            guard (0...32).contains(prefixLength) else { return nil }
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << (32 - prefixLength)
            self.network = .v4(value & mask)
        case let .v6(high, low):
            guard (0...128).contains(prefixLength) else { return nil }
            let (highMask, lowMask) = Self.mask128(prefixLength)
            self.network = .v6(high & highMask, low & lowMask)
        }
        self.prefixLength = prefixLength
    }

    /// `ADDRESS` or `ADDRESS/PREFIX`, IPv4 or IPv6.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parsing: String(parts[0])) else { return nil }
        if parts.count == 1 {
            self.init(address)
        } else {
            guard let length = Int(parts[1]) else { return nil }
            self.init(network: address, prefixLength: length)
        }
    }

    public var isSingleAddress: Bool {
        switch network {
        case .v4: return prefixLength == 32
        case .v6: return prefixLength == 128
        }
    }

    public func contains(_ address: IPAddress) -> Bool {
        switch (network, address) {
        case let (.v4(net), .v4(value)):
            let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << (32 - prefixLength)
            return value & mask == net
        case let (.v6(netHigh, netLow), .v6(high, low)):
            let (highMask, lowMask) = Self.mask128(prefixLength)
            return high & highMask == netHigh && low & lowMask == netLow
        default:
            return false
        }
    }

    public var description: String { isSingleAddress ? "\(network)" : "\(network)/\(prefixLength)" }

    private static func mask128(_ length: Int) -> (UInt64, UInt64) {
        if length == 0 { return (0, 0) }
        if length <= 64 { return (~UInt64(0) << (64 - length), 0) }
        if length == 128 { return (~0, ~0) }
        return (~0, ~UInt64(0) << (128 - length))
    }
}

extension IPAddress {
    /// Dotted IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail);
    /// IPv4-mapped IPv6 becomes IPv4, as everywhere else.
    public init?(parsing text: String) {
        if !text.contains(":") {
            guard let value = Self.parseIPv4(Substring(text)) else { return nil }
            self = .v4(value)
            return
        }
        guard let bytes = Self.parseIPv6(text) else { return nil }
        self.init(ipv6Bytes: bytes)
    }

    private static func parseIPv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit),
                  let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        let halves = text.components(separatedByString: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    result.append(UInt16(v4 >> 16))
                    result.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard !piece.isEmpty, piece.count <= 4, let group = UInt16(piece, radix: 16) else { return nil }
                    result.append(group)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension String {
    /// Splits on a multi-character separator, keeping empty parts (`"::1"` gives `["", "1"]`).
    func components(separatedByString separator: String) -> [String] {
        var result: [String] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            result.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        result.append(String(rest))
        return result
    }
}
