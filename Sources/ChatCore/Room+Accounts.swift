import ChatProtocol

extension Room {
    /// A new configuration (a reload). Privileges follow it: a member logged in with an
    /// account that is gone, or whose password hash changed, is an admin no longer and is
    /// told why; one holding the reserved admin nick is disconnected, since the nick
    /// would otherwise pass for an admin.
    public func reconfigure(_ next: Configuration, now: RoomTime, effects: inout [RoomEffect]) {
        let previous = configuration.accounts
        configuration = next
        for client in memberOrder {
            guard case let .member(member, peer)? = clients[client], let account = member.account else { continue }
            let kept = next.accounts[account]
            if let kept, kept.fingerprint == previous[account]?.fingerprint { continue }
            let reason = kept == nil ? "the account \(account) was removed" : "the password of the account \(account) changed"
            effects.append(.log(RoomLogRecord(level: .notice, event: "admin-logout",
                                              message: "\(member.nick) is no longer an admin: \(reason)",
                                              fields: ["chat_nick": member.nick, "chat_account": account, "chat_peer": peer,
                                                       "chat_reason": reason])))
            if nicknames.isAdminNick(member.nick) {
                removeMember(client, member)
                effects.append(.send(FrameEncoder.frame(Notice.adminLoggedOut(reason: reason, disconnected: true)), to: client))
                effects.append(.close(client, reason: "admin logged out: \(reason)"))
                announceLeave(member, now: now, effects: &effects)
            } else {
                var demoted = member
                demoted.isAdmin = false
                demoted.account = nil
                clients[client] = .member(demoted, peer: peer)
                noteChanged(client)
                reply(Notice.adminLoggedOut(reason: reason, disconnected: false), to: client, effects: &effects)
            }
        }
    }
}
