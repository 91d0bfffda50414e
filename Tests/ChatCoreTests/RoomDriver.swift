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

    static let secret = "secret"

    init(adminPassword: String? = RoomDriver.secret, logMessageBodies: Bool = false,
         bannedAddresses: Set<IPAddress> = []) {
        room = Room(configuration: .init(adminPasswordHash: adminPassword.map(AdminPasswordHash.of(password:)),
                                         logMessageBodies: logMessageBodies),
                    bannedAddresses: bannedAddresses)
    }

    func id(_ label: String) -> ClientID {
        guard let id = ids[label] else { preconditionFailure("no connection called \(label)") }
        return id
    }

    func address(_ label: String) -> IPAddress { addresses[label]! }

    /// Opens a new connection called `label` (replacing any earlier one of that name).
    /// Every label gets an address of its own unless one is given.
    @discardableResult
    func open(_ label: String, address: IPAddress? = nil) -> [Out] {
        let id = ClientID(nextID)
        nextID += 1
        ids[label] = id
        labels[id] = label
        let address = address ?? IPAddress(v4: 10, 0, 0, UInt8(truncatingIfNeeded: id.rawValue))
        addresses[label] = address
        return run { room.connectionOpened(id, address: address, peer: "\(address):\(40000 + id.rawValue)", now: now, effects: &$0) }
    }

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

    private func run(_ event: (inout [RoomEffect]) -> Void) -> [Out] {
        var effects: [RoomEffect] = []
        event(&effects)
        logs = []
        closeReasons = [:]
        controlReplies = []
        var outs: [Out] = []
        for effect in effects {
            switch effect {
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
            case let .controlReply(text):
                controlReplies.append(text)
            }
        }
        return outs
    }

    private func label(_ id: ClientID) -> String { labels[id] ?? "\(id)" }

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

extension RoomLogRecord {
    var summary: String { "\(event) \(fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))" }
}
