/// What makes a nickname acceptable, and when two nicknames are "the same".
///
/// The Room asks its configuration's rules, never a fixed table, so the daemon can give it
/// Unicode-aware rules (ICU's confusable skeletons, in `NicknameProfile`) while ChatCore
/// stays free of C and its tests use the pure-Swift `Nickname` rules.
public protocol NicknameRules: Sendable {
    /// Why `nick` may not be used, or nil if it may.
    func problem(with nick: String) -> Nickname.Problem?
    /// Two nicknames with the same key cannot both be in the room, and a command naming
    /// one finds the other. The nickname itself is kept and shown as given.
    func key(_ nick: String) -> String
    /// Whether `nick` is, or passes for, the reserved `Nickname.adminNick`.
    func isAdminNick(_ nick: String) -> Bool
}

extension NicknameRules {
    public func isAdminNick(_ nick: String) -> Bool { key(nick) == key(Nickname.adminNick) }
}

extension Room {
    /// The rules in force (they change with the configuration on reload).
    var nicknames: any NicknameRules { configuration.nicknameRules }
}
