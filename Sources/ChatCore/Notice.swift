import ChatProtocol

/// Every text the Room sends. The first group is the original server's, byte for byte,
/// because clients written for it match on them.
public enum Notice {
    public static let connected = ServerReply.connected
    public static func joined(_ nick: String) -> String { "\(nick) has joined the chat!" }
    public static let adminJoined = "An admin has joined the chat!"
    public static let incorrectPassword = "Incorrect password."
    public static func left(_ nick: String) -> String { "[CLIENT DISCONNECT - \(nick)]" }
    public static let youWereKicked = "You have been kicked by an admin."
    public static func kicked(_ nick: String) -> String { "\(nick) has been kicked from the server." }
    public static let youWereBanned = "You have been banned by an admin."
    public static func banned(_ nick: String) -> String { "\(nick) has been banned from the server." }

    public static let shuttingDown = "Server is shutting down."
    public static let addressBanned = "You are banned from this server."
    public static let adminLoginDisabled = "Admin login is disabled on this server (no admin password hash is configured)."
    public static func nickInUse(_ nick: String) -> String {
        "The nickname \(nick) is already in use. Choose another one."
    }
    public static func invalidNick(_ problem: Nickname.Problem) -> String {
        "Invalid nickname: \(problem). Use up to \(Nickname.maximumByteCount) bytes with at least one letter or digit, and no spaces."
    }
    public static let adminNickReserved = "The nickname admin is reserved. Log in with admin:<password> instead."
    public static let expectedGreeting = "Expected NICK:<nickname> or admin:<password> as the first message."
    public static func adminOnly(_ command: String) -> String { "Only an admin can use /\(command)." }
    public static func usage(_ text: String) -> String { "Usage: \(text)" }
    public static func noSuchMember(_ nick: String) -> String { "No member is called \(nick)." }
    public static func cannotTargetYourself(_ command: String) -> String { "You cannot /\(command) yourself." }
    public static func cannotBanOwnAddress(_ nick: String) -> String {
        "\(nick) connects from your own address; banning it would lock you out too."
    }
    public static func unknownCommand(_ name: String) -> String {
        "Unknown command /\(name). Commands: /kick <nick> and /ban <nick> (admin only); !DC leaves."
    }
    public static func protocolError(_ description: String) -> String { "Protocol error: \(description)." }
}
