/// One message on a room's Redis channel, shared by every node of the room.
///
/// Encoding, version 1: the byte `1`, a kind byte, then fields, each as its byte count in
/// decimal, a colon and the bytes (`5:alice`). Simple enough for the Lua scripts that
/// announce a dead node's members to write, compact, and with no escaping of text that may
/// hold any character. A receiver ignores a version or kind it does not know, so a newer
/// node can join a room of older ones.
public struct ClusterMessage: Equatable, Sendable {
    public enum Body: Equatable, Sendable {
        /// A text every member sees; `kept` lines (chat, `/me`) also go into the history,
        /// with the speaker's address (`from`), so that `/ban --purge` finds them on any node.
        case line(String, kept: Bool, from: IPAddress? = nil)
        /// A member of the sending node joined or left: the roster every node keeps of the
        /// others' members. What the room is shown travels separately, as a `line`.
        case joined(nick: String)
        case left(nick: String)
        /// The sending node's lease ran out (it died or was cut off): these were its members.
        /// Published by whichever node noticed, on the dead node's behalf.
        case nodeGone(nicks: [String])
        /// Published by the script that links a node, inside it: on the node's own
        /// subscription, what comes before it predates the link and what follows does not.
        /// The sequence is the link attempt's. Other nodes ignore it.
        case linkMarker
        /// `/msg` to a member of another node: shown by the node that has `to`.
        case privateMessage(from: String, to: String, text: String)
        /// `/kick` of a member of another node: carried out by the node that has `nick`
        /// (the room is told by the kicking node, as a `line`).
        case kick(nick: String, reason: String?, by: String)
        /// The topic set or cleared (`text` nil) on some node.
        case topic(text: String?, setBy: String, setAt: Int64)
        /// `/ban` or `/mute` of a member of another node: run there, as `by` (the node that
        /// has `target` runs it; its result comes back as lines and a `sanctions` message).
        case command(target: String, name: String, arguments: String, by: String)
        /// Every ban and mute, and slowmode, after one change (`SanctionChange`) that the
        /// sending node made, as Redis' script applied it to the list Redis keeps: every node
        /// takes the list as it is, in the channel's order, so all hold Redis' list and
        /// changes made at once on two nodes both hold. `purged`: a `/ban --purge`'s range,
        /// whose lines every node removes from its history.
        case sanctions([Sanction], slowmode: Int?, purged: IPRange? = nil)
    }

    /// The node that sent it (or, for `nodeGone`, the node that is gone).
    public var node: String
    /// Per sending node, increasing: how a node recognises its own line coming back.
    public var sequence: UInt64
    public var body: Body

    public init(node: String, sequence: UInt64, body: Body) {
        self.node = node
        self.sequence = sequence
        self.body = body
    }

    static let version = UInt8(ascii: "1")

    public func encoded() -> [UInt8] {
        var out: [UInt8] = [Self.version]
        out.reserveCapacity(32 + node.utf8.count)
        func field(_ text: String) {
            out.append(contentsOf: String(text.utf8.count).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: text.utf8)
        }
        switch body {
        case .line: out.append(UInt8(ascii: "L"))
        case .joined: out.append(UInt8(ascii: "J"))
        case .left: out.append(UInt8(ascii: "P"))
        case .nodeGone: out.append(UInt8(ascii: "G"))
        case .linkMarker: out.append(UInt8(ascii: "N"))
        case .privateMessage: out.append(UInt8(ascii: "M"))
        case .kick: out.append(UInt8(ascii: "K"))
        case .topic: out.append(UInt8(ascii: "T"))
        case .command: out.append(UInt8(ascii: "C"))
        case .sanctions: out.append(UInt8(ascii: "S"))
        }
        field(node)
        field(String(sequence))
        switch body {
        case let .line(text, kept, from):
            // `k` and the speaker's address in hex (an older node reads only the `k`).
            field(kept ? "k" + (from?.hex ?? "") : "")
            field(text)
        case let .joined(nick), let .left(nick):
            field(nick)
        case let .nodeGone(nicks):
            for nick in nicks { field(nick) }
        case .linkMarker:
            break
        case let .privateMessage(from, to, text):
            field(from)
            field(to)
            field(text)
        case let .kick(nick, reason, by):
            field(nick)
            field(by)
            if let reason { field(reason) }
        case let .topic(text, setBy, setAt):
            field(setBy)
            field(String(setAt))
            if let text { field(text) }
        case let .command(target, name, arguments, by):
            field(target)
            field(name)
            field(arguments)
            field(by)
        case let .sanctions(list, slowmode, purged):
            field(slowmode.map(String.init) ?? "")
            // Present only with a purge: 3 + 7n fields without, 4 + 7n with.
            if let purged { field("\(purged)") }
            for sanction in list {
                field(sanction.kind.rawValue)
                field("\(sanction.range)")
                field(sanction.nick ?? "")
                field(sanction.reason ?? "")
                field(sanction.setBy)
                field(String(sanction.setAt))
                field(sanction.expiresAt.map(String.init) ?? "")
            }
        }
        return out
    }

    /// The bytes of the field (`LENGTH:BYTES`) that starts at `index`; nil if there is none
    /// (no digits, no colon, or a length past the end). The next field starts at its end.
    static func field(in bytes: UnsafeRawBufferPointer, at start: Int) -> Range<Int>? {
        var index = start
        var length = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), digits < 10 {
            length = length * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
            digits += 1
        }
        guard digits > 0, index < bytes.count, bytes[index] == UInt8(ascii: ":"), index + 1 + length <= bytes.count else { return nil }
        return (index + 1)..<(index + 1 + length)
    }

    /// Nil for anything that is not a well-formed version-1 message.
    public init?(decoding bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 2, bytes[0] == Self.version else { return nil }
        var fields: [String] = []
        var index = 2
        while index < bytes.count {
            guard let field = Self.field(in: bytes, at: index) else { return nil }
            fields.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field]), as: UTF8.self))
            index = field.upperBound
        }
        guard fields.count >= 2, let sequence = UInt64(fields[1]) else { return nil }
        node = fields[0]
        self.sequence = sequence
        switch bytes[1] {
        case UInt8(ascii: "L"):
            guard fields.count == 4 else { return nil }
            let kept = fields[2].first == "k"
            body = .line(fields[3], kept: kept, from: kept ? IPAddress(hex: fields[2].dropFirst()) : nil)
        case UInt8(ascii: "J"), UInt8(ascii: "P"):
            guard fields.count == 3 else { return nil }
            body = bytes[1] == UInt8(ascii: "J") ? .joined(nick: fields[2]) : .left(nick: fields[2])
        case UInt8(ascii: "G"):
            body = .nodeGone(nicks: Array(fields.dropFirst(2)))
        case UInt8(ascii: "N"):
            guard fields.count == 2 else { return nil }
            body = .linkMarker
        case UInt8(ascii: "M"):
            guard fields.count == 5 else { return nil }
            body = .privateMessage(from: fields[2], to: fields[3], text: fields[4])
        case UInt8(ascii: "K"):
            guard fields.count == 4 || fields.count == 5 else { return nil }
            body = .kick(nick: fields[2], reason: fields.count == 5 ? fields[4] : nil, by: fields[3])
        case UInt8(ascii: "T"):
            guard fields.count == 4 || fields.count == 5, let setAt = Int64(fields[3]) else { return nil }
            body = .topic(text: fields.count == 5 ? fields[4] : nil, setBy: fields[2], setAt: setAt)
        case UInt8(ascii: "C"):
            guard fields.count == 6 else { return nil }
            body = .command(target: fields[2], name: fields[3], arguments: fields[4], by: fields[5])
        case UInt8(ascii: "S"):
            guard fields.count >= 3, (fields.count - 3) % 7 == 0 || (fields.count - 4) % 7 == 0 else { return nil }
            let slowmode = fields[2].isEmpty ? nil : Int(fields[2])
            var purged: IPRange? = nil
            var index = 3
            if (fields.count - 4) % 7 == 0 {
                guard let range = IPRange(parsing: fields[3]) else { return nil }
                purged = range
                index = 4
            }
            var list: [Sanction] = []
            while index < fields.count {
                let f = fields[index..<(index + 7)].map { $0 }
                guard let kind = Sanction.Kind(rawValue: f[0]), let range = IPRange(parsing: f[1]), let setAt = Int64(f[5]) else { return nil }
                list.append(Sanction(kind: kind, range: range, nick: f[2].isEmpty ? nil : f[2], reason: f[3].isEmpty ? nil : f[3],
                                     setBy: f[4], setAt: setAt, expiresAt: f[6].isEmpty ? nil : Int64(f[6])))
                index += 7
            }
            body = .sanctions(list, slowmode: slowmode, purged: purged)
        default:
            return nil
        }
    }
}
