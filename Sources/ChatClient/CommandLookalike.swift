import ChatProtocol

/// A line that looks like a command typed without its slash: `login alice secret`
/// would broadcast a password, `nick bob` announce nothing but itself. On a terminal the
/// client asks before sending such a line; in a pipe it is sent as written (a script
/// says what it means, and there is nobody to ask).
public enum CommandLookalike {
    /// The command the line looks like (`login`), or nil. Only commands whose shape is
    /// unusual in conversation count: `me` and `say` begin ordinary sentences.
    public static func command(in line: String) -> String? {
        let words = line.split(whereSeparator: \.isWhitespace)
        guard let first = words.first?.lowercased() else { return nil }
        let arguments = words.count - 1
        switch first {
        case "login": return arguments == 2 ? first : nil
        case "nick", "unmute", "unban": return arguments == 1 ? first : nil
        case "msg": return arguments >= 2 ? first : nil
        case "kick", "ban", "mute": return arguments >= 1 && arguments <= 4 ? first : nil
        case "slowmode": return arguments == 1 ? first : nil
        case "who", "help", "quit", "bans": return arguments == 0 ? first : nil
        default: return nil
        }
    }
}
