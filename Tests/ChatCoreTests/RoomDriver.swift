import Bytes
import ChatCore
import ChatProtocol
import Testing

/// One effect, rendered for reading and comparing: what kind it is, the text (a frame's
/// payload, decoded and checked to be exactly one well-formed frame), and who it is for,
/// by connection label, sorted (the Room does not promise an order within a broadcast).
/// Close reasons and log records are kept aside, so tables assert on what clients see.
struct Out: Equatable, CustomStringConvertible {
    enum Kind: String { case send, broadcast, close, saveState }
    var kind: Kind
    var text: String
    var to: [String]

    static func send(_ text: String, to label: String) -> Out { Out(kind: .send, text: text, to: [label]) }
    static func broadcast(_ text: String, to labels: [String]) -> Out {
        Out(kind: .broadcast, text: text, to: labels.sorted())
    }
    static func close(_ label: String) -> Out { Out(kind: .close, text: "", to: [label]) }
    /// `.durableStateChanged`: the ban list must be saved.
    static let saveState = Out(kind: .saveState, text: "", to: [])

    var description: String {
        switch kind {
        case .close: return "close(\(to[0]))"
        case .saveState: return "saveState"
        case .send, .broadcast: return "\(kind.rawValue)(\(text.debugDescription) -> \(to.joined(separator: ",")))"
        }
    }
}

/// Drives a Room with named connections and renders what comes out.
final class RoomDriver {
    let room: Room
    var now = RoomTime.zero
    private var ids: [String: ClientID] = [:]
    private var labels: [ClientID: String] = [:]
    private var addresses: [String: IPAddress] = [:]
    private var nextID: UInt64 = 1
    /// The log records of the last event, in order.
    private(set) var logs: [RoomLogRecord] = []
    /// The close reasons of the last event, by connection label.
    private(set) var closeReasons: [String: String] = [:]
    /// Replies to the operator (`Room.control`) of the last event.
    private(set) var controlReplies: [String] = []
    /// Whether the last operator command was carried out.
    private(set) var controlSucceeded = false

    static let secret = "secret"

    convenience init(adminPassword: String? = RoomDriver.secret, logMessageBodies: Bool = false,
                     bannedAddresses: Set<IPAddress> = []) {
        self.init(configuration: .init(adminPasswordHash: adminPassword.map(TestPassword.of(password:)),
                                       logMessageBodies: logMessageBodies),
                  sanctions: Self.permanentBans(bannedAddresses))
    }

    /// A Room with any configuration, restored sanctions and history, starting at `now`.
    init(configuration: Room.Configuration, sanctions: [Sanction] = [], history: [History.Entry] = [],
         topic: Topic? = nil, bannedAddresses: Set<IPAddress> = [], now: RoomTime = .zero) {
        room = Room(configuration: configuration, sanctions: sanctions + Self.permanentBans(bannedAddresses), history: history,
                    topic: topic)
        self.now = now
    }

    /// Permanent bans on single addresses, as restored from an old state directory.
    static func permanentBans(_ addresses: Set<IPAddress>) -> [Sanction] {
        addresses.sorted { $0.description < $1.description }.map { Sanction(kind: .ban, range: IPRange($0), setBy: "restored", setAt: 0) }
    }

    /// Whether a connection from `address` would be refused by an unexpired ban.
    func isBanned(_ address: IPAddress) -> Bool {
        room.bans.contains { $0.range.contains(address) && !$0.isExpired(at: now.unixSeconds) }
    }

    /// A configuration with the admin account `admin:secret` and whatever else is given.
    static func configuration(accounts: [String: any PasswordVerifier] = [:], historyLimit: Int = 50,
                              floodRate: Double = 10, floodBurst: Double = 20, floodDisconnectAfter: Int = 100,
                              handshakeTimeoutSeconds: Double = 10, slowmodeSeconds: Int? = nil) -> Room.Configuration {
        Room.Configuration(adminPasswordHash: TestPassword.of(password: secret), accounts: accounts,
                           historyLimit: historyLimit, floodRate: floodRate, floodBurst: floodBurst,
                           floodDisconnectAfter: floodDisconnectAfter, handshakeTimeoutSeconds: handshakeTimeoutSeconds,
                           slowmodeSeconds: slowmodeSeconds)
    }

    /// 2023-11-14 22:13:20 UTC on the wall clock (1_700_000_000), 1000 s on the monotonic one.
    static let wallStart = RoomTime(nanoseconds: 1_000_000_000_000, unixNanoseconds: 1_700_000_000_000_000_000)
    /// The operator's actor name in `Room.control`.
    static let operatorActor = "chatroomctl:root"

    /// Moves both clocks forward.
    func advance(_ seconds: Double) { now = now.adding(seconds: seconds) }

    func id(_ label: String) -> ClientID {
        guard let id = ids[label] else { preconditionFailure("no connection called \(label)") }
        return id
    }

    func address(_ label: String) -> IPAddress { addresses[label]! }

    /// Opens a new connection called `label` (replacing any earlier one of that name).
    /// Every label gets an address of its own unless one is given.
    @discardableResult
    func open(_ label: String, address: IPAddress? = nil, secure: Bool = false) -> [Out] {
        let id = ClientID(nextID)
        nextID += 1
        ids[label] = id
        labels[id] = label
        let address = address ?? IPAddress(v4: 10, 0, 0, UInt8(truncatingIfNeeded: id.rawValue))
        addresses[label] = address
        return run { room.connectionOpened(id, address: address, peer: Self.peer(address, id), secure: secure, now: now, effects: &$0) }
    }

    /// The peer text the driver gives a connection: `10.0.0.2:40002`, `[2001:db8::1]:40005`.
    static func peer(_ address: IPAddress, _ id: ClientID) -> String {
        switch address {
        case .v4: return "\(address):\(40000 + id.rawValue)"
        case .v6: return "[\(address)]:\(40000 + id.rawValue)"
        }
    }

    /// The peer text of the connection called `label`.
    func peer(_ label: String) -> String { Self.peer(address(label), id(label)) }

    @discardableResult
    func receive(_ label: String, _ text: String) -> [Out] {
        receive(label, bytes: Array(text.utf8))
    }

    @discardableResult
    func receive(_ label: String, bytes: [UInt8]) -> [Out] {
        let id = id(label)
        return run { effects in
            bytes.withUnsafeBytes { room.frameReceived($0, from: id, now: now, effects: &effects) }
        }
    }

    @discardableResult
    func closed(_ label: String, reason: String = "connection closed by peer") -> [Out] {
        let id = id(label)
        return run { room.connectionClosed(id, reason: reason, now: now, effects: &$0) }
    }

    @discardableResult
    func violation(_ label: String, _ description: String) -> [Out] {
        let id = id(label)
        return run { room.protocolViolation(id, description: description, now: now, effects: &$0) }
    }

    @discardableResult
    func shutdown() -> [Out] {
        run { room.shutdown(now: now, effects: &$0) }
    }

    /// Time passed: `Room.tick` at `now`.
    @discardableResult
    func tick() -> [Out] {
        run { room.tick(now: now, effects: &$0) }
    }

    /// A command from the local operator; its replies land in `controlReplies`, whether it
    /// was carried out in `controlSucceeded`.
    @discardableResult
    func control(_ command: String, _ arguments: String = "", actor: String = RoomDriver.operatorActor) -> [Out] {
        var outcome = ControlOutcome(succeeded: false, lines: [])
        let outs = run { outcome = room.control(command, arguments: arguments, actor: actor, now: now, effects: &$0) }
        controlReplies = outcome.lines
        controlSucceeded = outcome.succeeded
        return outs
    }

    /// A configuration reload.
    @discardableResult
    func reconfigure(_ configuration: Room.Configuration) -> [Out] {
        run { room.reconfigure(configuration, now: now, effects: &$0) }
    }

    /// Slowmode changed by a configuration reload.
    @discardableResult
    func applySlowmode(_ seconds: Int?, by actor: String = "configuration") -> [Out] {
        run { room.applySlowmode(seconds, by: actor, effects: &$0) }
    }

    /// Opens a connection and sends `NICK:<nick>` (the label by default).
    @discardableResult
    func join(_ label: String, nick: String? = nil, address: IPAddress? = nil) -> [Out] {
        open(label, address: address) + receive(label, "NICK:\(nick ?? label)")
    }

    /// Opens a connection and logs in as the admin.
    @discardableResult
    func joinAdmin(_ label: String = "admin", password: String = RoomDriver.secret, address: IPAddress? = nil) -> [Out] {
        open(label, address: address) + receive(label, "admin:\(password)")
    }

    /// The nicks in the room, sorted.
    var memberNicks: [String] {
        room.members.compactMap { room.nick(of: $0) }.sorted()
    }

    /// The labels of the connections that are members, sorted.
    var memberLabels: [String] {
        room.members.map { labels[$0] ?? "?" }.sorted()
    }

    /// Password checks are answered at once, in order, as a worker would (false: they
    /// wait in `pendingChecks` for `answerCheck`).
    var completesPasswordChecks = true
    private(set) var pendingChecks: [PasswordCheck] = []

    /// Answers a waiting password check, as the daemon's worker would.
    @discardableResult
    func answerCheck(_ check: PasswordCheck) -> [Out] {
        pendingChecks.removeAll { $0.id == check.id }
        return run { room.passwordChecked(check.id, matched: check.verifier.verify(password: check.password), now: now, effects: &$0) }
    }

    private func run(_ event: (inout [RoomEffect]) -> Void) -> [Out] {
        var effects: [RoomEffect] = []
        event(&effects)
        logs = []
        closeReasons = [:]
        controlReplies = []
        var outs: [Out] = []
        var index = 0
        while index < effects.count {
            switch effects[index] {
            case let .send(frame, to: id):
                outs.append(.send(Self.payload(of: frame), to: label(id)))
            case let .broadcast(frame, to: recipients):
                #expect(Set(recipients).count == recipients.count, "a broadcast names a recipient twice")
                outs.append(.broadcast(Self.payload(of: frame), to: recipients.map(label)))
            case let .close(id, reason):
                closeReasons[label(id)] = reason
                outs.append(.close(label(id)))
            case let .log(record):
                logs.append(record)
            case .durableStateChanged:
                outs.append(.saveState)
            case let .verifyPassword(check):
                if completesPasswordChecks {
                    room.passwordChecked(check.id, matched: check.verifier.verify(password: check.password), now: now, effects: &effects)
                } else {
                    pendingChecks.append(check)
                }
            }
            index += 1
        }
        return outs
    }

    private func label(_ id: ClientID) -> String { labels[id] ?? "\(id)" }

    /// The event names of the last event's log records, in order.
    var logEvents: [String] { logs.map(\.event) }

    /// The one log record of the last event named `event` (a test failure if there is not exactly one).
    func log(_ event: String, sourceLocation: SourceLocation = #_sourceLocation) -> RoomLogRecord? {
        let matching = logs.filter { $0.event == event }
        #expect(matching.count == 1, "expected one \(event) record, got \(logs.map(\.summary))", sourceLocation: sourceLocation)
        return matching.first
    }

    /// Decodes an encoded frame and checks that it is exactly one well-formed frame.
    static func payload(of frame: SharedBytes) -> String {
        var decoder = FrameDecoder()
        var payloads: [[UInt8]] = []
        do {
            try frame.withUnsafeBytes { bytes in
                try decoder.feed(bytes) { payloads.append(Array($0)); return true }
            }
        } catch {
            Issue.record("the Room produced a malformed frame: \(error)")
        }
        #expect(payloads.count == 1, "one effect carries exactly one frame")
        #expect(decoder.bufferedByteCount == 0, "no trailing bytes after the frame")
        return payloads.first.map { String(decoding: $0, as: UTF8.self) } ?? "<no frame>"
    }
}

/// An address from its text; a test failure (and a crash) if it does not parse.
func ip(_ text: String) -> IPAddress {
    guard let address = IPAddress(parsing: text) else { preconditionFailure("not an address: \(text)") }
    return address
}

/// An account whose password is compared as plain text: a `PasswordVerifier` for tests.
struct PlainPassword: PasswordVerifier {
    let password: String
    init(_ password: String) { self.password = password }
    func verify(password: String) -> Bool { password == self.password }
    var isLegacy: Bool { false }
    var fingerprint: String { "plain:" + password }
}

extension RoomLogRecord {
    var summary: String { "\(event) \(fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))" }
}
