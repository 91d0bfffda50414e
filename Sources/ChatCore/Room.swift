import Bytes
import ChatProtocol

/// The chat room's rules. Events come in (a connection from an address, a frame, a
/// closed connection, shutdown), each with the time; effects go out. No I/O, no clock:
/// the same events always give the same effects, which is what the tests rely on.
///
/// The Room is confined to the reactor thread: the daemon calls it synchronously from
/// the event loop, one event at a time, so its state needs no lock and no message ever
/// hops threads.
public final class Room {
    public struct Configuration: Sendable {
        public var adminPasswordHash: AdminPasswordHash?
        /// Chat bodies go to the log only at debug level, and only when asked for.
        public var logMessageBodies: Bool

        public init(adminPasswordHash: AdminPasswordHash? = nil, logMessageBodies: Bool = false) {
            self.adminPasswordHash = adminPasswordHash
            self.logMessageBodies = logMessageBodies
        }
    }

    struct Member {
        let nick: String
        /// The nick's UTF-8 followed by ": ", ready to prefix every chat line.
        let chatPrefix: [UInt8]
        let isAdmin: Bool
        let address: IPAddress
        /// Position in `memberOrder`, kept so that leaving is O(1).
        var orderIndex: Int
    }

    enum Client {
        case greeting(address: IPAddress, peer: String)
        case member(Member, peer: String)
    }

    public var configuration: Configuration
    private var clients: [ClientID: Client] = [:]
    /// Every member's connection: the audience of a broadcast, shared with the daemon by
    /// reference (no copy per message).
    private var memberOrder: [ClientID] = []
    private var nickIndex: [String: ClientID] = [:]
    private var bannedAddresses: Set<IPAddress> = []
    /// Chat lines relayed since start, for the service status line.
    public private(set) var relayedMessageCount: UInt64 = 0

    /// - Parameter bannedAddresses: bans restored from the state directory.
    public init(configuration: Configuration = Configuration(), bannedAddresses: Set<IPAddress> = []) {
        self.configuration = configuration
        self.bannedAddresses = bannedAddresses
    }

    // MARK: Queries

    public var memberCount: Int { memberOrder.count }
    public var members: [ClientID] { memberOrder }
    public var banCount: Int { bannedAddresses.count }
    /// The banned addresses in a stable order, for saving.
    public var bannedAddressList: [IPAddress] { bannedAddresses.sorted { $0.description < $1.description } }
    public func isBanned(_ address: IPAddress) -> Bool { bannedAddresses.contains(address) }
    public func nick(of client: ClientID) -> String? {
        if case let .member(member, _)? = clients[client] { return member.nick }
        return nil
    }

    // MARK: Events

    /// A connection was accepted. `peer` is its address and port as text, for logs.
    public func connectionOpened(_ client: ClientID, address: IPAddress, peer: String, now: RoomTime, effects: inout [RoomEffect]) {
        if bannedAddresses.contains(address) {
            effects.append(.send(FrameEncoder.frame(Notice.addressBanned), to: client))
            effects.append(.close(client, reason: "address is banned"))
            effects.append(.log(RoomLogRecord(level: .notice, event: "banned-connection-refused",
                                              message: "Refused a connection from banned address \(address)",
                                              fields: ["chat_peer": peer])))
            return
        }
        clients[client] = .greeting(address: address, peer: peer)
    }

    /// One complete frame's payload, already checked to be valid UTF-8.
    public func frameReceived(_ payload: UnsafeRawBufferPointer, from client: ClientID, now: RoomTime, effects: inout [RoomEffect]) {
        switch clients[client] {
        case nil:
            return
        case let .greeting(address, peer)?:
            greet(client, text: String(decoding: payload, as: UTF8.self), address: address, peer: peer, effects: &effects)
        case let .member(member, peer)?:
            if ClientRequest.isPlainChat(payload) {
                relayChat(payload, from: member, peer: peer, effects: &effects)
                return
            }
            switch ClientRequest.parseMemberFrame(String(decoding: payload, as: UTF8.self)) {
            case .disconnect:
                removeMember(client, member, effects: &effects)
                effects.append(.close(client, reason: "left with !DC"))
                broadcast(Notice.left(member.nick), effects: &effects)
                effects.append(.log(leaveRecord(member, peer: peer, reason: "left with !DC")))
            case let .command(name, arguments):
                runCommand(name, arguments: arguments, from: client, member, peer: peer, effects: &effects)
            case let .chat(text):
                var text = text
                text.withUTF8 { relayChat(UnsafeRawBufferPointer($0), from: member, peer: peer, effects: &effects) }
            case .join, .adminJoin, .unrecognizedGreeting:
                preconditionFailure("parseMemberFrame returns member requests only")
            }
        }
    }

    /// The peer went away (EOF, reset, or a write error). Idempotent.
    public func connectionClosed(_ client: ClientID, reason: String, now: RoomTime, effects: inout [RoomEffect]) {
        guard let state = clients[client] else { return }
        switch state {
        case .greeting:
            clients[client] = nil
        case let .member(member, peer):
            removeMember(client, member, effects: &effects)
            broadcast(Notice.left(member.nick), effects: &effects)
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
        case let .greeting(_, peer):
            clients[client] = nil
            fields["chat_peer"] = peer
        case let .member(member, peer):
            removeMember(client, member, effects: &effects)
            broadcast(Notice.left(member.nick), effects: &effects)
            fields["chat_peer"] = peer
            fields["chat_nick"] = member.nick
        }
        effects.append(.log(RoomLogRecord(level: .warning, event: "protocol-error",
                                          message: "Closed \(fields["chat_peer"] ?? ""): \(description)", fields: fields)))
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
        memberOrder.removeAll()
        nickIndex.removeAll()
    }

    // MARK: Joining

    private func greet(_ client: ClientID, text: String, address: IPAddress, peer: String, effects: inout [RoomEffect]) {
        switch ClientRequest.parseGreeting(text) {
        case let .join(nick):
            if Nickname.isAdminNick(nick) {
                return refuse(client, Notice.adminNickReserved, reason: "tried the admin nick without a password", peer: peer, effects: &effects)
            }
            if let problem = Nickname.problem(with: nick) {
                return refuse(client, Notice.invalidNick(problem), reason: "invalid nickname: \(problem)", peer: peer, effects: &effects)
            }
            admit(client, nick: nick, isAdmin: false, address: address, peer: peer, effects: &effects)
        case let .adminJoin(password):
            guard let hash = configuration.adminPasswordHash else {
                effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                                  message: "Admin login from \(peer) refused: no admin password hash is configured",
                                                  fields: ["chat_peer": peer, "chat_reason": "admin login disabled"])))
                return refuse(client, Notice.adminLoginDisabled, reason: "admin login disabled", peer: peer, logged: false, effects: &effects)
            }
            guard hash.matches(password: password) else {
                effects.append(.log(RoomLogRecord(level: .warning, event: "admin-login-failed",
                                                  message: "Failed admin login from \(peer)",
                                                  fields: ["chat_peer": peer, "chat_reason": "incorrect password"])))
                return refuse(client, Notice.incorrectPassword, reason: "incorrect admin password", peer: peer, logged: false, effects: &effects)
            }
            admit(client, nick: Nickname.adminNick, isAdmin: true, address: address, peer: peer, effects: &effects)
        case .unrecognizedGreeting:
            refuse(client, Notice.expectedGreeting, reason: "first message was not NICK: or admin:", peer: peer, effects: &effects)
        case .disconnect, .command, .chat:
            preconditionFailure("parseGreeting returns greetings only")
        }
    }

    private func refuse(_ client: ClientID, _ text: String, reason: String, peer: String, logged: Bool = true, effects: inout [RoomEffect]) {
        clients[client] = nil
        effects.append(.send(FrameEncoder.frame(text), to: client))
        effects.append(.close(client, reason: reason))
        if logged {
            effects.append(.log(RoomLogRecord(level: .info, event: "join-refused",
                                              message: "Refused join from \(peer): \(reason)",
                                              fields: ["chat_peer": peer, "chat_reason": reason])))
        }
    }

    private func admit(_ client: ClientID, nick: String, isAdmin: Bool, address: IPAddress, peer: String, effects: inout [RoomEffect]) {
        let key = Nickname.key(nick)
        if nickIndex[key] != nil {
            return refuse(client, Notice.nickInUse(nick), reason: "nickname in use", peer: peer, effects: &effects)
        }
        let member = Member(nick: nick, chatPrefix: Array("\(nick): ".utf8), isAdmin: isAdmin,
                            address: address, orderIndex: memberOrder.count)
        memberOrder.append(client)
        nickIndex[key] = client
        clients[client] = .member(member, peer: peer)
        effects.append(.send(FrameEncoder.frame(Notice.connected), to: client))
        broadcast(isAdmin ? Notice.adminJoined : Notice.joined(nick), effects: &effects)
        effects.append(.log(RoomLogRecord(level: .info, event: isAdmin ? "admin-login" : "join",
                                          message: isAdmin ? "Admin logged in from \(peer)" : "\(nick) joined from \(peer)",
                                          fields: ["chat_nick": nick, "chat_peer": peer])))
    }

    // MARK: Chat

    /// `nick: text`, encoded once straight from the member's prefix and the received
    /// bytes, shared by every member's queue.
    private func relayChat(_ text: UnsafeRawBufferPointer, from member: Member, peer: String, effects: inout [RoomEffect]) {
        guard !text.isEmpty else { return }
        let prefixCount = member.chatPrefix.count
        let frame = FrameEncoder.frame(payloadLength: prefixCount + text.count) { payload in
            member.chatPrefix.withUnsafeBytes { payload.copyMemory(from: $0) }
            UnsafeMutableRawBufferPointer(rebasing: payload[prefixCount...]).copyMemory(from: text)
        }
        effects.append(.broadcast(frame, to: memberOrder))
        relayedMessageCount &+= 1
        if configuration.logMessageBodies {
            effects.append(.log(RoomLogRecord(level: .debug, event: "message",
                                              message: "\(member.nick): \(String(decoding: text, as: UTF8.self))",
                                              fields: ["chat_nick": member.nick, "chat_peer": peer])))
        }
    }

    // MARK: Commands

    private func runCommand(_ name: String, arguments: String, from client: ClientID, _ member: Member, peer: String, effects: inout [RoomEffect]) {
        switch name {
        case "kick", "ban":
            guard member.isAdmin else {
                return reply(Notice.adminOnly(name), to: client, effects: &effects)
            }
            let targetNick = arguments.trimmingWhitespace()
            guard !targetNick.isEmpty, !targetNick.contains(where: \.isWhitespace) else {
                return reply(Notice.usage("/\(name) <nick>"), to: client, effects: &effects)
            }
            guard let targetID = nickIndex[Nickname.key(targetNick)],
                  case let .member(target, targetPeer)? = clients[targetID] else {
                return reply(Notice.noSuchMember(targetNick), to: client, effects: &effects)
            }
            guard targetID != client else {
                return reply(Notice.cannotTargetYourself(name), to: client, effects: &effects)
            }
            if name == "kick" {
                removeMember(targetID, target, effects: &effects)
                effects.append(.send(FrameEncoder.frame(Notice.youWereKicked), to: targetID))
                effects.append(.close(targetID, reason: "kicked by \(member.nick)"))
                broadcast(Notice.kicked(target.nick), effects: &effects)
                effects.append(.log(RoomLogRecord(level: .notice, event: "kick",
                                                  message: "\(target.nick) was kicked by \(member.nick)",
                                                  fields: ["chat_target": target.nick, "chat_by": member.nick,
                                                           "chat_peer": targetPeer])))
            } else {
                guard target.address != member.address else {
                    return reply(Notice.cannotBanOwnAddress(target.nick), to: client, effects: &effects)
                }
                bannedAddresses.insert(target.address)
                effects.append(.durableStateChanged)
                removeMember(targetID, target, effects: &effects)
                effects.append(.send(FrameEncoder.frame(Notice.youWereBanned), to: targetID))
                effects.append(.close(targetID, reason: "banned by \(member.nick)"))
                broadcast(Notice.banned(target.nick), effects: &effects)
                effects.append(.log(RoomLogRecord(level: .notice, event: "ban",
                                                  message: "\(target.nick) (\(target.address)) was banned by \(member.nick)",
                                                  fields: ["chat_target": target.nick, "chat_by": member.nick,
                                                           "chat_peer": targetPeer, "chat_address": "\(target.address)"])))
            }
        default:
            reply(Notice.unknownCommand(name), to: client, effects: &effects)
        }
    }

    // MARK: Helpers

    private func reply(_ text: String, to client: ClientID, effects: inout [RoomEffect]) {
        effects.append(.send(FrameEncoder.frame(text), to: client))
    }

    private func broadcast(_ text: String, effects: inout [RoomEffect]) {
        guard !memberOrder.isEmpty else { return }
        effects.append(.broadcast(FrameEncoder.frame(text), to: memberOrder))
    }

    /// Swap-remove from the broadcast list: O(1), and the order of recipients within
    /// one broadcast does not affect the order each recipient sees.
    private func removeMember(_ client: ClientID, _ member: Member, effects: inout [RoomEffect]) {
        clients[client] = nil
        nickIndex[Nickname.key(member.nick)] = nil
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
    }

    private func leaveRecord(_ member: Member, peer: String, reason: String) -> RoomLogRecord {
        RoomLogRecord(level: .info, event: "leave", message: "\(member.nick) left (\(reason))",
                      fields: ["chat_nick": member.nick, "chat_peer": peer, "chat_reason": reason])
    }
}
