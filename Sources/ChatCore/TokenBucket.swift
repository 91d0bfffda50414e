/// Flood control: `rate` messages per second on average, bursts up to `burst`.
struct TokenBucket: Sendable {
    private(set) var tokens: Double
    private var updated: UInt64

    init(burst: Double, now: UInt64) {
        tokens = burst
        updated = now
    }

    /// Takes a token if one is available.
    mutating func take(rate: Double, burst: Double, now: UInt64) -> Bool {
        if now > updated {
            tokens = min(burst, tokens + Double(now - updated) / 1e9 * rate)
            updated = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether the bucket has refilled completely by `now`.
    func isFull(rate: Double, burst: Double, now: UInt64) -> Bool {
        now <= updated ? tokens >= burst : tokens + Double(now - updated) / 1e9 * rate >= burst
    }
}
