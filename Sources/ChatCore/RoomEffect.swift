import Bytes

/// What the Room asks the outside world to do after an event. The daemon carries these
/// out in order; tests read them directly.
public enum RoomEffect {
    /// Queue one encoded frame for one connection.
    case send(SharedBytes, to: ClientID)
    /// Queue the same encoded frame for each of these connections. The bytes are shared,
    /// never copied per recipient.
    case broadcast(SharedBytes, to: [ClientID])
    /// Close the connection once everything queued for it before this point is sent.
    case close(ClientID, reason: String)
    /// Record an event for the operator.
    case log(RoomLogRecord)
    /// State that must survive a restart (sanctions, the topic) changed: save it before
    /// anything else happens.
    case durableStateChanged
    /// Check a password off the event loop and answer with `Room.passwordChecked`.
    case verifyPassword(PasswordCheck)
}

/// A structured log event. Field names are the journal's (`CHAT_EVENT`, `CHAT_NICK`, ...)
/// in lower case; the daemon's log handler renders them for stderr or the journal.
public struct RoomLogRecord: Sendable, Equatable {
    public enum Level: Sendable, Equatable { case debug, info, notice, warning, error }
    public let level: Level
    public let event: String
    public let message: String
    public let fields: [String: String]

    public init(level: Level, event: String, message: String, fields: [String: String] = [:]) {
        self.level = level
        self.event = event
        self.message = message
        self.fields = fields
    }
}
