/// One change to the room's bans, mutes and slowmode, as a node of a cluster sends it to
/// Redis: a script there applies it to the list Redis keeps and publishes the result, so
/// changes made at the same moment on two nodes compose (each applied to the other's
/// result, in Redis's order) instead of the last whole list winning.
///
/// The same change is applied here too, at once and again on top of every list adopted
/// from Redis until its own result comes back (`Room.pendingSanctionChanges`), so this
/// node never shows a moderator's change undone for a moment.
public struct SanctionChange: Equatable, Sendable {
    /// What identifies an entry: one ban, and one mute, per range.
    public struct Target: Equatable, Sendable {
        public var kind: Sanction.Kind
        public var range: IPRange

        public init(kind: Sanction.Kind, range: IPRange) {
            self.kind = kind
            self.range = range
        }
    }

    /// Entries removed first, by kind and range.
    public var remove: [Target]
    /// Entries added, each replacing any entry of its kind and range.
    public var add: [Sanction]
    /// Whether slowmode is set, and to what (nil: off).
    public var setsSlowmode: Bool
    public var slowmode: Int?
    /// `/ban --purge`: the history lines said from this range go, on every node and in Redis.
    public var purge: IPRange?
    /// A node's whole list for a Redis that has none (it restarted without persistence):
    /// applied only if Redis still has none when it runs, so that of several nodes linking
    /// at once only the first one's list is taken (the others' changes made during the
    /// split follow as changes of their own, so an unban made there holds too).
    public var onlyIfNone = false

    public init(remove: [Target] = [], add: [Sanction] = [], setsSlowmode: Bool = false, slowmode: Int? = nil,
                purge: IPRange? = nil) {
        self.remove = remove
        self.add = add
        self.setsSlowmode = setsSlowmode
        self.slowmode = slowmode
        self.purge = purge
    }

    /// `/slowmode` or a reload's change of it.
    public static func slowmode(_ seconds: Int?) -> SanctionChange {
        SanctionChange(setsSlowmode: true, slowmode: seconds)
    }

    /// What `ClusterScripts.changeSanctions` does in Redis (bar dropping expired entries,
    /// which here the Room's tick does, announcing them).
    public func apply(to list: inout [Sanction], slowmode current: inout Int?) {
        // Redis had a list (this one), so the script will have left it alone.
        guard !onlyIfNone else { return }
        let gone = remove + add.map(\.target)
        list.removeAll { gone.contains($0.target) }
        list += add
        if setsSlowmode { current = slowmode }
    }
}

extension Sanction {
    public var target: SanctionChange.Target { SanctionChange.Target(kind: kind, range: range) }
}
