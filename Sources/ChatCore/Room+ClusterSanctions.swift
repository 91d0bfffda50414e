import ChatProtocol

/// The room's bans, mutes and slowmode across the nodes of a cluster. Redis keeps the one
/// list; a node never publishes its own list, only a change (`SanctionChange`), which a
/// script applies to Redis' list atomically before publishing the result. Every node,
/// the changing one included, adopts each result in the channel's order, so two changes
/// made at the same moment on two nodes both hold, and every node ends with Redis' list.
///
/// A change is applied here at once as well (the moderator sees it, banned members go at
/// once) and stays pending until its own result comes back; a list adopted meanwhile has
/// the pending changes applied on top, so it never looks undone here. Changes made while
/// the room is split are pending too and are sent when it is whole again, applied to
/// whatever Redis holds by then: a ban set on either side of a split holds on every node
/// afterwards; an unban undoes what its node saw (a ban of the same range set on the other
/// side during the split is lifted too, being older in Redis' order).
extension Room {
    /// A change made on this node: applied to `sanctions` already by the caller; sent to
    /// Redis now, or when the room is whole again.
    func shareSanctionChange(_ change: SanctionChange) {
        guard cluster != nil else { return }
        cluster!.pendingSanctions.append(change)
        if cluster!.linked { cluster!.outbox.append(.changeSanctions(change)) }
    }

    /// On linking, before Redis' list (if any) is adopted: every change not confirmed yet
    /// goes (again) to Redis. With no list in Redis (a fresh Redis, or one restarted
    /// without persistence), this node's whole list is sent first, taken only if no other
    /// node's got there first, so the first change after the restart does not wipe the
    /// room's bans.
    func linkSanctions(redisHasList: Bool, now: RoomTime) {
        guard cluster != nil else { return }
        cluster!.pendingSanctions.removeAll { $0.onlyIfNone }
        if !redisHasList {
            var seed = SanctionChange(add: sanctions.filter { !$0.isExpired(at: now.unixSeconds) },
                                      setsSlowmode: slowmodeSeconds != nil, slowmode: slowmodeSeconds)
            seed.onlyIfNone = true
            // An empty list is not sent: a node with none (a new one) must not stand in
            // the way of one that has some.
            if !seed.add.isEmpty || seed.setsSlowmode { cluster!.pendingSanctions.insert(seed, at: 0) }
        }
        for change in cluster!.pendingSanctions { cluster!.outbox.append(.changeSanctions(change)) }
    }

    /// Redis' list, from the channel or the link script: taken as it is, with this node's
    /// pending changes on top, saved, and its bans enforced on this node's members
    /// (announced to the whole room, since only this node knows who they were). An entry
    /// that has expired by this node's clock is left out, unless this node still holds it
    /// (its tick then announces the expiry, once).
    func adoptSanctions(_ list: [Sanction], slowmode: Int?, purged: IPRange? = nil, now: RoomTime, effects: inout [RoomEffect]) {
        var adopted = list.filter { !$0.isExpired(at: now.unixSeconds) || sanctions.contains($0) }
        var adoptedSlowmode = slowmode
        for change in cluster?.pendingSanctions ?? [] { change.apply(to: &adopted, slowmode: &adoptedSlowmode) }
        sanctions = adopted
        slowmodeSeconds = adoptedSlowmode
        if let purged { _ = history.purge(purged) }
        effects.append(.durableStateChanged)
        for id in memberOrder {
            guard case let .member(victim, _)? = clients[id], let ban = activeBan(for: victim.address, now: now) else { continue }
            removeMember(id, victim)
            let seconds = ban.secondsLeft(at: now)
            effects.append(.send(FrameEncoder.frame(Notice.youWereBanned(seconds: seconds, reason: ban.reason)), to: id))
            effects.append(.close(id, reason: "banned by \(ban.setBy) on another node"))
            if ban.nick.map(nicknames.key) != nicknames.key(victim.nick) {
                broadcast(Notice.banned(victim.nick, seconds: seconds, reason: ban.reason), effects: &effects)
            }
        }
    }

    /// Changes sent to Redis whose result has not come back (tests, `chatroomctl stats`).
    public var pendingSanctionChanges: [SanctionChange] { cluster?.pendingSanctions ?? [] }
}
