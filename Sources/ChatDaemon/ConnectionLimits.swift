import ChatCore

/// Connection caps: a total, and one per address, where an IPv6 address counts by its
/// /64 (one host's usual allocation: per-address counting would let one host open
/// billions of "different" addresses).
struct ConnectionLimits {
    enum Key: Hashable {
        case v4(UInt32)
        case v6Prefix(UInt64, UInt64)
    }

    var maximumTotal: Int
    var maximumPerAddress: Int
    /// How many leading bits of an IPv6 address name one host (64 by default).
    let ipv6PrefixLength: Int
    private(set) var total = 0
    private var perAddress: [Key: Int] = [:]

    init(maximumTotal: Int, maximumPerAddress: Int, ipv6PrefixLength: Int = 64) {
        self.maximumTotal = maximumTotal
        self.maximumPerAddress = maximumPerAddress
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    static func key(_ address: IPAddress, ipv6PrefixLength: Int = 64) -> Key {
        switch address {
        case let .v4(value):
            return .v4(value)
        case .v6:
            guard let range = IPRange(network: address, prefixLength: ipv6PrefixLength),
                  case let .v6(high, low) = range.network else { return .v6Prefix(0, 0) }
            return .v6Prefix(high, low)
        }
    }

    enum Verdict: Equatable { case admitted, serverFull, addressFull }

    mutating func admit(_ address: IPAddress) -> Verdict {
        if total >= maximumTotal { return .serverFull }
        let key = Self.key(address, ipv6PrefixLength: ipv6PrefixLength)
        let count = perAddress[key, default: 0]
        if count >= maximumPerAddress { return .addressFull }
        perAddress[key] = count + 1
        total += 1
        return .admitted
    }

    mutating func release(_ address: IPAddress) {
        let key = Self.key(address, ipv6PrefixLength: ipv6PrefixLength)
        guard let count = perAddress[key] else { return }
        if count <= 1 { perAddress[key] = nil } else { perAddress[key] = count - 1 }
        total -= 1
    }
}
