/// `rate` events per second on average, bursts up to `burst`: members' flood control, joins
/// per host, and (in the daemon) new connections per host.
public struct TokenBucket: Sendable {
    public private(set) var tokens: Double
    private var updated: UInt64

    public init(burst: Double, now: UInt64) {
        tokens = burst
        updated = now
    }

    /// A bucket as a predecessor process left it.
    init(tokens: Double, updatedAt: UInt64) {
        self.tokens = tokens
        updated = updatedAt
    }

    var updatedAt: UInt64 { updated }

    /// Takes a token if one is available.
    public mutating func take(rate: Double, burst: Double, now: UInt64) -> Bool {
        if now > updated {
            // Refill up to the burst; tokens granted beyond it (`grant`) are kept until used.
            tokens = max(tokens, min(burst, tokens + Double(now - updated) / 1e9 * rate))
            updated = now
        }
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Adds tokens beyond the burst: what the member could have sent while the server was
    /// not reading, so lines that queued up then are not counted as a flood.
    mutating func grant(_ extra: Double) {
        tokens += extra
    }

    /// Whether the bucket has refilled completely by `now`.
    public func isFull(rate: Double, burst: Double, now: UInt64) -> Bool {
        now <= updated ? tokens >= burst : tokens + Double(now - updated) / 1e9 * rate >= burst
    }
}
