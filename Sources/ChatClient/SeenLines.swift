import ChatProtocol

/// The recent chat lines this client has shown, so that the history the server replays
/// after a reconnect (`[history 14:05:33Z] alice: hi`) shows only what was missed.
///
/// A live line carries no time, so it is remembered with the second this machine's UTC
/// clock read when it arrived; a replayed line carries the server's UTC time of day. A
/// replayed line is a repeat when a remembered line has the same text and a time within
/// `toleranceSeconds` (clocks kept by NTP agree to well under that; the server stamps a
/// line just before relaying it). Each remembered line answers for at most one replayed
/// line per replay, the closest in time, so a line said twice ("ok", "ok") is skipped once
/// and shown once when only one was seen. When the clocks disagree by more than the
/// tolerance, lines are shown twice rather than lost.
public struct SeenLines: Sendable {
    public static let capacity = 1000
    public static let toleranceSeconds = 5

    struct Entry: Sendable {
        var secondOfDay: Int
        var text: String
    }

    private var ring: [Entry] = []
    private var next = 0
    /// Ring positions already matched in the current replay.
    private var matched: Set<Int> = []

    public init() {}

    public var count: Int { ring.count }

    /// Remembers a line shown live (only chat and `/me` lines are ever replayed).
    public mutating func saw(_ text: String, unixSeconds: Int64) {
        remember(Entry(secondOfDay: Self.secondOfDay(unixSeconds), text: text))
    }

    /// A new replay starts (after `Connected to the server`).
    public mutating func beginReplay() { matched.removeAll() }

    /// For a replayed frame: whether it was shown before. A new one is remembered, so a
    /// later replay skips it too. Nil when `frame` is not a history line.
    public mutating func isRepeat(historyFrame frame: String) -> Bool? {
        guard let (second, text) = Self.parseHistory(frame) else { return nil }
        var best: (index: Int, distance: Int)? = nil
        for (index, entry) in ring.enumerated() where entry.text == text && !matched.contains(index) {
            let distance = Self.distance(entry.secondOfDay, second)
            if distance <= Self.toleranceSeconds && distance < (best?.distance ?? Int.max) { best = (index, distance) }
        }
        if let best {
            matched.insert(best.index)
            return true
        }
        matched.insert(remember(Entry(secondOfDay: second, text: text)))
        return false
    }

    /// `(secondOfDay, text)` of `[history HH:MM:SSZ] text`, or nil.
    public static func parseHistory(_ frame: String) -> (Int, String)? {
        guard frame.hasPrefix(ServerReply.historyPrefix) else { return nil }
        let rest = frame.utf8.dropFirst(ServerReply.historyPrefix.utf8.count)
        // "HH:MM:SSZ] " is 11 bytes.
        guard rest.count >= 11 else { return nil }
        let stamp = Array(rest.prefix(11))
        func number(_ at: Int) -> Int? {
            let (a, b) = (stamp[at], stamp[at + 1])
            guard (48...57).contains(a), (48...57).contains(b) else { return nil }
            return Int(a - 48) * 10 + Int(b - 48)
        }
        guard stamp[2] == UInt8(ascii: ":"), stamp[5] == UInt8(ascii: ":"), stamp[8] == UInt8(ascii: "Z"),
              stamp[9] == UInt8(ascii: "]"), stamp[10] == UInt8(ascii: " "),
              let hours = number(0), let minutes = number(3), let seconds = number(6),
              hours < 24, minutes < 60, seconds < 60 else { return nil }
        let text = String(decoding: rest.dropFirst(11), as: UTF8.self)
        return (hours * 3600 + minutes * 60 + seconds, text)
    }

    static func secondOfDay(_ unixSeconds: Int64) -> Int { Int(((unixSeconds % 86_400) + 86_400) % 86_400) }

    /// Seconds between two times of day, across midnight.
    static func distance(_ a: Int, _ b: Int) -> Int {
        let d = abs(a - b)
        return min(d, 86_400 - d)
    }

    @discardableResult
    private mutating func remember(_ entry: Entry) -> Int {
        if ring.count < Self.capacity {
            ring.append(entry)
            return ring.count - 1
        }
        let index = next
        ring[index] = entry
        matched.remove(index)
        next = (next + 1) % Self.capacity
        return index
    }
}
