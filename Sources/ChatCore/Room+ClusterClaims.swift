import Bytes
import ChatProtocol

/// Nicknames across the nodes of a cluster: a join (or a member kept through a split)
/// claims its nickname in Redis, whose answer is the same for every node; the member is
/// admitted, refused, or, when the nickname went to another node during a split, renamed.
struct PendingClaim {
    let key: String
    let nick: String
    let account: String?
    let address: IPAddress
    let peer: String
    /// Already a member (joined during a split): the claim confirms the nickname.
    var isMember = false
    /// A member's `/nick` from this nickname: the claim is for the new one.
    var renameFrom: String? = nil
    /// A nickname lost to another node is replaced by a variant (`zed_2`) rather than the
    /// member let go: set for members who renamed during a split, as for the link's claims.
    var renameOnLoss = false
    /// Sent again once already (the link failed and came back while it was out).
    var retried = false
}

/// How a nickname claim ended.
public enum ClaimOutcome: Sendable {
    case granted
    /// Another member, on some node, holds it.
    case taken
    /// The channel is down: the join goes ahead on local uniqueness and the nickname is
    /// claimed again when the room is whole.
    case unavailable
}

extension Room {
    /// The answer to a `.claimNick`.
    public func nickClaimed(_ client: ClientID, outcome: ClaimOutcome, now: RoomTime, effects: inout [RoomEffect]) {
        guard let pending = cluster?.claims.removeValue(forKey: client) else { return }
        if let old = pending.renameFrom { return renameClaimed(client, from: old, pending, outcome: outcome, effects: &effects) }
        if pending.isMember {
            guard case .member? = clients[client] else {
                if case .granted = outcome { cluster!.outbox.append(.releaseNick(key: pending.key)) }
                return
            }
            if case .taken = outcome { return loseNickname(client, nick: pending.nick, rename: pending.renameOnLoss, now: now, effects: &effects) }
            cluster!.outbox.append(.publish(.joined(nick: pending.nick)))
            return
        }
        let held = framesHeldDuringLogin.removeValue(forKey: client) ?? []
        guard case .greeting? = clients[client] else {
            // Gone while the claim was out: give the nickname back.
            if case .granted = outcome { cluster!.outbox.append(.releaseNick(key: pending.key)) }
            return
        }
        if case .taken = outcome {
            return refuse(client, Notice.nickInUse(pending.nick), reason: "nickname in use on another node", peer: pending.peer, effects: &effects)
        }
        admit(client, nick: pending.nick, account: pending.account, address: pending.address, peer: pending.peer,
              claimed: true, now: now, effects: &effects)
        for frame in held where clients[client] != nil {
            frame.withUnsafeBytes { frameReceived($0, from: client, now: now, effects: &effects) }
        }
    }

    /// Whether a join must first claim its nickname; if so the claim is sent and the
    /// connection's frames are held until the answer.
    func claimBeforeJoining(_ client: ClientID, key: String, nick: String, account: String?, address: IPAddress, peer: String,
                            effects: inout [RoomEffect]) -> Bool {
        guard var part = cluster, part.linked else { return false }
        if part.claims.values.contains(where: { $0.key == key }) {
            refuse(client, Notice.nickInUse(nick), reason: "nickname in use", peer: peer, effects: &effects)
            return true
        }
        part.claims[client] = PendingClaim(key: key, nick: nick, account: account, address: address, peer: peer)
        part.outbox.append(.claimNick(client, key: key, nick: nick))
        cluster = part
        if framesHeldDuringLogin[client] == nil { framesHeldDuringLogin[client] = [] }
        return true
    }

    /// Two members took the same nickname on two nodes while the room was split. The
    /// node that claimed it first keeps it (Redis decided, the same answer for every node);
    /// this node's member is renamed (`zed_2`, claimed like a join) and told why, or, when
    /// no variant is free or the variant is lost too, let go with a notice.
    func loseNickname(_ client: ClientID, nick: String, rename: Bool, now: RoomTime, effects: inout [RoomEffect]) {
        guard case .member(var member, let peer)? = clients[client] else { return }
        // Not this node's to release: the other node's member holds it now.
        cluster!.outbox.removeAll { $0 == .releaseNick(key: nicknames.key(nick)) }
        if rename, let renamed = freeVariant(of: nick) {
            let key = nicknames.key(renamed)
            nickIndex[nicknames.key(nick)] = nil
            nickIndex[key] = client
            member.nick = renamed
            member.chatPrefix = Array(ServerReply.chatLine(renamed, "").utf8)
            clients[client] = .member(member, peer: peer)
            noteChanged(client)
            cluster!.claims[client] = PendingClaim(key: key, nick: renamed, account: nil, address: member.address, peer: peer, isMember: true)
            cluster!.outbox.append(.claimNick(client, key: key, nick: renamed))
            effects.append(.send(FrameEncoder.frame(Notice.renamedAfterSplit(nick, renamed)), to: client))
            effects.append(.log(RoomLogRecord(level: .notice, event: "nick", message: "\(nick) is now known as \(renamed): the nickname was taken on another node during a split",
                                              fields: ["chat_nick": renamed, "chat_old_nick": nick, "chat_peer": peer])))
            return
        }
        removeMember(client, member)
        cluster!.outbox.removeAll { $0 == .releaseNick(key: nicknames.key(nick)) }
        effects.append(.send(FrameEncoder.frame(Notice.nickTakenDuringSplit(nick)), to: client))
        effects.append(.close(client, reason: "nickname taken on another node during a split"))
        effects.append(.log(leaveRecord(member, peer: peer, reason: "nickname taken on another node during a split")))
    }

    /// `nick_2` ... `nick_9`: the first that is valid and held by no member this node knows.
    private func freeVariant(of nick: String) -> String? {
        for number in 2...9 {
            let candidate = "\(nick.utf8.count > Nickname.maximumByteCount - 2 ? String(nick.prefix(Nickname.maximumByteCount / 2)) : nick)_\(number)"
            let key = nicknames.key(candidate)
            if nicknames.problem(with: candidate) == nil, nickIndex[key] == nil, cluster?.remote[key] == nil { return candidate }
        }
        return nil
    }
}
