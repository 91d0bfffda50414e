/// Failed logins per address: after `freeAttempts` failures each further attempt must
/// wait twice as long as the last (1 s, 2 s, 4 s, ... up to `maximumDelay`). Forgotten
/// after `forgetAfter` without a failure, or on success.
struct LoginThrottle {
    struct Entry {
        var failures: Int
        var lastFailure: UInt64
        var blockedUntil: UInt64
    }

    var freeAttempts = 3
    var maximumDelaySeconds: UInt64 = 300
    var forgetAfterSeconds: UInt64 = 900
    private(set) var entries: [IPAddress: Entry] = [:]

    /// Seconds left before `address` may try again, or nil if it may try now.
    func waitSeconds(for address: IPAddress, now: UInt64) -> Int64? {
        guard let entry = entries[address], entry.blockedUntil > now else { return nil }
        return Int64((entry.blockedUntil - now + 999_999_999) / 1_000_000_000)
    }

    mutating func recordFailure(_ address: IPAddress, now: UInt64) -> Int {
        var entry = entries[address] ?? Entry(failures: 0, lastFailure: now, blockedUntil: 0)
        entry.failures += 1
        entry.lastFailure = now
        if entry.failures >= freeAttempts {
            let exponent = min(entry.failures - freeAttempts, 20)
            let delay = min(UInt64(1) << UInt64(exponent), maximumDelaySeconds)
            entry.blockedUntil = now + delay * 1_000_000_000
        }
        entries[address] = entry
        return entry.failures
    }

    mutating func recordSuccess(_ address: IPAddress) { entries[address] = nil }

    mutating func forgetOld(now: UInt64) {
        let horizon = forgetAfterSeconds * 1_000_000_000
        entries = entries.filter { now < $0.value.lastFailure + horizon || now < $0.value.blockedUntil }
    }
}
