/// A ban or a mute: who it hits, why, who set it, when, and until when.
///
/// Bans and mutes follow the address: a member who reconnects under another nickname is
/// still held. A mute also names the nickname it was set on, for display and so that a
/// member on a shared address is recognised after a nick change.
public struct Sanction: Equatable, Sendable {
    public enum Kind: String, Sendable, Equatable { case ban, mute }

    public var kind: Kind
    public var range: IPRange
    /// The nickname it was set on, if it was set on a member.
    public var nick: String?
    public var reason: String?
    public var setBy: String
    /// Wall-clock seconds since the epoch: sanctions keep their expiry across restarts.
    public var setAt: Int64
    /// Nil for permanent.
    public var expiresAt: Int64?

    public init(kind: Kind, range: IPRange, nick: String? = nil, reason: String? = nil,
                setBy: String, setAt: Int64, expiresAt: Int64? = nil) {
        self.kind = kind
        self.range = range
        self.nick = nick
        self.reason = reason
        self.setBy = setBy
        self.setAt = setAt
        self.expiresAt = expiresAt
    }

    public func isExpired(at unixSeconds: Int64) -> Bool {
        if let expiresAt { return unixSeconds >= expiresAt }
        return false
    }

    /// Seconds until it expires (never negative), or nil if permanent. Saturating: a
    /// restored entry may hold any Int64 and must not trap.
    public func secondsLeft(at now: RoomTime) -> Int64? {
        expiresAt.map { Self.saturatingDifference($0, now.unixSeconds) }
    }

    /// How long it was set for, or nil if permanent.
    public var durationSeconds: Int64? { expiresAt.map { Self.saturatingDifference($0, setAt) } }

    /// `a - b`, clamped to 0...Int64.max.
    static func saturatingDifference(_ a: Int64, _ b: Int64) -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        if overflow { return a > b ? Int64.max : 0 }
        return max(difference, 0)
    }

    /// What the room is told: the nickname when the sanction was set on a member, so
    /// announcements never reveal a member's address; the range when an admin typed one.
    public var publicDescription: String { nick ?? "\(range)" }

    /// `bob (127.0.0.2)` or `10.0.0.0/8`: for admins and the log.
    public var targetDescription: String {
        if let nick { return "\(nick) (\(range))" }
        return "\(range)"
    }
}
