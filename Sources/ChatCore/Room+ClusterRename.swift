import ChatProtocol

/// `/nick` in a cluster. A nickname is unique across the nodes because each is claimed in
/// Redis, so a rename is a claim of the new nickname, like a join's: the member keeps the
/// old one until the claim is granted, then the rename is announced through the channel
/// (every node shows it in the channel's order), the old nickname is released and the
/// other nodes' rosters follow (a `left` of the old nickname and a `joined` of the new).
/// While the room is split the rename goes ahead on this node's uniqueness alone and the
/// new nickname is claimed when the room is whole, as a join during a split is.
extension Room {
    /// Nil when the rename may go ahead at once (the room is split); otherwise the claim
    /// was sent (`.done`, the rename follows in `renameClaimed`) or the rename refused.
    func claimBeforeRenaming(_ client: ClientID, from oldNick: String, to newNick: String, moderator: Moderator,
                             effects: inout [RoomEffect]) -> CommandResult? {
        guard var part = cluster else { return nil }
        // One claim per connection at a time: the answer names the connection only.
        if part.claims[client] != nil { return refuse(moderator, Notice.nickChangePending, effects: &effects) }
        let key = nicknames.key(newNick)
        if part.claims.values.contains(where: { $0.key == key }) { return refuse(moderator, Notice.nickInUse(newNick), effects: &effects) }
        guard part.linked else { return nil }
        part.claims[client] = PendingClaim(key: key, nick: newNick, account: nil, address: remoteAddress, peer: "", renameFrom: oldNick)
        part.outbox.append(.claimNick(client, key: key, nick: newNick))
        cluster = part
        return .done
    }

    /// The answer to a rename's claim.
    func renameClaimed(_ client: ClientID, from oldNick: String, _ pending: PendingClaim, outcome: ClaimOutcome,
                       effects: inout [RoomEffect]) {
        let granted = if case .granted = outcome { true } else { false }
        guard case let .member(member, peer)? = clients[client] else {
            // Gone while the claim was out: give the new nickname back, unless it is in use here.
            if granted, nickIndex[pending.key] == nil, !isBeingClaimed(pending.key) { cluster!.outbox.append(.releaseNick(key: pending.key)) }
            return
        }
        if case .taken = outcome { return reply(Notice.nickInUse(pending.nick), to: client, effects: &effects) }
        // Taken here meanwhile (a join during a split): the same answer as a single node's.
        if let holder = nickIndex[pending.key], holder != client { return reply(Notice.nickInUse(pending.nick), to: client, effects: &effects) }
        if case .unavailable = outcome, cluster!.linked, !pending.retried {
            // The link failed and came back while the claim was out: claim again, once.
            var again = pending
            again.retried = true
            cluster!.claims[client] = again
            cluster!.outbox.append(.claimNick(client, key: pending.key, nick: pending.nick))
            return
        }
        rename(client, member, peer: peer, to: pending.nick, effects: &effects)
    }

    /// After `rename`: the claims and the other nodes' rosters.
    func clusterRenamed(_ client: ClientID, from oldNick: String, to newNick: String) {
        let oldKey = nicknames.key(oldNick)
        let sameKey = oldKey == nicknames.key(newNick)
        guard cluster!.linked else {
            // Released and announced to the rosters when the room is whole again.
            if !sameKey, cluster!.renamedWhileApart[oldKey] == nil { cluster!.renamedWhileApart[oldKey] = (oldNick, client) }
            return
        }
        if !sameKey { cluster!.outbox.append(.releaseNick(key: oldKey)) }
        cluster!.outbox.append(.publish(.left(nick: oldNick)))
        cluster!.outbox.append(.publish(.joined(nick: newNick)))
    }

    /// On linking: the nicknames given up while apart are released (unless a member here
    /// took one since) and dropped from the other nodes' rosters. Returns the members who
    /// renamed, whose current nickname must be claimed afresh: the link may have claimed
    /// the old one, if they renamed while it was being made.
    func releaseRenamedWhileApart(_ renamed: [String: (nick: String, client: ClientID)]) -> Set<ClientID> {
        var renamers = Set<ClientID>()
        for (key, entry) in renamed {
            if case .member? = clients[entry.client] { renamers.insert(entry.client) }
            guard nickIndex[key] == nil, !isBeingClaimed(key) else { continue }
            cluster!.outbox.append(.releaseNick(key: key))
            cluster!.outbox.append(.publish(.left(nick: entry.nick)))
        }
        return renamers
    }

    private func isBeingClaimed(_ key: String) -> Bool {
        cluster?.claims.values.contains { $0.key == key } ?? false
    }
}
