import Bytes
import ChatCore
import ChatProtocol

// The check behind the libFuzzer target `fuzz-room` (Tests/Fuzz), kept here so the
// regression replay (FuzzRegressionTests.swift) runs exactly the same logic. This file is
// symlinked into the fuzz package; it must not import Testing or Foundation.

/// Reads the input as a sequence of events (connections from a few addresses, greetings,
/// chat, member and operator commands with random targets, closes, protocol violations,
/// time passing, ticks, bursts, shutdown), feeds them to a `Room` the way `ChatServer`
/// does, and checks after every event:
///
/// - every member appears once in `members`, has a nick, nicks are unique ignoring case;
/// - the members are exactly the connections told "Connected to the server" and not
///   closed since (no member is both joined and gone);
/// - nothing is sent, broadcast or closed to a connection after the Room closed it or
///   the peer went away; each connection is closed at most once;
/// - every broadcast goes to current members only, each once, and a member left out of
///   one was told something else in the same event (a mute's target);
/// - a ban bans only the target's address (or the range typed), only through `/ban` from
///   an admin or the operator, never the admin's own address; bans end only by a command
///   or with time;
/// - a connection from a banned address is refused, and no connection joins from an
///   address that is banned at that moment;
/// - only an admin removes anyone but themselves;
/// - a member's chat line is relayed as exactly `nick: text`, or the sender is told why
///   not (flood control, mute, slowmode): never dropped silently;
/// - history stays within its limit; replies for the operator only answer the operator;
/// - every frame the Room emits is one well-formed frame;
/// - address ranges print as text that parses back to the same range.
enum RoomFuzzCheck {
    static func check(_ data: [UInt8]) -> String? {
        RoomFuzzRun(data).execute()
    }

    static let adminPassword = "pw"
    static let moderatorPassword = "pw2"
    static let addresses: [IPAddress] = [
        IPAddress(v4: 10, 0, 0, 1), IPAddress(v4: 10, 0, 0, 2), IPAddress(v4: 10, 0, 0, 3),
        IPAddress(ipv6Bytes: [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]),
    ]
    static let nicks = [
        "alice", "Alice", "bob", "BOB", "carol", "dave", "admin", "Admin", "x y", "", "é", "e\u{301}",
        "\u{130}stanbul", "ß", "SS", String(repeating: "z", count: 32), String(repeating: "z", count: 33),
        "!!", "a\u{200B}b", "n1", "10.0.0.2", "mod",
    ]
    static let commands = ["kick", "ban", "KICK", "Ban", "mute", "unmute", "unban", "slowmode", "bans", "who",
                           "help", "me", "msg", "nick", "login", "say", "x"]
    static let separators = [" ", "  ", "\t", ""]
    static let targets = nicks + ["", "  bob  ", "bob carol", "nobody", "10.0.0.1", "10.0.0.3", "10.0.0.0/30",
                                  "10.0.0.2/31", "0.0.0.0/0", "2001:db8::1", "2001:db8::/32", "::/0", "::ffff:10.0.0.2",
                                  "300.1.1.1", "10.0.0.0/33", "2", "off", "86401"]
    static let extras = ["", " 10", " 10s", " 5m", " 1h", " 0", " -1", " 99999999999999999999", " forever", " 1d",
                         " off", " --purge", " 1m --purge spam", " pw", " pw2", " because reasons"]
    static let texts = ["hello", "", "/", "/ x", " /kick bob", "!DC ", "!dc", "\u{1F600}", "a\u{301}",
                        "/\u{301}kick bob", "NICK:zed", "admin:pw", String(repeating: "x", count: 1000)]
    /// Time steps in nanoseconds: 1 ms up to 2 days.
    static let steps: [UInt64] = [1_000_000, 50_000_000, 500_000_000, 1_000_000_000, 3_000_000_000,
                                  10_000_000_000, 61_000_000_000, 600_000_000_000, 7_200_000_000_000,
                                  172_800_000_000_000]
    static let maximumEvents = 600
    static let maximumConnections = 12
}

final class RoomFuzzRun {
    enum Phase {
        /// The Room knows it (greeting or member); frames may arrive from it.
        case open
        /// The Room asked to close it; the reactor has yet to report the close.
        case closing
        /// connectionClosed was delivered.
        case gone
    }

    enum Event {
        case connect(ClientID)
        case frame(ClientID, String)
        case control(String, String)
        case peerClosed(ClientID)
        case violation(ClientID)
        case time
        case shutdown
    }

    struct Failure: Error { let text: String }

    struct MemberSnapshot {
        let nick: String
        let isAdmin: Bool
    }

    let room: Room
    private let data: [UInt8]
    private var cursor = 0
    private var now = RoomTime(nanoseconds: 1_000_000_000, unixNanoseconds: 1_700_000_000_000_000_000)
    private var nextID: UInt64 = 1
    private var phase: [ClientID: Phase] = [:]
    private var addressIndex: [ClientID: Int] = [:]
    /// Who is a member, from the effects alone: told "Connected", not closed since.
    private var members: Set<ClientID> = []
    private var relayed: UInt64 = 0
    private var shutDown = false
    private var trace: [String] = []

    init(_ data: [UInt8]) {
        self.data = data
        // Byte 0 picks the configuration, byte 1 (when 0xF_) bans restored from the state directory.
        let setup = data.first ?? 0
        let configuration = Room.Configuration(
            adminPasswordHash: TestPassword.of(password: RoomFuzzCheck.adminPassword),
            accounts: ["mod": TestPassword.of(password: RoomFuzzCheck.moderatorPassword)],
            historyLimit: [0, 3, 50, 1][Int(setup & 3)],
            floodRate: 10, floodBurst: setup & 4 == 0 ? 20 : 3,
            floodDisconnectAfter: setup & 8 == 0 ? 100 : 3,
            handshakeTimeoutSeconds: 10,
            slowmodeSeconds: setup & 16 == 0 ? nil : 2)
        var bans: Set<IPAddress> = []
        if data.count > 1, data[1] & 0xF0 == 0xF0 {
            for (i, address) in RoomFuzzCheck.addresses.enumerated() where data[1] & (1 << i) != 0 { bans.insert(address) }
        }
        room = Room(configuration: configuration,
                    sanctions: bans.sorted { $0.description < $1.description }.map { Sanction(kind: .ban, range: IPRange($0), setBy: "restored", setAt: 0) })
        cursor = min(2, data.count)
    }

    func execute() -> String? {
        do {
            var events = 0
            while cursor < data.count && events < RoomFuzzCheck.maximumEvents && !shutDown {
                events += 1
                try step()
            }
            // Everyone goes away at the end; the room must end up empty.
            for client in phase.keys.sorted(by: { $0.rawValue < $1.rawValue }) where phase[client] != .gone {
                try peerClosed(client)
            }
            if !room.members.isEmpty { throw Failure(text: "members left after every connection closed: \(room.members)") }
            return nil
        } catch let failure as Failure {
            return failure.text + "\nlast events:\n" + trace.suffix(40).joined(separator: "\n")
        } catch {
            return "unexpected error \(error)"
        }
    }

    // MARK: Reading events

    private func byte() -> UInt8 {
        guard cursor < data.count else { return 0 }
        defer { cursor += 1 }
        return data[cursor]
    }

    private func pick<T>(_ list: [T]) -> T { list[Int(byte()) % list.count] }

    private func connections(in wanted: Phase) -> [ClientID] {
        phase.filter { $0.value == wanted }.keys.sorted { $0.rawValue < $1.rawValue }
    }

    private func commandText() -> String {
        pick(RoomFuzzCheck.commands) + pick(RoomFuzzCheck.separators) + pick(RoomFuzzCheck.targets) + pick(RoomFuzzCheck.extras)
    }

    private func rawText() -> String {
        let count = Int(byte() % 48)
        var raw: [UInt8] = []
        for _ in 0..<count { raw.append(byte()) }
        return String(decoding: raw, as: UTF8.self)
    }

    /// One event: an operation byte, a byte choosing the connection it concerns (among the
    /// open ones), then the operation's own argument bytes.
    private func step() throws {
        let op = byte()
        let selector = Int(byte())
        let open = connections(in: .open)
        let client: ClientID? = open.isEmpty ? nil : open[selector % open.count]
        if op == 0xFF {
            try run(.shutdown, "shutdown") { room.shutdown(now: now, effects: &$0) }
            shutDown = true
            return
        }
        switch op % 20 {
        case 0, 1:
            try connect(addressIndex: selector % RoomFuzzCheck.addresses.count)
        case 2, 3:
            let nick = pick(RoomFuzzCheck.nicks)
            if let client { try frame(client, "NICK:" + nick) }
        case 4:
            let password = pick([RoomFuzzCheck.adminPassword, "wrong"])
            if let client { try frame(client, "admin:" + password) }
        case 5:
            let text = pick(RoomFuzzCheck.texts)
            if let client { try frame(client, text) }
        case 6, 7:
            let text = "/" + commandText()
            if let client { try frame(client, text) }
        case 8:
            if let client { try frame(client, ClientRequest.disconnectText) }
        case 9:
            // The peer goes away: an open connection, or one the Room is closing.
            let live = phase.filter { $0.value != .gone }.keys.sorted { $0.rawValue < $1.rawValue }
            if !live.isEmpty { try peerClosed(live[selector % live.count]) }
        case 10:
            // The reactor finishes a close the Room asked for.
            let closing = connections(in: .closing)
            if !closing.isEmpty { try peerClosed(closing[selector % closing.count]) }
        case 11:
            if let client {
                try run(.violation(client), "violation \(client)") { room.protocolViolation(client, description: "fuzz", now: now, effects: &$0) }
            }
        case 12:
            now = now.adding(seconds: Double(pick(RoomFuzzCheck.steps)) / 1e9)
            try run(.time, "time +") { _ in }
        case 13:
            // The daemon's once-a-second tick, after some time.
            now = now.adding(seconds: Double(pick(RoomFuzzCheck.steps)) / 1e9)
            try run(.time, "tick") { room.tick(now: now, effects: &$0) }
        case 14:
            let text = rawText()
            if let client { try frame(client, text) }
        case 15:
            // A burst of chat with no time passing: what flood control is for.
            let count = Int(byte() % 40) + 1
            if let client {
                for i in 0..<count where phase[client] == .open { try frame(client, "spam \(i)") }
            }
        case 16:
            // The local operator (chatroomctl).
            let text = commandText()
            let name = String(text.prefix { !$0.isWhitespace })
            let arguments = String(text.dropFirst(name.count))
            try run(.control(name, arguments), "operator \(name)\(arguments)") {
                _ = room.control(name, arguments: arguments, actor: "chatroomctl:root", now: now, effects: &$0)
            }
        case 17:
            try checkRangeText(rawText())
            try checkRangeText(pick(RoomFuzzCheck.targets))
        case 18:
            let text = "/" + commandText() + rawText()
            if let client { try frame(client, text) }
        default:
            let text = pick(RoomFuzzCheck.texts) + pick(RoomFuzzCheck.nicks)
            if let client { try frame(client, text) }
        }
    }

    // MARK: Events

    private func connect(addressIndex index: Int) throws {
        guard phase.values.filter({ $0 != .gone }).count < RoomFuzzCheck.maximumConnections else { return }
        let client = ClientID(nextID)
        nextID += 1
        phase[client] = .open
        addressIndex[client] = index
        let address = RoomFuzzCheck.addresses[index]
        let banned = isBanned(index)
        try run(.connect(client), "connect \(client) from \(address)\(banned ? " (banned)" : "")") {
            room.connectionOpened(client, address: address, peer: "\(address):4000", now: now, effects: &$0)
        }
        if banned && phase[client] != .closing {
            throw Failure(text: "a connection from banned \(address) was not closed at once")
        }
    }

    private func frame(_ client: ClientID, _ text: String) throws {
        guard phase[client] == .open else { return }
        let shown = text.count > 60 ? String(text.prefix(60)) + "..." : text
        try run(.frame(client, text), "\(client) \(room.nick(of: client).map { "(\($0))" } ?? "(greeting)") sends \(shown.debugDescription)") { effects in
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { room.frameReceived($0, from: client, now: now, effects: &effects) }
        }
    }

    private func peerClosed(_ client: ClientID) throws {
        try run(.peerClosed(client), "\(client) closed (was \(phase[client].map { "\($0)" } ?? "?"))") {
            room.connectionClosed(client, reason: "fuzz", now: now, effects: &$0)
        }
        phase[client] = .gone
    }

    private func checkRangeText(_ text: String) throws {
        guard let range = IPRange(parsing: text) else { return }
        guard IPRange(parsing: range.description) == range else {
            throw Failure(text: "\(text.debugDescription) parses to \(range), which parses back to \(IPRange(parsing: range.description).map { "\($0)" } ?? "nothing")")
        }
        guard range.contains(range.network) else { throw Failure(text: "\(range) does not contain its own network") }
    }

    // MARK: Checking one event

    private func isBanned(_ index: Int) -> Bool {
        room.bans.contains { $0.range.contains(RoomFuzzCheck.addresses[index]) && !$0.isExpired(at: now.unixSeconds) }
    }

    private func snapshot() -> [ClientID: MemberSnapshot] {
        let admins = Dictionary(room.memberList(now: now).map { (Nickname.key($0.nick), $0.isAdmin) }) { a, _ in a }
        var result: [ClientID: MemberSnapshot] = [:]
        for client in room.members {
            let nick = room.nick(of: client) ?? "?"
            result[client] = MemberSnapshot(nick: nick, isAdmin: admins[Nickname.key(nick)] ?? false)
        }
        return result
    }

    private func run(_ event: Event, _ description: String, _ body: (inout [RoomEffect]) -> Void) throws {
        trace.append("t=\(now.nanoseconds / 1_000_000)ms \(description)")
        let bansBefore = RoomFuzzCheck.addresses.indices.map(isBanned)
        let membersBefore = members
        let before = snapshot()
        var produced: [RoomEffect] = []
        body(&produced)
        // Password checks answered at once, in order, as the daemon's workers would.
        var checkIndex = 0
        while checkIndex < produced.count {
            if case let .verifyPassword(check) = produced[checkIndex] {
                room.passwordChecked(check.id, matched: check.verifier.verify(password: check.password), now: now, effects: &produced)
            }
            checkIndex += 1
        }

        var current = members
        var closedNow: Set<ClientID> = []
        var toldNow: Set<ClientID> = []
        var broadcastPayloads: [[UInt8]] = []
        if case let .peerClosed(client) = event {
            current.remove(client)
            if phase[client] == .closing {
                // Already out of the Room: the close it asked for completed. Nothing more to say.
                if let effect = produced.first(where: { if case .log = $0 { return false }; return true }) {
                    throw Failure(text: "closing \(client) again produced \(describe(effect))")
                }
            }
        }
        for effect in produced {
            switch effect {
            case let .send(frame, to: target):
                try requireReachable(target, closedNow, "send")
                let payload = try onePayload(frame)
                toldNow.insert(target)
                if payload == Array(Notice.connected.utf8) {
                    if current.contains(target) { throw Failure(text: "\(target) told Connected twice") }
                    let index = addressIndex[target]!
                    if bansBefore[index] || isBanned(index) {
                        throw Failure(text: "\(target) joined from banned address \(RoomFuzzCheck.addresses[index])")
                    }
                    current.insert(target)
                }
            case let .broadcast(frame, to: recipients):
                let payload = try onePayload(frame)
                broadcastPayloads.append(payload)
                let text = String(decoding: payload, as: UTF8.self).debugDescription
                if Set(recipients).count != recipients.count { throw Failure(text: "broadcast \(text) names someone twice: \(recipients)") }
                for target in recipients { try requireReachable(target, closedNow, "broadcast \(text)") }
                let audience: Set<ClientID>
                if case .shutdown = event { audience = membersBefore } else { audience = current }
                let strangers = Set(recipients).subtracting(audience)
                let missed = audience.subtracting(recipients).subtracting(toldNow)
                if !strangers.isEmpty || !missed.isEmpty {
                    throw Failure(text: "broadcast \(text) went to \(sorted(recipients)); the members are \(sorted(audience))")
                }
            case let .close(target, _):
                try requireReachable(target, closedNow, "close")
                closedNow.insert(target)
                current.remove(target)
            case .log, .durableStateChanged, .verifyPassword:
                break
            }
        }
        for client in closedNow { phase[client] = .closing }
        members = current
        try checkRoomState()
        try checkBans(event, before: bansBefore, snapshot: before)
        try checkRemovals(event, removed: membersBefore.subtracting(current).union(closedNow), snapshot: before)
        try checkRelay(event, snapshot: before, broadcasts: broadcastPayloads, told: toldNow.union(closedNow))
        if room.relayedMessageCount < relayed { throw Failure(text: "relayedMessageCount went down") }
        relayed = room.relayedMessageCount
        if room.history.count > room.history.limit || room.history.limit != max(room.configuration.historyLimit, 0) {
            throw Failure(text: "history holds \(room.history.count) lines; its limit is \(room.history.limit), configured \(room.configuration.historyLimit)")
        }
        if case .shutdown = event {
            if !members.isEmpty || !room.members.isEmpty { throw Failure(text: "members remain after shutdown") }
            if let left = connections(in: .open).first { throw Failure(text: "\(left) not closed at shutdown") }
        }
    }

    private func requireReachable(_ target: ClientID, _ closedNow: Set<ClientID>, _ what: String) throws {
        guard let state = phase[target] else { throw Failure(text: "\(what) to unknown connection \(target)") }
        if state != .open || closedNow.contains(target) {
            throw Failure(text: "\(what) to \(target) after it was closed (\(closedNow.contains(target) ? "earlier in this event" : "\(state)"))")
        }
    }

    private func onePayload(_ frame: SharedBytes) throws -> [UInt8] {
        var decoder = FrameDecoder(maximumPayloadLength: Int.max)
        var payloads: [[UInt8]] = []
        do {
            try frame.withUnsafeBytes { bytes in
                try decoder.feed(bytes) { payloads.append(Array($0)); return true }
            }
        } catch {
            throw Failure(text: "the Room emitted a malformed frame: \(error)")
        }
        guard payloads.count == 1, decoder.bufferedByteCount == 0 else {
            throw Failure(text: "an effect carries \(payloads.count) frames and \(decoder.bufferedByteCount) stray bytes")
        }
        return payloads[0]
    }

    private func checkRoomState() throws {
        let list = room.members
        if Set(list).count != list.count { throw Failure(text: "a member is listed twice: \(list)") }
        if room.memberCount != list.count { throw Failure(text: "memberCount \(room.memberCount) but \(list.count) members") }
        if Set(list) != members {
            throw Failure(text: "the Room's members \(sorted(list)) are not those told Connected and not closed since \(sorted(members))")
        }
        var keys: Set<String> = []
        for member in list {
            guard phase[member] == .open else { throw Failure(text: "member \(member) is \(phase[member].map { "\($0)" } ?? "unknown")") }
            guard let nick = room.nick(of: member) else { throw Failure(text: "member \(member) has no nick") }
            if !keys.insert(Nickname.key(nick)).inserted { throw Failure(text: "two members share the nick \(nick)") }
        }
        if room.memberList(now: now).count != list.count { throw Failure(text: "memberList and members disagree") }
        for (client, state) in phase where state != .open || !members.contains(client) {
            if let nick = room.nick(of: client) { throw Failure(text: "non-member \(client) (\(state)) still has the nick \(nick)") }
        }
    }

    /// Which addresses a `/ban` (or the operator's `ban`) may ban: the named member's, or
    /// those inside the address or range typed, never the admin's own.
    private func bannable(_ name: String, _ arguments: String, by sender: ClientID?, snapshot: [ClientID: MemberSnapshot]) -> Set<Int> {
        guard name == "ban", let target = arguments.split(whereSeparator: \.isWhitespace).first.map(String.init) else { return [] }
        var indices: Set<Int> = []
        if let member = snapshot.first(where: { Nickname.key($0.value.nick) == Nickname.key(target) })?.key {
            if member == sender { return [] }
            indices = [addressIndex[member]!]
        } else if let range = IPRange(parsing: target) {
            indices = Set(RoomFuzzCheck.addresses.indices.filter { range.contains(RoomFuzzCheck.addresses[$0]) })
        }
        if let sender, let own = addressIndex[sender], indices.contains(own) { return [] }
        return indices
    }

    /// New bans only through a ban command; bans go away only through a command or with time.
    private func checkBans(_ event: Event, before: [Bool], snapshot: [ClientID: MemberSnapshot]) throws {
        let after = RoomFuzzCheck.addresses.indices.map(isBanned)
        var allowed: Set<Int> = []
        var isCommand = false
        switch event {
        case let .frame(sender, text):
            if let member = snapshot[sender], case let .command(name, arguments) = ClientRequest.parseMemberFrame(text) {
                isCommand = true
                if member.isAdmin { allowed = bannable(name, arguments, by: sender, snapshot: snapshot) }
            }
        case let .control(name, arguments):
            isCommand = true
            allowed = bannable(name, arguments, by: nil, snapshot: snapshot)
        case .time:
            isCommand = false
        default:
            break
        }
        for index in before.indices {
            if !before[index] && after[index] && !allowed.contains(index) {
                throw Failure(text: "\(RoomFuzzCheck.addresses[index]) was banned by an event that may only ban \(allowed.sorted().map { "\(RoomFuzzCheck.addresses[$0])" })")
            }
            if before[index] && !after[index] {
                var mayLift = isCommand
                if case .time = event { mayLift = true }
                if !mayLift { throw Failure(text: "the ban on \(RoomFuzzCheck.addresses[index]) went away without a command or time") }
            }
        }
    }

    /// Only an admin removes others (the operator too); anyone may remove themselves.
    private func checkRemovals(_ event: Event, removed: Set<ClientID>, snapshot: [ClientID: MemberSnapshot]) throws {
        guard case let .frame(sender, _) = event else { return }
        for client in removed where client != sender {
            if snapshot[sender]?.isAdmin != true {
                throw Failure(text: "\(sender) (\(snapshot[sender]?.nick ?? "not a member")) removed \(client)")
            }
        }
    }

    /// A member's chat line is relayed as exactly `nick: text`, or refused to the sender's
    /// face (a notice, or a close): never dropped in silence.
    private func checkRelay(_ event: Event, snapshot: [ClientID: MemberSnapshot], broadcasts: [[UInt8]], told: Set<ClientID>) throws {
        guard case let .frame(sender, text) = event, let nick = snapshot[sender]?.nick,
              case .chat = ClientRequest.parseMemberFrame(text) else { return }
        let prefix = Array("\(nick): ".utf8)
        let wanted = prefix + Array(text.utf8)
        for payload in broadcasts where payload.starts(with: prefix) && payload != wanted {
            throw Failure(text: "\(nick)'s chat \(text.debugDescription) went out as \(String(decoding: payload, as: UTF8.self).debugDescription)")
        }
        guard !text.isEmpty, !broadcasts.contains(wanted) else { return }  // an empty frame is ignored
        if !told.contains(sender) { throw Failure(text: "\(nick)'s chat \(text.debugDescription) was dropped without a word to \(nick)") }
    }

    private func sorted(_ clients: some Collection<ClientID>) -> [UInt64] { clients.map(\.rawValue).sorted() }

    private func describe(_ effect: RoomEffect) -> String {
        switch effect {
        case let .send(frame, to: c): return "send \(String(decoding: frame.array.dropFirst(64), as: UTF8.self).debugDescription) to \(c)"
        case let .broadcast(frame, to: cs): return "broadcast \(String(decoding: frame.array.dropFirst(64), as: UTF8.self).debugDescription) to \(sorted(cs))"
        case let .close(c, reason): return "close \(c) (\(reason))"
        case .log: return "log"
        case .durableStateChanged: return "durableStateChanged"
        case .verifyPassword: return "verifyPassword"
        }
    }
}
