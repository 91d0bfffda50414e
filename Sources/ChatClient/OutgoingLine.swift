import ChatProtocol

/// A line the user typed (or a pipe supplied), waiting to be delivered.
public struct OutgoingLine: Equatable, Sendable {
    /// Its position in the input, from 1: how it is named when it cannot be delivered.
    public let number: Int
    public let text: String
    /// Times the server refused it for flood control or slowmode.
    public internal(set) var refusals = 0

    public init(number: Int, text: String) {
        self.number = number
        self.text = text
    }

    /// What comes back when the server relays it: `nick: text` for chat, `* nick action`
    /// for `/me`. Nil for other commands, whose answers have no fixed form: the server
    /// only tells when it refuses them.
    public func echo(nick: String) -> String? {
        switch ClientRequest.parseMemberFrame(text) {
        case let .chat(body): return ServerReply.chatLine(nick, body)
        case let .command(name, arguments) where name == "me" && !arguments.isEmpty:
            return ServerReply.actionPrefix + nick + " " + arguments
        default: return nil
        }
    }

    /// The line as named in messages: its number and its start.
    public var label: String {
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        return "line \(number) \"\(TextSanitizer.printable(shown))\""
    }
}
