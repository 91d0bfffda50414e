import ChatCore

/// Connection caps: a total, and one per address, where an IPv6 address counts by its
/// /64 (one host's usual allocation: per-address counting would let one host open
/// billions of "different" addresses).
struct ConnectionLimits {
    enum Key: Hashable {
        case v4(UInt32)
        case v6Prefix(UInt64)
    }

    var maximumTotal: Int
    var maximumPerAddress: Int
    private(set) var total = 0
    private var perAddress: [Key: Int] = [:]

    init(maximumTotal: Int, maximumPerAddress: Int) {
        self.maximumTotal = maximumTotal
        self.maximumPerAddress = maximumPerAddress
    }

    static func key(_ address: IPAddress) -> Key {
        switch address {
        case let .v4(value): return .v4(value)
        case let .v6(high, _): return .v6Prefix(high)
        }
    }

    enum Verdict: Equatable { case admitted, serverFull, addressFull }

    mutating func admit(_ address: IPAddress) -> Verdict {
        if total >= maximumTotal { return .serverFull }
        let key = Self.key(address)
        let count = perAddress[key, default: 0]
        if count >= maximumPerAddress { return .addressFull }
        perAddress[key] = count + 1
        total += 1
        return .admitted
    }

    mutating func release(_ address: IPAddress) {
        let key = Self.key(address)
        guard let count = perAddress[key] else { return }
        if count <= 1 { perAddress[key] = nil } else { perAddress[key] = count - 1 }
        total -= 1
    }
}
