import ChatProtocol

/// The nicknames the client has seen, for Tab completion: learned from `/who` answers,
/// join and leave notices, renames and who speaks.
public struct NickBook: Sendable {
    /// Most recently seen last.
    public private(set) var nicks: [String] = []

    public init() {}

    public mutating func learn(from frame: String) {
        if let members = ServerReply.whoMembers(frame) {
            members.forEach { add($0) }
        } else if frame.hasSuffix(ServerReply.joinedSuffix) {
            add(String(frame.dropLast(ServerReply.joinedSuffix.count)))
        } else if frame.hasPrefix(ServerReply.leftPrefix), frame.hasSuffix("]") {
            remove(String(frame.dropFirst(ServerReply.leftPrefix.count).dropLast()))
        } else if let change = ServerReply.nickChange(frame) {
            remove(change.old)
            add(change.new)
        } else if let speaker = Self.speaker(of: frame) {
            add(speaker)
        }
    }

    public mutating func add(_ nick: String) {
        guard Self.isPlausible(nick) else { return }
        remove(nick)
        nicks.append(nick)
    }

    public mutating func remove(_ nick: String) {
        nicks.removeAll { $0 == nick }
    }

    /// Known nicknames starting with `prefix` (case-insensitively), most recent first.
    public func matches(_ prefix: String) -> [String] {
        let key = prefix.lowercased()
        return nicks.reversed().filter { $0.lowercased().hasPrefix(key) }
    }

    /// `alice` in `alice: hi`, `* alice waves`, `[PM from alice] hi`, `[history …] alice: hi`.
    public static func speaker(of frame: String) -> String? {
        var line = Substring(frame)
        if line.hasPrefix(ServerReply.historyPrefix), let close = line.firstIndex(of: "]") {
            line = line[line.index(after: close)...].drop { $0 == " " }
        }
        if line.hasPrefix(ServerReply.privateFromPrefix), let close = line.firstIndex(of: "]") {
            return String(line[line.index(line.startIndex, offsetBy: ServerReply.privateFromPrefix.count)..<close])
        }
        if line.hasPrefix(ServerReply.actionPrefix) {
            let nick = line.dropFirst(ServerReply.actionPrefix.count).prefix { $0 != " " }
            return nick.isEmpty ? nil : String(nick)
        }
        if line.hasPrefix(ServerReply.topicPrefix) || line.hasPrefix(ServerReply.usagePrefix) { return nil }
        guard let separator = line.firstRange(of: ServerReply.chatSeparator) else { return nil }
        let nick = line[..<separator.lowerBound]
        guard isPlausible(String(nick)), !nick.hasPrefix("[") else { return nil }
        return String(nick)
    }

    /// What the server accepts as a nickname, roughly: no spaces, at most 32 bytes.
    static func isPlausible(_ nick: String) -> Bool {
        !nick.isEmpty && nick.utf8.count <= 32 && !nick.contains(where: \.isWhitespace)
    }
}

/// What Tab does with the word before the cursor.
public enum Completion {
    /// The commands a member can type, with their slash.
    public static let commands = (ServerReply.memberCommands + ServerReply.adminCommands + ["quit"]).map { "/" + $0 }

    public enum Result: Equatable, Sendable {
        /// Replace the word with this text.
        case replace(String)
        /// Several candidates share no longer prefix: list them.
        case candidates([String])
        case none
    }

    /// Completes `word`: a command at the start of the line, otherwise a nickname
    /// (followed by `: ` at the start of the line, as one addresses someone).
    public static func complete(_ word: String, atLineStart: Bool, nicks: NickBook) -> Result {
        guard !word.isEmpty else { return .none }
        let isCommand = atLineStart && word.hasPrefix("/")
        let candidates = isCommand ? commands.filter { $0.hasPrefix(word.lowercased()) } : nicks.matches(word)
        switch candidates.count {
        case 0: return .none
        case 1: return .replace(candidates[0] + (isCommand ? " " : atLineStart ? ": " : " "))
        default:
            let common = commonPrefix(candidates)
            return common.count > word.count ? .replace(common) : .candidates(candidates)
        }
    }

    static func commonPrefix(_ words: [String]) -> String {
        guard var prefix = words.first.map(Array.init) else { return "" }
        for word in words.dropFirst() {
            let characters = Array(word)
            var length = 0
            while length < min(prefix.count, characters.count)
                    && String(prefix[length]).lowercased() == String(characters[length]).lowercased() { length += 1 }
            prefix = Array(prefix[..<length])
        }
        return String(prefix)
    }
}
