/// The server's texts that programs act on: the Room writes them, and `chatroom`,
/// `chatroomctl` and `chatroom-bench` recognise them. Declared once here so that writer
/// and readers cannot drift apart. The seed's own texts are kept byte for byte.
public enum ServerReply {
    /// The first frame a newcomer receives once it has joined.
    public static let connected = "Connected to the server"

    /// What separates a speaker's nick from their line: `alice: hello`.
    public static let chatSeparator = ": "
    public static func chatLine(_ nick: String, _ text: String) -> String { nick + chatSeparator + text }

    public static let joinedSuffix = " has joined the chat!"
    public static func joined(_ nick: String) -> String { nick + joinedSuffix }
    public static let leftPrefix = "[CLIENT DISCONNECT - "
    public static func left(_ nick: String) -> String { leftPrefix + nick + "]" }

    /// A line replayed from the history: `[history 12:03:04Z] alice: hi`.
    public static let historyPrefix = "[history "
    /// An announcement from the server or an operator: `[server] text`.
    public static let serverNoticePrefix = "[server] "
    public static func serverNotice(_ text: String) -> String { serverNoticePrefix + text }

    public static let nickInUseSuffix = " is already in use. Choose another one."
    public static let invalidNickPrefix = "Invalid nickname: "

    public static let tooFast = "You are sending messages too fast; that one was not delivered."
    public static let slowmodeWaitPrefix = "Slowmode is on: you may send your next message in "
    public static func slowmodeWait(_ seconds: Int64) -> String {
        slowmodeWaitPrefix + SanctionDuration.format(seconds: seconds) + "."
    }
    /// The seconds a slowmode refusal asks to wait, or nil if `text` is not one.
    public static func slowmodeWaitSeconds(_ text: String) -> Int64? {
        guard text.hasPrefix(slowmodeWaitPrefix), text.hasSuffix(".") else { return nil }
        let duration = text.dropFirst(slowmodeWaitPrefix.count).dropLast().split(separator: " ").joined()
        return SanctionDuration.parse(duration)
    }

    public static let loggedInPrefix = "You are now an admin"
    public static let becameAdminSuffix = " is now an admin."
    public static let shuttingDown = "Server is shutting down."

    /// The room's topic, sent after `connected` and whenever it changes.
    public static let topicPrefix = "Topic: "
}
