import ChatCore

/// Connection caps: a total, and one per address, where an IPv6 address counts by its
/// /64 (one host's usual allocation: per-address counting would let one host open
/// billions of "different" addresses).
struct ConnectionLimits {
    enum Key: Hashable, CustomStringConvertible {
        case v4(UInt32)
        case v6Prefix(UInt64, UInt64)

        var description: String {
            switch self {
            case let .v4(value): return "\(IPAddress.v4(value))"
            case let .v6Prefix(high, low): return "\(IPAddress.v6(high, low))"
            }
        }
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

    enum Verdict: Equatable { case admitted, serverFull, addressFull, tooFast }

    /// New connections a host may open a second, on average, in bursts of twice that;
    /// 0 is no limit. Refusing the rest before they hold a place keeps a connect loop from
    /// costing the loop more than a refusal.
    var acceptsPerSecond: Double = 0
    private var acceptBuckets: [Key: (tokens: Double, updated: UInt64)] = [:]

    mutating func admit(_ address: IPAddress, now: UInt64 = 0) -> Verdict {
        if total >= maximumTotal { return .serverFull }
        let key = Self.key(address, ipv6PrefixLength: ipv6PrefixLength)
        if acceptsPerSecond > 0 {
            let burst = acceptsPerSecond * 2
            var bucket = acceptBuckets[key] ?? (burst, now)
            if now > bucket.updated {
                bucket.tokens = min(burst, bucket.tokens + Double(now - bucket.updated) / 1e9 * acceptsPerSecond)
                bucket.updated = now
            }
            guard bucket.tokens >= 1 else {
                acceptBuckets[key] = bucket
                return .tooFast
            }
            bucket.tokens -= 1
            acceptBuckets[key] = bucket
        }
        let count = perAddress[key, default: 0]
        if count >= maximumPerAddress { return .addressFull }
        perAddress[key] = count + 1
        total += 1
        return .admitted
    }

    /// Counts a connection admitted elsewhere (by a predecessor process), past any limit.
    mutating func count(_ address: IPAddress) {
        perAddress[Self.key(address, ipv6PrefixLength: ipv6PrefixLength), default: 0] += 1
        total += 1
    }

    /// Forgets hosts whose accept budget has refilled, so the table stays small.
    mutating func forgetIdle(now: UInt64) {
        let burst = acceptsPerSecond * 2
        acceptBuckets = acceptBuckets.filter { _, bucket in
            bucket.tokens + Double(now > bucket.updated ? now - bucket.updated : 0) / 1e9 * acceptsPerSecond < burst
        }
    }

    mutating func release(_ address: IPAddress) {
        let key = Self.key(address, ipv6PrefixLength: ipv6PrefixLength)
        guard let count = perAddress[key] else { return }
        if count <= 1 { perAddress[key] = nil } else { perAddress[key] = count - 1 }
        total -= 1
    }
}
