import Bytes
import ChatProtocol

/// What the Room asks of the other nodes of its cluster (the daemon carries it out over
/// Redis). Kept apart from `RoomEffect`, whose vocabulary is the single node's: a Room that
/// is not in a cluster never produces one.
public enum ClusterEffect: Equatable, Sendable {
    /// Send this to every node, this one included; it is shown here when it comes back.
    case publish(ClusterMessage.Body)
    /// Claim `key` (a nickname's comparison key) for this node; answer with `nickClaimed`.
    case claimNick(ClientID, key: String, nick: String)
    /// The member holding `key` left: the nickname is free again.
    case releaseNick(key: String)
    /// Apply this change to the sanctions Redis keeps and publish the result (a
    /// `.sanctions` message, which comes back to every node, this one included).
    case changeSanctions(SanctionChange)
}

/// The Room's side of a cluster: one room spread over several processes joined by a
/// channel that gives every node the same order. The Room never talks to the channel
/// itself: lines go out as `ClusterEffect`s and come back as `clusterReceived`, which is
/// the only place a line reaches local members while the link is up, so every member on
/// every node sees the same sequence, the speaker's own echo included.
struct ClusterPart {
    let node: String
    /// Whether lines go through the channel; while false the room is split and this node's
    /// members chat among themselves as a single node would.
    var linked = false
    /// Other nodes' members, by nickname key, with their node.
    var remote: [String: (nick: String, node: String)] = [:]
    /// Joins waiting for their nickname claim, by connection.
    var claims: [ClientID: PendingClaim] = [:]
    var outbox: [ClusterEffect] = []
    /// Members were told the room is split, and are owed the news that it is whole again.
    /// False in a process that took over from another (a restart): its members were
    /// never told of a split, so its first link is silent.
    var toldSplit = false
    /// Nicknames this node's members gave up in a rename while the room was split (or
    /// being linked), by key: still claimed in Redis for this node, released on linking.
    var renamedWhileApart: [String: (nick: String, client: ClientID)] = [:]
    /// Members of a node that was reaped (announced here as gone), by key, with their node:
    /// if that node links again with them (it restarted after a crash, or was only slow),
    /// they are announced as joined again. Dropped once that node says anything else.
    var reaped: [String: String] = [:]
    /// Sanction changes made here whose result has not come back from Redis yet, oldest
    /// first (sent, or made while split and sent when whole again): applied again on top
    /// of every list adopted meanwhile (`Room+ClusterSanctions.swift`).
    var pendingSanctions: [SanctionChange] = []
}

/// Where a history line from another node came from: unknown, so a ban's purge by
/// address range leaves it alone.
let remoteAddress = IPAddress.v6(0, 0)

extension Room {
    /// Makes this Room one node of a cluster. Until `clusterLinked` it behaves
    /// as a single node.
    public func joinCluster(node: String) {
        cluster = ClusterPart(node: node)
    }

    public var clusterNode: String? { cluster?.node }
    public var isClusterLinked: Bool { cluster?.linked ?? false }

    /// What the daemon must carry out for the cluster since it last asked.
    public func takeClusterEffects() -> [ClusterEffect] {
        guard cluster != nil, !cluster!.outbox.isEmpty else { return [] }
        // Handed over whole: emptying it in place would copy the storage the caller holds.
        let batch = cluster!.outbox
        cluster!.outbox = []
        return batch
    }

    /// Members of other nodes, nick and node, sorted by nick.
    public var remoteMembers: [(nick: String, node: String)] {
        (cluster?.remote.values.map { ($0.nick, $0.node) } ?? []).sorted { $0.0 < $1.0 }
    }

    /// This node's members, for a claim of each after the link came back.
    public func localNicknames() -> [(client: ClientID, key: String, nick: String)] {
        memberOrder.compactMap { id in
            guard case let .member(member, _)? = clients[id] else { return nil }
            return (id, nicknames.key(member.nick), member.nick)
        }
    }

    /// The link to the other nodes is down: lines reach this node's members only, and
    /// they are told so once.
    public func clusterSplit(reason: String, now: RoomTime, effects: inout [RoomEffect]) {
        guard let part = cluster, part.linked else { return }
        cluster!.linked = false
        cluster!.remote.removeAll()
        effects.append(.log(RoomLogRecord(level: .warning, event: "cluster-split",
                                          message: "Lost the link to the cluster (\(reason)): lines reach this node's members only",
                                          fields: ["chat_node": part.node, "chat_reason": reason])))
        deliverLocally(Notice.clusterSplit, effects: &effects)
        cluster!.toldSplit = true
    }

    /// The link is up (again) and this node's nicknames were claimed, as listed by
    /// `localNicknames()` when the link was being made: `claims` says which this node holds
    /// (a nickname another node claimed during a split stays with that node, the same answer
    /// on every node, since Redis decided it); `roster` is the other nodes' members;
    /// `departed` are members that left here while the link was down.
    public func clusterLinked(claims: [ClientID: Bool], roster: [(nick: String, node: String)], departed: [String],
                              history: [History.Entry] = [], state: [ClusterMessage] = [], now: RoomTime, effects: inout [RoomEffect]) {
        guard let part = cluster, !part.linked else { return }
        cluster!.linked = true
        cluster!.remote = [:]
        for entry in roster { cluster!.remote[nicknames.key(entry.nick)] = entry }
        effects.append(.log(RoomLogRecord(level: .notice, event: "cluster-linked",
                                          message: "Linked to the cluster as node \(part.node) with \(memberOrder.count) member(s) here, \(roster.count) elsewhere",
                                          fields: ["chat_node": part.node])))
        // Redis holds the room's history, bans, mutes and topic: a node that links takes
        // them (lines said here during a split stay out of the shared history).
        if !history.isEmpty { self.history = History(limit: configuration.historyLimit, entries: Array(history.suffix(configuration.historyLimit))) }
        linkSanctions(redisHasList: state.contains { if case .sanctions = $0.body { return true } else { return false } }, now: now)
        for message in state {
            switch message.body {
            case let .sanctions(list, slowmode, _): adoptSanctions(list, slowmode: slowmode, now: now, effects: &effects)
            case let .topic(text, setBy, setAt):
                topic = text.map { Topic(text: $0, setBy: setBy, setAt: setAt) }
                effects.append(.durableStateChanged)
            default: break
            }
        }
        let renamed = cluster!.renamedWhileApart
        cluster!.renamedWhileApart = [:]
        for nick in departed {
            // A rename during the split is not a leave: released below, with no notice.
            if let entry = renamed[nicknames.key(nick)], case .member? = clients[entry.client] { continue }
            cluster!.outbox.append(.publish(.left(nick: nick)))
            broadcast(Notice.left(nick), effects: &effects)
        }
        let renamedClients = releaseRenamedWhileApart(renamed)
        for (client, key, nick) in localNicknames() {
            // Renamed while apart: the link may have claimed the old nickname; claim the new.
            switch renamedClients.contains(client) ? nil : claims[client] {
            case true?:
                cluster!.outbox.append(.publish(.joined(nick: nick)))
            case false?:
                loseNickname(client, nick: nick, rename: true, now: now, effects: &effects)
            case nil:
                // Joined while the link was being made, or renamed while apart: claimed now.
                cluster!.claims[client] = PendingClaim(key: key, nick: nick, account: nil, address: remoteAddress, peer: "", isMember: true,
                                                       renameOnLoss: renamedClients.contains(client))
                cluster!.outbox.append(.claimNick(client, key: key, nick: nick))
            }
        }
        // After the claims, so a member who lost its nickname hears only why.
        if cluster!.toldSplit, !memberOrder.isEmpty { deliverLocally(Notice.clusterWhole, effects: &effects) }
        cluster!.toldSplit = false
    }

    /// A message from the channel, in the channel's order.
    public func clusterReceived(_ message: ClusterMessage, now: RoomTime, effects: inout [RoomEffect]) {
        guard let node = cluster?.node else { return }
        switch message.body {
        case let .line(text, kept, from):
            // A node that speaks has finished re-linking: members it did not claim again stay gone.
            if !cluster!.reaped.isEmpty, message.node != node { cluster!.reaped = cluster!.reaped.filter { $0.value != message.node } }
            deliverLocally(text, effects: &effects)
            if kept {
                relayedMessageCount &+= 1
                if history.limit > 0 { history.append(History.Entry(unixSeconds: now.unixSeconds, text: text, address: from ?? remoteAddress)) }
            }
        case let .joined(nick):
            guard message.node != node else { return }
            let key = nicknames.key(nick)
            if cluster!.reaped[key] == message.node {
                // Back after this node announced it gone: its node re-linked, claiming it again.
                cluster!.reaped[key] = nil
                if cluster!.remote[key] == nil { deliverLocally(Notice.joined(nick), effects: &effects) }
            }
            cluster!.remote[key] = (nick, message.node)
        case let .left(nick):
            guard message.node != node else { return }
            let key = nicknames.key(nick)
            if cluster!.remote[key]?.node == message.node { cluster!.remote[key] = nil }
        case .linkMarker:
            return
        case let .privateMessage(from, to, text):
            guard message.node != node, let (target, _, _) = member(named: to) else { return }
            effects.append(.send(FrameEncoder.frame(Notice.privateFrom(from, text)), to: target))
        case let .kick(nick, reason, by):
            guard message.node != node, let (target, member, peer) = member(named: nick) else { return }
            removeMember(target, member)
            effects.append(.send(FrameEncoder.frame(Notice.youWereKicked(reason: reason)), to: target))
            effects.append(.close(target, reason: "kicked by \(by) on node \(message.node)" + (reason.map { ": \($0)" } ?? "")))
            effects.append(.log(leaveRecord(member, peer: peer, reason: "kicked by \(by) on node \(message.node)")))
        case let .command(target, name, arguments, by):
            guard message.node != node, member(named: target) != nil else { return }
            _ = control(name, arguments: arguments, actor: by, now: now, effects: &effects)
        case let .sanctions(list, slowmode, purged):
            // This node's own result too: it confirms the oldest change still pending.
            if message.node == node, !cluster!.pendingSanctions.isEmpty { cluster!.pendingSanctions.removeFirst() }
            adoptSanctions(list, slowmode: slowmode, purged: purged, now: now, effects: &effects)
        case let .topic(text, setBy, setAt):
            guard message.node != node else { return }
            topic = text.map { Topic(text: $0, setBy: setBy, setAt: setAt) }
            effects.append(.durableStateChanged)
        case let .nodeGone(nicks):
            guard message.node != node else { return }
            for nick in nicks {
                let key = nicknames.key(nick)
                if cluster!.remote[key]?.node == message.node { cluster!.remote[key] = nil }
                cluster!.reaped[key] = message.node
                deliverLocally(Notice.left(nick), effects: &effects)
            }
            guard !nicks.isEmpty else { return }
            effects.append(.log(RoomLogRecord(level: .notice, event: "cluster-node-gone",
                                              message: "Node \(message.node) is gone with \(nicks.count) member(s)",
                                              fields: ["chat_node": message.node])))
        }
    }

    // MARK: For the rest of the Room

    /// A text for the whole room: through the channel while linked, else straight to the
    /// local members. `kept` lines go into the history.
    func publishOrBroadcast(_ text: String, kept: Bool, from speaker: IPAddress? = nil, effects: inout [RoomEffect]) -> Bool {
        guard cluster?.linked == true else { return false }
        cluster!.outbox.append(.publish(.line(text, kept: kept, from: kept ? speaker : nil)))
        return true
    }

    /// A member of this node joined (true) or left: the other nodes' rosters, and the claim.
    func clusterMembership(_ nick: String, joined: Bool) {
        guard cluster != nil else { return }
        if !joined { cluster!.outbox.append(.releaseNick(key: nicknames.key(nick))) }
        if cluster!.linked { cluster!.outbox.append(.publish(joined ? .joined(nick: nick) : .left(nick: nick))) }
    }

    /// A member of another node, by nickname, while linked.
    func remoteMember(named nick: String) -> (nick: String, node: String)? {
        guard let part = cluster, part.linked else { return nil }
        return part.remote[nicknames.key(nick)]
    }

    /// Sends `body` to the other nodes; false when not linked.
    func publishToOthers(_ body: ClusterMessage.Body) -> Bool {
        guard cluster?.linked == true else { return false }
        cluster!.outbox.append(.publish(body))
        return true
    }

    func deliverLocally(_ text: String, effects: inout [RoomEffect]) {
        guard !memberOrder.isEmpty else { return }
        effects.append(.broadcast(FrameEncoder.frame(text), to: memberOrder))
    }
}

