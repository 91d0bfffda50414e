/// What a client's frame asks for, parsed from its text.
///
/// Before joining, the first frame must be `NICK:<nick>` or `admin:<password>`. After
/// joining, `!DC` leaves, a leading `/` names a command, and anything else is chat.
public enum ClientRequest: Equatable, Sendable {
    case join(nick: String)
    case adminJoin(password: String)
    case disconnect
    case command(name: String, arguments: String)
    case chat(String)
    /// A first frame that is neither `NICK:` nor `admin:`.
    case unrecognizedGreeting(String)

    public static let nickPrefix = "NICK:"
    public static let adminPrefix = "admin:"
    public static let disconnectText = "!DC"

    /// Parses the first frame of a connection that has not joined yet.
    /// Compared by bytes, as the original's Python did by code points: `NICK:` followed by
    /// a combining mark is still a NICK greeting, though as Characters it is not a prefix.
    public static func parseGreeting(_ text: String) -> ClientRequest {
        let bytes = text.utf8
        if bytes.starts(with: nickPrefix.utf8) {
            return .join(nick: String(decoding: bytes.dropFirst(nickPrefix.utf8.count), as: UTF8.self))
        }
        if bytes.starts(with: adminPrefix.utf8) {
            return .adminJoin(password: String(decoding: bytes.dropFirst(adminPrefix.utf8.count), as: UTF8.self))
        }
        return .unrecognizedGreeting(text)
    }

    /// Parses a frame from a member.
    public static func parseMemberFrame(_ text: String) -> ClientRequest {
        if text == disconnectText { return .disconnect }
        if text.hasPrefix("/"), text.count > 1 {
            let body = text.dropFirst()
            let name = body.prefix { !$0.isWhitespace }
            let rest = body.dropFirst(name.count).drop { $0.isWhitespace }
            if !name.isEmpty {
                return .command(name: name.lowercased(), arguments: String(rest))
            }
        }
        return .chat(text)
    }

    /// True when a member's frame can be relayed as chat without building a `String`:
    /// the fast path for the overwhelmingly common case.
    public static func isPlainChat(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let first = payload.first else { return true }
        if first == UInt8(ascii: "/") { return payload.count == 1 || isWhitespaceByte(payload[1]) }
        return !isDisconnect(payload)
    }

    /// `!DC`, checked on the raw bytes.
    public static func isDisconnect(_ payload: UnsafeRawBufferPointer) -> Bool {
        payload.count == 3 && payload[0] == UInt8(ascii: "!") && payload[1] == UInt8(ascii: "D") && payload[2] == UInt8(ascii: "C")
    }

    private static func isWhitespaceByte(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}
