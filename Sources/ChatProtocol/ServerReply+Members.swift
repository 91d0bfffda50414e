/// Server texts the terminal client reads to know who is in the room and what happened to
/// its own lines. ChatCore's `Notice` writes these same texts; they are declared here so
/// that `chatroom` does not retype them (Notice can adopt them when it is next touched).
extension ServerReply {
    /// `old is now known as new.`
    public static let nickChangedInfix = " is now known as "
    /// A private message to you: `[PM from alice] text`.
    public static let privateFromPrefix = "[PM from "
    /// `/who`'s answer: `3 members: alice, bob [admin], carol [muted]`.
    public static let whoSeparator = ": "
    /// What a muted member's lines get instead of being relayed: `You are muted.` or
    /// `You are muted for 9m 12s.`
    public static let mutedPrefix = "You are muted"
    /// `/me`'s broadcast: `* alice waves`.
    public static let actionPrefix = "* "
    /// `The nickname admin is reserved. Log in with admin:<password> instead.`
    public static let adminNickReservedPrefix = "The nickname admin is reserved."
    /// A command's usage hint: `Usage: /msg <nick> <text>`.
    public static let usagePrefix = "Usage: "
    /// The commands members type, without their slash (the server's `/help`).
    public static let memberCommands = ["who", "msg", "me", "nick", "login", "help"]
    /// The admin commands (the server's `/help` for admins).
    public static let adminCommands = ["kick", "ban", "unban", "bans", "mute", "unmute", "slowmode", "say"]

    /// The nicknames in a `/who` answer, or nil if `text` is not one.
    public static func whoMembers(_ text: String) -> [String]? {
        guard let separator = text.firstRange(of: whoSeparator) else { return nil }
        let head = text[..<separator.lowerBound].split(separator: " ")
        guard head.count == 2, Int(head[0]) != nil, head[1] == "member" || head[1] == "members" else { return nil }
        let body = text[separator.upperBound...]
        return body.split(separator: ",").compactMap { entry in
            entry.split(separator: " ").first.map(String.init)
        }
    }

    /// `(old, new)` from a rename announcement.
    public static func nickChange(_ text: String) -> (old: String, new: String)? {
        guard text.hasSuffix("."), let infix = text.firstRange(of: nickChangedInfix) else { return nil }
        let old = String(text[..<infix.lowerBound])
        let new = String(text[infix.upperBound...].dropLast())
        guard !old.isEmpty, !new.isEmpty, !old.contains(" "), !new.contains(" ") else { return nil }
        return (old, new)
    }
}
