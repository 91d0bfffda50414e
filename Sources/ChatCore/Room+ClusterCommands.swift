import ChatProtocol

/// Commands and sanctions across the nodes of a cluster: `/who` with every node's members,
/// `/kick`, `/ban` and `/mute` of a member of another node (the shared list of bans, mutes
/// and slowmode is in `Room+ClusterSanctions.swift`).
extension Room {
    /// `/ban` or `/mute` of a member of another node: run by that node. Nil when the
    /// target is not another node's member.
    func forwardToMembersNode(_ target: String, _ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult? {
        guard member(named: target) == nil, let remote = remoteMember(named: target),
              publishToOthers(.command(target: remote.nick, name: call.command.name, arguments: call.arguments, by: call.moderator.name))
        else { return nil }
        if call.moderator.client == nil { tell(call.moderator, "Sent to node \(remote.node), which has \(remote.nick).", effects: &effects) }
        return .done
    }

    /// Expiry in a cluster: every node expires its own copy, so each tells its own members.
    func announceExpiry(_ text: String, effects: inout [RoomEffect]) {
        if cluster != nil { deliverLocally(text, effects: &effects) } else { broadcast(text, effects: &effects) }
    }

}

/// A member of the room in a cluster, on this node or another: what `/who` and
/// `chatroomctl who` list. `local` is nil for another node's member (its node knows more).
public struct ClusterMemberInfo: Sendable {
    public let nick: String
    public let node: String
    public let local: Room.MemberInfo?
}

extension Room {
    /// Every member of every node, each with its node, by nickname key: the one list behind
    /// `/who` and `chatroomctl who` in a cluster. Only this node's while the room is split.
    public func clusterMembers(now: RoomTime) -> [ClusterMemberInfo] {
        guard let node = clusterNode else { return [] }
        var entries = memberList(now: now).map { ClusterMemberInfo(nick: $0.nick, node: node, local: $0) }
        for remote in remoteMembers { entries.append(ClusterMemberInfo(nick: remote.nick, node: remote.node, local: nil)) }
        return entries.map { (nicknames.key($0.nick), $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// `/who` in a cluster: every member of every node, each with its node.
    func clusterWhoLine(now: RoomTime) -> String {
        let entries = clusterMembers(now: now).map { entry in
            entry.nick + " (\(entry.node))" + (entry.local?.isAdmin == true ? " [admin]" : "") + (entry.local?.isMuted == true ? " [muted]" : "")
        }
        return "\(entries.count) member\(entries.count == 1 ? "" : "s"): " + entries.joined(separator: ", ")
    }

    /// `/kick` of a member of another node: that node disconnects them, this one tells the room.
    func kickRemote(_ remote: (nick: String, node: String), reason: String?, by moderator: Moderator,
                    effects: inout [RoomEffect]) -> CommandResult {
        guard publishToOthers(.kick(nick: remote.nick, reason: reason, by: moderator.name)) else {
            return refuse(moderator, Notice.noSuchMember(remote.nick), effects: &effects)
        }
        broadcast(Notice.kicked(remote.nick, reason: reason), effects: &effects)
        var fields = ["chat_target": remote.nick, "chat_by": moderator.name, "chat_node": remote.node]
        if let reason { fields["chat_reason"] = reason }
        effects.append(.log(RoomLogRecord(level: .notice, event: "kick",
                                          message: "\(remote.nick) (node \(remote.node)) was kicked by \(moderator.name)" + (reason.map { ": \($0)" } ?? ""),
                                          fields: fields)))
        if moderator.client == nil { tell(moderator, "Kicked \(remote.nick).", effects: &effects) }
        return .done
    }
}
