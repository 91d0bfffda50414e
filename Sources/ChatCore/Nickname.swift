/// The rules a nickname must meet, and the case-insensitive key that makes two
/// nicknames "the same" for uniqueness.
public enum Nickname {
    public static let maximumByteCount = 32
    public static let adminNick = "admin"

    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        case empty
        case tooLong
        case containsWhitespaceOrControl
        case noLetterOrDigit
        /// `/ban 10.0.0.1` must not be able to mean a member.
        case looksLikeAnAddress

        public var description: String {
            switch self {
            case .empty: return "it is empty"
            case .tooLong: return "it is longer than \(Nickname.maximumByteCount) bytes"
            case .containsWhitespaceOrControl: return "it contains spaces or control characters"
            case .noLetterOrDigit: return "it needs at least one letter or digit"
            case .looksLikeAnAddress: return "it looks like an IP address"
            }
        }
    }

    public static func problem(with nick: String) -> Problem? {
        if nick.isEmpty { return .empty }
        if nick.utf8.count > maximumByteCount { return .tooLong }
        var hasLetterOrDigit = false
        for scalar in nick.unicodeScalars {
            let properties = scalar.properties
            if properties.isWhitespace || properties.generalCategory == .control
                || properties.generalCategory == .format || properties.generalCategory == .lineSeparator
                || properties.generalCategory == .paragraphSeparator {
                return .containsWhitespaceOrControl
            }
            if properties.isAlphabetic || properties.numericType != nil { hasLetterOrDigit = true }
        }
        guard hasLetterOrDigit else { return .noLetterOrDigit }
        return IPRange(parsing: nick) == nil ? nil : .looksLikeAnAddress
    }

    /// Uniqueness ignores case: `Alice` and `alice` cannot both be in the room.
    public static func key(_ nick: String) -> String { nick.lowercased() }

    public static func isAdminNick(_ nick: String) -> Bool { key(nick) == adminNick }
}
