/// When to try again after the connection is lost: 0.5 s, doubling to 30 s, each delay
/// moved at random by up to ±25% so that the members a restart dropped together do not
/// all knock at the same instant (and keep missing each other's retries apart). Pure: the
/// caller passes the random number, so the schedule is testable.
public struct ReconnectBackoff: Sendable, Equatable {
    public static let initialSeconds = 0.5
    public static let maximumSeconds = 30.0
    /// The fraction a delay may move either way.
    public static let jitter = 0.25

    /// Attempts scheduled since the last success.
    public private(set) var attempts = 0

    public init() {}

    /// The delay before attempt `attempt` (from 0) without jitter: 0.5, 1, 2, 4, ... 30.
    public static func nominalSeconds(attempt: Int) -> Double {
        var delay = initialSeconds
        for _ in 0..<min(attempt, 16) where delay < maximumSeconds { delay *= 2 }
        return min(delay, maximumSeconds)
    }

    /// The delay before the next attempt; `random` in 0..<1 picks where in the jitter band.
    public mutating func nextDelaySeconds(random: Double) -> Double {
        let nominal = Self.nominalSeconds(attempt: attempts)
        attempts += 1
        let spread = 1 - Self.jitter + 2 * Self.jitter * min(max(random, 0), 1)
        return min(nominal * spread, Self.maximumSeconds)
    }

    /// After a successful rejoin the next loss starts again from 0.5 s.
    public mutating func reset() { attempts = 0 }
}
