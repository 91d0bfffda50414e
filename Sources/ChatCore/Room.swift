import Bytes
import ChatProtocol

/// The chat room's rules. Events come in (a connection from an address, a frame, a
/// closed connection, a tick of the clock, shutdown), each with the time; effects go out.
/// No I/O, no clock: the same events always give the same effects, which is what the
/// tests rely on.
///
/// The Room is confined to the reactor thread: the daemon calls it synchronously from
/// the event loop, one event at a time, so its state needs no lock and no message ever
/// hops threads.
public final class Room {
    public struct Configuration: Sendable {
        /// Admin accounts by name; `admin:<password>` logs into the one named `admin`.
        public var accounts: [String: any PasswordVerifier]
        /// Chat bodies go to the log only at debug level, and only when asked for.
        public var logMessageBodies: Bool
        /// Lines replayed to a member who joins; 0 disables history.
        public var historyLimit: Int
        /// Flood control per member: `floodRate` messages a second, bursts of `floodBurst`;
        /// after `floodDisconnectAfter` refusals in a row the member is disconnected. A rate
        /// of 0 turns flood control off.
        public var floodRate: Double
        public var floodBurst: Double
        public var floodDisconnectAfter: Int
        /// A connection that has not joined within this many seconds is closed.
        public var handshakeTimeoutSeconds: Double
        /// Slowmode at start, in seconds; nil is off. `/slowmode` changes it at run time.
        public var slowmodeSeconds: Int?
        /// The longest line the daemon accepts, announced to members in the limits line.
        public var maximumLineBytes: Int
        /// Joins one host (an IPv4 address, an IPv6 `ipv6HostPrefix`) may make a minute;
        /// 0 is no limit.
        public var joinsPerAddressPerMinute: Int
        public var ipv6HostPrefix: Int
        /// Join and leave notices a second before they are summed up once a tick; 0 never
        /// sums them up.
        public var presenceRate: Double
        public var presenceBurst: Int
        /// Checked instead of a hash for an unknown account, so that the answer takes as
        /// long as for a real one. Nil answers unknown accounts at once (tests).
        public var decoyVerifier: (any PasswordVerifier)?
        /// Password checks in progress per host and in all; past either, a login is
        /// refused at once.
        public var passwordChecksPerAddress: Int
        public var passwordChecksInFlight: Int
        /// What a nickname may be and when two are the same (the daemon's are ICU's).
        public var nicknameRules: any NicknameRules
        /// Logins (`admin:`, `/login`) only over TLS: a password sent over plaintext is
        /// refused with a frame saying why (it has travelled in the clear already, but is
        /// never accepted that way, so nobody gets used to it).
        public var requireSecureLogin = false

        public init(adminPasswordHash: (any PasswordVerifier)? = nil, accounts: [String: any PasswordVerifier] = [:],
                    logMessageBodies: Bool = false, historyLimit: Int = 50,
                    floodRate: Double = 10, floodBurst: Double = 20, floodDisconnectAfter: Int = 100,
                    handshakeTimeoutSeconds: Double = 10, slowmodeSeconds: Int? = nil,
                    maximumLineBytes: Int = FrameFormat.defaultMaximumPayloadLength,
                    joinsPerAddressPerMinute: Int = 0, ipv6HostPrefix: Int = 64,
                    presenceRate: Double = 0, presenceBurst: Int = 10, decoyVerifier: (any PasswordVerifier)? = nil,
                    passwordChecksPerAddress: Int = 2, passwordChecksInFlight: Int = 32,
                    nicknameRules: any NicknameRules = Nickname.basicRules) {
            var accounts = accounts
            if let adminPasswordHash { accounts[Nickname.adminNick] = adminPasswordHash }
            self.accounts = accounts
            self.logMessageBodies = logMessageBodies
            self.historyLimit = historyLimit
            self.floodRate = floodRate
            self.floodBurst = floodBurst
            self.floodDisconnectAfter = floodDisconnectAfter
            self.handshakeTimeoutSeconds = handshakeTimeoutSeconds
            self.slowmodeSeconds = slowmodeSeconds
            self.maximumLineBytes = maximumLineBytes
            self.joinsPerAddressPerMinute = joinsPerAddressPerMinute
            self.ipv6HostPrefix = ipv6HostPrefix
            self.presenceRate = presenceRate
            self.presenceBurst = presenceBurst
            self.decoyVerifier = decoyVerifier
            self.passwordChecksPerAddress = passwordChecksPerAddress
            self.passwordChecksInFlight = passwordChecksInFlight
            self.nicknameRules = nicknameRules
        }

        /// What a member's lines are held to, as the limits line tells them.
        public var limits: ServerLimits {
            ServerLimits(maximumLineBytes: maximumLineBytes, linesPerSecond: floodRate, burst: Int(floodBurst))
        }

        /// The account `admin:<password>` logs into (the seed's single admin).
        public var adminPasswordHash: (any PasswordVerifier)? {
            get { accounts[Nickname.adminNick] }
            set { accounts[Nickname.adminNick] = newValue }
        }
    }

    struct Member {
        var nick: String
        /// The nick's UTF-8 followed by ": ", ready to prefix every chat line.
        var chatPrefix: [UInt8]
        var isAdmin: Bool
        var account: String?
        let address: IPAddress
        /// Position in `memberOrder`, kept so that leaving is O(1).
        var orderIndex: Int
        var bucket: TokenBucket
        var floodStrikes = 0
        /// Monotonic time of the last message accepted, for slowmode.
        var lastMessageAt: UInt64? = nil
    }

    enum Client {
        case greeting(address: IPAddress, peer: String, openedAt: UInt64)
        case member(Member, peer: String)
    }

    public var configuration: Configuration {
        didSet {
            if configuration.historyLimit != history.limit { history.resize(to: configuration.historyLimit) }
        }
    }
    var clients: [ClientID: Client] = [:]
    /// Every member's connection: the audience of a broadcast, shared with the daemon by
    /// reference (no copy per message).
    var memberOrder: [ClientID] = []
    var nickIndex: [String: ClientID] = [:]
    public internal(set) var sanctions: [Sanction] = []
    public internal(set) var history: History
    public internal(set) var slowmodeSeconds: Int?
    public internal(set) var topic: Topic?
    var loginThrottle = LoginThrottle()
    var presence: Presence
    /// Logins waiting for their password check, by check.
    var passwordChecks: [UInt64: PendingLogin] = [:]
    var passwordChecksByHost: [IPRange: Int] = [:]
    /// Connections that came over TLS (the daemon says so when they open). Only they
    /// have an entry, so plaintext seed clients cost nothing; an entry goes when the
    /// daemon reports the connection closed, which it does for every connection.
    var secureClients: Set<ClientID> = []
    var nextPasswordCheck: UInt64 = 0
    /// Frames from connections whose `admin:` login is being checked.
    var framesHeldDuringLogin: [ClientID: [[UInt8]]] = [:]
    /// Chat lines relayed since start, for the service status line.
    public internal(set) var relayedMessageCount: UInt64 = 0
    /// Whether to list connections whose joining, nick or login changed (see
    /// `takeChangedConnections`): on when the daemon keeps a crash journal.
    public var tracksConnectionChanges = false
    var changedConnections: [ClientID] = []
    /// What the operator is told while `control` runs a command.
    var operatorLines: [String] = []
    /// Nil for a single node; set by `joinCluster` (Room+Cluster.swift).
    var cluster: ClusterPart? = nil

    /// - Parameters:
    ///   - sanctions: bans and mutes restored from the state directory.
    ///   - history: lines restored from the state directory.
    ///   - topic: the topic restored from the state directory.
    public init(configuration: Configuration = Configuration(), sanctions: [Sanction] = [],
                history: [History.Entry] = [], topic: Topic? = nil) {
        self.configuration = configuration
        self.sanctions = sanctions
        self.history = History(limit: configuration.historyLimit, entries: history)
        self.slowmodeSeconds = configuration.slowmodeSeconds
        self.topic = topic
        presence = Presence(bucket: TokenBucket(burst: Double(configuration.presenceBurst), now: 0))
    }

    // MARK: Queries

    public var memberCount: Int { memberOrder.count }
    public var members: [ClientID] { memberOrder }
    public var bans: [Sanction] { sanctions.filter { $0.kind == .ban } }
    public var mutes: [Sanction] { sanctions.filter { $0.kind == .mute } }
    public var banCount: Int { sanctions.reduce(0) { $0 + ($1.kind == .ban ? 1 : 0) } }
    public func nick(of client: ClientID) -> String? {
        if case let .member(member, _)? = clients[client] { return member.nick }
        return nil
    }

    public struct MemberInfo: Equatable, Sendable {
        public let nick: String
        public let isAdmin: Bool
        public let isMuted: Bool
        public let address: IPAddress
        public let peer: String
    }

    /// Members in join order... except that leaving swaps the last one into the gap.
    public func memberList(now: RoomTime) -> [MemberInfo] {
        memberOrder.compactMap { id in
            guard case let .member(member, peer)? = clients[id] else { return nil }
            return MemberInfo(nick: member.nick, isAdmin: member.isAdmin,
                              isMuted: activeMute(for: member, now: now) != nil, address: member.address, peer: peer)
        }
    }

    // MARK: Events

    /// A connection was accepted. `peer` is its address and port as text, for logs;
    /// `secure` says it came over TLS.
    public func connectionOpened(_ client: ClientID, address: IPAddress, peer: String, secure: Bool = false,
                                 now: RoomTime, effects: inout [RoomEffect]) {
        if secure { secureClients.insert(client) }
        if let ban = activeBan(for: address, now: now) {
            effects.append(.send(FrameEncoder.frame(Notice.addressBanned), to: client))
            effects.append(.close(client, reason: "address is banned"))
            effects.append(.log(RoomLogRecord(level: .notice, event: "banned-connection-refused",
                                              message: "Refused a connection from banned address \(address) (\(peer); ban on \(ban.targetDescription))",
                                              fields: ["chat_peer": peer, "chat_address": "\(address)"])))
            return
        }
        clients[client] = .greeting(address: address, peer: peer, openedAt: now.nanoseconds)
        noteChanged(client)
    }

    /// One complete frame's payload, already checked to be valid UTF-8.
    public func frameReceived(_ payload: UnsafeRawBufferPointer, from client: ClientID, now: RoomTime, effects: inout [RoomEffect]) {
        switch clients[client] {
        case nil:
            return
        case let .greeting(address, peer, _)?:
            if framesHeldDuringLogin[client] != nil {
                if !holdDuringLogin(payload, from: client) {
                    protocolViolation(client, description: "too many messages before the login was answered", now: now, effects: &effects)
                }
                return
            }
            greet(client, text: String(decoding: payload, as: UTF8.self), address: address, peer: peer, now: now, effects: &effects)
        case .member(var member, let peer)?:
            // Leaving is always allowed, even for a member out of flood tokens.
            if !member.isAdmin && configuration.floodRate > 0 && !ClientRequest.isDisconnect(payload) {
                guard admitUnderFloodControl(client, &member, peer: peer, now: now, effects: &effects) else { return }
            }
            if ClientRequest.isPlainChat(payload) {
                speak(payload, from: client, &member, peer: peer, asAction: false, now: now, effects: &effects)
                return
            }
            switch ClientRequest.parseMemberFrame(String(decoding: payload, as: UTF8.self)) {
            case .disconnect:
                removeMember(client, member)
                effects.append(.close(client, reason: "left with !DC"))
                announceLeave(member, now: now, effects: &effects)
                effects.append(.log(leaveRecord(member, peer: peer, reason: "left with !DC")))
            case let .command(name, arguments):
                runMemberCommand(name, arguments: arguments, from: client, member, peer: peer, now: now, effects: &effects)
            case let .chat(text):
                var text = text
                text.withUTF8 { speak(UnsafeRawBufferPointer($0), from: client, &member, peer: peer, asAction: false, now: now, effects: &effects) }
            case .join, .adminJoin, .unrecognizedGreeting:
                preconditionFailure("parseMemberFrame returns member requests only")
            }
        }
    }

    /// The peer went away (EOF, reset, or a write error). Idempotent.
    public func connectionClosed(_ client: ClientID, reason: String, now: RoomTime, effects: inout [RoomEffect]) {
        secureClients.remove(client)
        guard let state = clients[client] else { return }
        framesHeldDuringLogin[client] = nil
        switch state {
        case .greeting:
            clients[client] = nil
            noteChanged(client)
        case let .member(member, peer):
            removeMember(client, member)
            announceLeave(member, now: now, effects: &effects)
            effects.append(.log(leaveRecord(member, peer: peer, reason: reason)))
        }
    }

    /// The client broke the wire protocol: tell it what was wrong, close it, and let the
    /// room know it left.
    public func protocolViolation(_ client: ClientID, description: String, now: RoomTime, effects: inout [RoomEffect]) {
        guard let state = clients[client] else { return }
        effects.append(.send(FrameEncoder.frame(Notice.protocolError(description)), to: client))
        effects.append(.close(client, reason: "protocol error: \(description)"))
        var fields = ["chat_reason": description]
        switch state {
        case let .greeting(_, peer, _):
            clients[client] = nil
            noteChanged(client)
            fields["chat_peer"] = peer
        case let .member(member, peer):
            removeMember(client, member)
            announceLeave(member, now: now, effects: &effects)
            fields["chat_peer"] = peer
            fields["chat_nick"] = member.nick
        }
        effects.append(.log(RoomLogRecord(level: .warning, event: "protocol-error",
                                          message: "Closed \(fields["chat_peer"] ?? ""): \(description)", fields: fields)))
    }

    /// Time passed: expire sanctions (announced and logged), close connections that never
    /// joined in time, forget old login failures. The daemon calls this about once a second.
    public func tick(now: RoomTime, effects: inout [RoomEffect]) {
        expireSanctions(now: now, effects: &effects)
        flushPresence(now: now, effects: &effects)
        let deadline = UInt64(configuration.handshakeTimeoutSeconds * 1e9)
        // Sorted, so the same events give the same effects in the same order (a Dictionary's
        // order differs from run to run).
        let due = clients.compactMap { client, state -> ClientID? in
            guard case let .greeting(_, _, openedAt) = state, now.nanoseconds >= openedAt + deadline else { return nil }
            return client
        }
        for client in due.sorted(by: { $0.rawValue < $1.rawValue }) {
            guard case let .greeting(_, peer, _)? = clients[client] else { continue }
            clients[client] = nil
            noteChanged(client)
            effects.append(.send(FrameEncoder.frame(Notice.handshakeTimedOut), to: client))
            effects.append(.close(client, reason: "handshake timed out"))
            effects.append(.log(RoomLogRecord(level: .info, event: "handshake-timeout",
                                              message: "Closed \(peer): no NICK: or admin: within \(configuration.handshakeTimeoutSeconds) s",
                                              fields: ["chat_peer": peer])))
        }
        loginThrottle.forgetOld(now: now.nanoseconds)
    }

    /// The server is stopping: every member hears so, every connection closes after
    /// its queue is flushed.
    public func shutdown(now: RoomTime, effects: inout [RoomEffect]) {
        if !memberOrder.isEmpty {
            effects.append(.broadcast(FrameEncoder.frame(Notice.shuttingDown), to: memberOrder))
        }
        for client in clients.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            effects.append(.close(client, reason: "server shutting down"))
        }
        clients.removeAll()
        secureClients.removeAll()
        memberOrder.removeAll()
        nickIndex.removeAll()
    }

    // MARK: Helpers

    func reply(_ text: String, to client: ClientID, effects: inout [RoomEffect]) {
        effects.append(.send(FrameEncoder.frame(text), to: client))
    }

    func broadcast(_ text: String, effects: inout [RoomEffect]) {
        if cluster != nil, publishOrBroadcast(text, kept: false, effects: &effects) { return }
        guard !memberOrder.isEmpty else { return }
        effects.append(.broadcast(FrameEncoder.frame(text), to: memberOrder))
    }

    func member(named nick: String) -> (ClientID, Member, String)? {
        guard let id = nickIndex[nicknames.key(nick)], case let .member(member, peer)? = clients[id] else { return nil }
        return (id, member, peer)
    }

    /// Swap-remove from the broadcast list: O(1), and the order of recipients within
    /// one broadcast does not affect the order each recipient sees.
    func removeMember(_ client: ClientID, _ member: Member) {
        clients[client] = nil
        noteChanged(client)
        nickIndex[nicknames.key(member.nick)] = nil
        let index = member.orderIndex
        let last = memberOrder.count - 1
        if index != last {
            let moved = memberOrder[last]
            memberOrder[index] = moved
            if case .member(var movedMember, let movedPeer)? = clients[moved] {
                movedMember.orderIndex = index
                clients[moved] = .member(movedMember, peer: movedPeer)
            }
        }
        memberOrder.removeLast()
        if cluster != nil { clusterMembership(member.nick, joined: false) }
    }

    func leaveRecord(_ member: Member, peer: String, reason: String) -> RoomLogRecord {
        RoomLogRecord(level: .info, event: "leave", message: "\(member.nick) left (\(reason))",
                      fields: ["chat_nick": member.nick, "chat_peer": peer, "chat_reason": reason])
    }
}
