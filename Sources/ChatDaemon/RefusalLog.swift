import ChatCore

/// Connections refused at a limit, logged once per host per interval: the first refusal
/// at once, the rest as one line with a count when the interval ends. A flood of refused
/// connections must not become a flood of log lines (each a write the loop pays for).
struct RefusalLog {
    struct Window {
        let opened: UInt64
        var suppressed: Int
        let reason: String
    }

    var intervalNanoseconds: UInt64 = 10_000_000_000
    private(set) var windows: [ConnectionLimits.Key: Window] = [:]

    /// Whether this refusal should be logged now; otherwise it is counted.
    mutating func record(_ key: ConnectionLimits.Key, reason: String, now: UInt64) -> Bool {
        if var window = windows[key], now < window.opened + intervalNanoseconds {
            window.suppressed += 1
            windows[key] = window
            return false
        }
        windows[key] = Window(opened: now, suppressed: 0, reason: reason)
        return true
    }

    /// Windows that ended, with how many refusals they held back.
    mutating func closeEnded(now: UInt64) -> [(key: ConnectionLimits.Key, suppressed: Int, reason: String)] {
        var ended: [(key: ConnectionLimits.Key, suppressed: Int, reason: String)] = []
        for (key, window) in windows where now >= window.opened + intervalNanoseconds {
            windows[key] = nil
            if window.suppressed > 0 { ended.append((key, window.suppressed, window.reason)) }
        }
        return ended.sorted { "\($0.key)" < "\($1.key)" }
    }
}
