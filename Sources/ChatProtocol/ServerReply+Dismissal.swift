/// Why the server ended a member's connection, as far as a client must know to decide
/// whether to come back on its own. ChatCore's `Notice` writes these texts; they are
/// declared here so that `chatroom` recognises them without retyping them (Notice can
/// adopt them when it is next touched).
extension ServerReply {
    /// `You have been kicked by an admin.` (then ` Reason: text` when one was given).
    public static let youWereKickedPrefix = "You have been kicked"
    /// `You have been banned by an admin for 10m.` and its variants.
    public static let youWereBannedPrefix = "You have been banned"
    /// The answer to a connection from a banned address.
    public static let addressBanned = "You are banned from this server."
    public static let disconnectedForFlooding = "You have been disconnected for flooding."
    public static let incorrectPassword = "Incorrect password."
    public static let adminLoginDisabledPrefix = "Admin login is disabled"

    /// A planned restart: the server is going away and will be back at once (for example
    /// `Server is restarting.` or `Server is restarting; reconnect in a moment.`). A client
    /// says so instead of "disconnected", and reconnects.
    public static let restartingPrefix = "Server is restarting"

    /// `Too many joins from your address; try again in 40s.`
    public static let tooManyJoinsPrefix = "Too many joins from your address; try again in "

    /// The seconds a join-rate refusal asks to wait, or nil if `text` is not one.
    public static func tooManyJoinsWaitSeconds(_ text: String) -> Int64? {
        guard text.hasPrefix(tooManyJoinsPrefix), text.hasSuffix(".") else { return nil }
        let duration = text.dropFirst(tooManyJoinsPrefix.count).dropLast().split(separator: " ").joined()
        return SanctionDuration.parse(duration)
    }

    /// True when the server closed the connection on purpose and means it: a kick, a ban,
    /// a banned address, flooding, a wrong or disabled admin password. A client must not
    /// reconnect by itself after one of these.
    public static func isDismissal(_ text: String) -> Bool {
        text.hasPrefix(youWereKickedPrefix) || text.hasPrefix(youWereBannedPrefix) || text == addressBanned
            || text == disconnectedForFlooding || text == incorrectPassword || text.hasPrefix(adminLoginDisabledPrefix)
    }

    /// True for the notices that announce the server is going away (shutdown or restart).
    public static func isServerLeaving(_ text: String) -> Bool {
        text == shuttingDown || text.hasPrefix(restartingPrefix)
    }
}
