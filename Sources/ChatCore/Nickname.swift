/// The rules a nickname must meet, and the case-insensitive key that makes two
/// nicknames "the same" for uniqueness: the pure-Swift rules, which the Room uses unless
/// its configuration carries others (the daemon's are Unicode-aware, see `NicknameRules`).
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
        /// A character that does not show (default-ignorable: joiners, variation selectors,
        /// fillers), so `adm\u{34F}in` would display as `admin`.
        case invisibleCharacter(Unicode.Scalar)
        /// A character nicknames may not use (unassigned, private use, or outside the
        /// identifier characters, ASCII punctuation and emoji), named in the reason.
        case disallowedCharacter(Unicode.Scalar)
        /// Combining marks that would not be seen: the same mark twice, or a dot over `i`.
        case hiddenMarks

        public var description: String {
            switch self {
            case .empty: return "it is empty"
            case .tooLong: return "it is longer than \(Nickname.maximumByteCount) bytes"
            case .containsWhitespaceOrControl: return "it contains spaces or control characters"
            case .noLetterOrDigit: return "it needs at least one letter or digit"
            case .looksLikeAnAddress: return "it looks like an IP address"
            case let .invisibleCharacter(scalar): return "it contains an invisible character (\(Self.name(scalar)))"
            case let .disallowedCharacter(scalar): return "it contains \(Self.name(scalar)), which nicknames may not use"
            case .hiddenMarks: return "it contains combining marks that would not be visible"
            }
        }

        /// `U+034F COMBINING GRAPHEME JOINER`: the reason must name a character that the
        /// reader may not be able to see.
        static func name(_ scalar: Unicode.Scalar) -> String {
            let hex = String(scalar.value, radix: 16, uppercase: true)
            let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            guard let name = scalar.properties.name ?? scalar.properties.nameAlias else { return code }
            return code + " " + name
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

    /// These rules as a `NicknameRules` value, the Room's default.
    public static let basicRules: any NicknameRules = BasicNicknameRules()
}

/// `Nickname`'s pure-Swift rules: no Unicode tables beyond the standard library's.
public struct BasicNicknameRules: NicknameRules {
    public init() {}
    public func problem(with nick: String) -> Nickname.Problem? { Nickname.problem(with: nick) }
    public func key(_ nick: String) -> String { Nickname.key(nick) }
    public func isAdminNick(_ nick: String) -> Bool { Nickname.isAdminNick(nick) }
}
