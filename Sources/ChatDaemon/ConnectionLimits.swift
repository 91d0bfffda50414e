import ChatCore

/// Connection caps: a total, and one per address, where an IPv6 address counts by its
/// /64 (one host's usual allocation: per-address counting would let one host open
/// billions of "different" addresses).
struct ConnectionLimits {
    /// One host: see `IPRange.host(of:ipv6PrefixLength:)`.
    typealias Key = IPRange

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
        IPRange.host(of: address, ipv6PrefixLength: ipv6PrefixLength)
    }

    enum Verdict: Equatable { case admitted, serverFull, addressFull, tooFast }

    /// New connections a host may open a second, on average, in bursts of twice that;
    /// 0 is no limit. Refusing the rest before they hold a place keeps a connect loop from
    /// costing the loop more than a refusal.
    var acceptsPerSecond: Double = 0
    private var acceptBuckets: [Key: TokenBucket] = [:]

    mutating func admit(_ address: IPAddress, now: UInt64 = 0) -> Verdict {
        if total >= maximumTotal { return .serverFull }
        let key = Self.key(address, ipv6PrefixLength: ipv6PrefixLength)
        if acceptsPerSecond > 0 {
            let burst = acceptsPerSecond * 2
            var bucket = acceptBuckets[key] ?? TokenBucket(burst: burst, now: now)
            let taken = bucket.take(rate: acceptsPerSecond, burst: burst, now: now)
            acceptBuckets[key] = bucket
            guard taken else { return .tooFast }
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
        acceptBuckets = acceptBuckets.filter { !$0.value.isFull(rate: acceptsPerSecond, burst: burst, now: now) }
    }

    mutating func release(_ address: IPAddress) {
        let key = Self.key(address, ipv6PrefixLength: ipv6PrefixLength)
        guard let count = perAddress[key] else { return }
        if count <= 1 { perAddress[key] = nil } else { perAddress[key] = count - 1 }
        total -= 1
    }
}
