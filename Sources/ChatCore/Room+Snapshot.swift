import ChatProtocol

/// The Room's state as one value, for handing every connection to the next process on a
/// planned restart: who is connected (greeting or member, with nick, admin login, flood
/// and slowmode state), and the room's own state (sanctions, history, topic, slowmode).
/// `Codable` with nothing but the standard library, so the daemon chooses the encoding.
public struct RoomSnapshot: Codable, Sendable, Equatable {
    /// This format's version: a daemon refuses a snapshot newer than it knows.
    public static let currentVersion = 1
    public var version: Int

    public struct Connection: Codable, Sendable, Equatable {
        /// The connection's ID in the process that took the snapshot.
        public var id: UInt64
        public var address: String
        public var peer: String
        /// Monotonic nanoseconds (the same clock across processes on one boot).
        public var openedAt: UInt64
        /// Nil while the connection has not joined.
        public var member: Member?

        public init(id: UInt64, address: String, peer: String, openedAt: UInt64, member: Member?) {
            (self.id, self.address, self.peer, self.openedAt, self.member) = (id, address, peer, openedAt, member)
        }
    }

    public struct Member: Codable, Sendable, Equatable {
        public var nick: String
        public var isAdmin: Bool
        public var account: String?
        public var floodTokens: Double
        public var floodUpdatedAt: UInt64
        public var floodStrikes: Int
        public var lastMessageAt: UInt64?

        public init(nick: String, isAdmin: Bool, account: String?, floodTokens: Double, floodUpdatedAt: UInt64,
                    floodStrikes: Int, lastMessageAt: UInt64?) {
            (self.nick, self.isAdmin, self.account) = (nick, isAdmin, account)
            (self.floodTokens, self.floodUpdatedAt, self.floodStrikes, self.lastMessageAt) = (floodTokens, floodUpdatedAt, floodStrikes, lastMessageAt)
        }
    }

    public struct StoredSanction: Codable, Sendable, Equatable {
        public var kind: String
        public var range: String
        public var nick: String?
        public var reason: String?
        public var setBy: String
        public var setAt: Int64
        public var expiresAt: Int64?

        public init(kind: String, range: String, nick: String?, reason: String?, setBy: String, setAt: Int64, expiresAt: Int64?) {
            (self.kind, self.range, self.nick, self.reason) = (kind, range, nick, reason)
            (self.setBy, self.setAt, self.expiresAt) = (setBy, setAt, expiresAt)
        }
    }

    public struct Line: Codable, Sendable, Equatable {
        public var unixSeconds: Int64
        public var text: String
        public var address: String

        public init(unixSeconds: Int64, text: String, address: String) {
            (self.unixSeconds, self.text, self.address) = (unixSeconds, text, address)
        }
    }

    /// Members in broadcast order, then connections still greeting.
    public var connections: [Connection]
    public var sanctions: [StoredSanction]
    public var history: [Line]
    public var topic: String?
    public var topicSetBy: String?
    public var topicSetAt: Int64?
    public var slowmodeSeconds: Int?
    public var relayedMessageCount: UInt64

    public init(version: Int, connections: [Connection], sanctions: [StoredSanction], history: [Line], topic: String?,
                topicSetBy: String?, topicSetAt: Int64?, slowmodeSeconds: Int?, relayedMessageCount: UInt64) {
        (self.version, self.connections, self.sanctions, self.history) = (version, connections, sanctions, history)
        (self.topic, self.topicSetBy, self.topicSetAt) = (topic, topicSetBy, topicSetAt)
        (self.slowmodeSeconds, self.relayedMessageCount) = (slowmodeSeconds, relayedMessageCount)
    }
}

extension Room {
    /// Everything a successor needs. Logins still being checked are not carried over:
    /// `interruptedLogins` lists those connections, to be told to try again.
    public func snapshot() -> (snapshot: RoomSnapshot, interruptedLogins: [ClientID]) {
        var connections: [RoomSnapshot.Connection] = []
        connections.reserveCapacity(clients.count)
        for client in memberOrder {
            if let connection = snapshotConnection(client) { connections.append(connection) }
        }
        for (client, state) in clients.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            guard case .greeting = state, let connection = snapshotConnection(client) else { continue }
            connections.append(connection)
        }
        let interrupted = Set(passwordChecks.values.map(\.client)).sorted { $0.rawValue < $1.rawValue }
        let snapshot = RoomSnapshot(
            version: RoomSnapshot.currentVersion, connections: connections,
            sanctions: sanctions.map { RoomSnapshot.StoredSanction(kind: $0.kind.rawValue, range: "\($0.range)", nick: $0.nick,
                                                                   reason: $0.reason, setBy: $0.setBy, setAt: $0.setAt, expiresAt: $0.expiresAt) },
            history: history.entries.map { RoomSnapshot.Line(unixSeconds: $0.unixSeconds, text: $0.text, address: "\($0.address)") },
            topic: topic?.text, topicSetBy: topic?.setBy, topicSetAt: topic?.setAt,
            slowmodeSeconds: slowmodeSeconds, relayedMessageCount: relayedMessageCount)
        return (snapshot, interrupted)
    }

    /// Takes over a predecessor's state. `ids` maps each connection's old ID to the one it
    /// has now; a connection missing from it (its socket did not survive) is left out, and
    /// a member left out is announced as gone. Returns the connections restored.
    @discardableResult
    public func restore(_ snapshot: RoomSnapshot, ids: [UInt64: ClientID], now: RoomTime, effects: inout [RoomEffect]) -> Int {
        sanctions = snapshot.sanctions.compactMap { stored in
            guard let kind = Sanction.Kind(rawValue: stored.kind), let range = IPRange(parsing: stored.range) else { return nil }
            return Sanction(kind: kind, range: range, nick: stored.nick, reason: stored.reason, setBy: stored.setBy,
                            setAt: stored.setAt, expiresAt: stored.expiresAt)
        }
        history = History(limit: configuration.historyLimit, entries: snapshot.history.compactMap { line in
            IPAddress(parsing: line.address).map { History.Entry(unixSeconds: line.unixSeconds, text: line.text, address: $0) }
        })
        if let text = snapshot.topic { topic = Topic(text: text, setBy: snapshot.topicSetBy ?? "", setAt: snapshot.topicSetAt ?? 0) }
        slowmodeSeconds = snapshot.slowmodeSeconds
        relayedMessageCount = snapshot.relayedMessageCount
        var restored = 0
        var lost: [String] = []
        for connection in snapshot.connections {
            guard let address = IPAddress(parsing: connection.address) else { continue }
            guard let client = ids[connection.id] else {
                if let member = connection.member { lost.append(member.nick) }
                continue
            }
            restored += 1
            guard let stored = connection.member else {
                clients[client] = .greeting(address: address, peer: connection.peer, openedAt: connection.openedAt)
                continue
            }
            let member = Member(nick: stored.nick, chatPrefix: Array(ServerReply.chatLine(stored.nick, "").utf8),
                                isAdmin: stored.isAdmin && (stored.account.map { configuration.accounts[$0] != nil } ?? false),
                                account: stored.isAdmin ? stored.account : nil, address: address, orderIndex: memberOrder.count,
                                bucket: TokenBucket(tokens: stored.floodTokens, updatedAt: stored.floodUpdatedAt),
                                floodStrikes: stored.floodStrikes, lastMessageAt: stored.lastMessageAt)
            memberOrder.append(client)
            nickIndex[nicknames.key(member.nick)] = client
            clients[client] = .member(member, peer: connection.peer)
        }
        for nick in lost { broadcast(Notice.left(nick), effects: &effects) }
        return restored
    }
}

extension Room {
    /// One connection as a snapshot holds it, or nil if the Room no longer knows it: what
    /// the daemon's crash journal records after each change.
    public func snapshotConnection(_ client: ClientID) -> RoomSnapshot.Connection? {
        switch clients[client] {
        case nil:
            return nil
        case let .greeting(address, peer, openedAt):
            return RoomSnapshot.Connection(id: client.rawValue, address: "\(address)", peer: peer, openedAt: openedAt, member: nil)
        case let .member(member, peer):
            return RoomSnapshot.Connection(
                id: client.rawValue, address: "\(member.address)", peer: peer, openedAt: 0,
                member: RoomSnapshot.Member(nick: member.nick, isAdmin: member.isAdmin, account: member.account,
                                            floodTokens: member.bucket.tokens, floodUpdatedAt: member.bucket.updatedAt,
                                            floodStrikes: member.floodStrikes, lastMessageAt: member.lastMessageAt))
        }
    }

    /// Connections that were opened, joined, renamed, logged in or out, or went away since
    /// the last call, in that order (a connection may appear more than once). Flood and
    /// slowmode state change with every line and are not listed: a crash may lose their
    /// last few seconds, nothing else.
    public func takeChangedConnections() -> [ClientID] {
        defer { changedConnections.removeAll(keepingCapacity: true) }
        return changedConnections
    }

    public var hasChangedConnections: Bool { !changedConnections.isEmpty }

    func noteChanged(_ client: ClientID) {
        if tracksConnectionChanges { changedConnections.append(client) }
    }
}
