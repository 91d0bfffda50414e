import ChatCore
import ChatProtocol
import Foundation
import Reactor

/// What the control socket answers. The daemon's own queries (`who`, `stats`, `reload`,
/// and `bans` in JSON) are here; every other command is a Room command the operator may
/// run (`Room.operatorCommands`), carried out with the same rules and audit trail as an
/// admin's, with the actor `chatroomctl:<user>`.
enum ControlCommands {
    /// The daemon's queries, besides the Room's commands.
    static let queries = ["who", "stats", "reload", "restart"]
    static var all: [String] { queries + Room.operatorCommands.map(\.name) }

    static func run(_ request: String, actor: String, connection: ConnectionID, server: ChatServer) -> String {
        let (json, command, arguments) = ControlSyntax.parse(request)
        let room = server.room
        let now = server.currentTime()
        switch command {
        case "who" where room.clusterNode != nil:
            return clusterWho(json: json, now: now, server: server)
        case "who":
            let members = room.memberList(now: now).sorted { $0.nick.lowercased() < $1.nick.lowercased() }
            if json { return encode(.object(["ok": true, "members": .array(members.map(memberJSON))])) }
            if members.isEmpty { return "No members online." }
            return members.map { "\($0.nick)\($0.isAdmin ? " [admin]" : "")\($0.isMuted ? " [muted]" : "")  \($0.peer)" }.joined(separator: "\n")
        case "bans" where json:
            let active = room.sanctions.filter { !$0.isExpired(at: now.unixSeconds) }
            return encode(.object(["ok": true, "sanctions": .array(active.map { sanctionJSON($0, now: now) })]))
        case "stats":
            let stats: [(String, Int)] = [
                ("bans", room.banCount), ("connections", server.connectionCount), ("history_lines", room.history.count),
                ("longest_turn_ms", Int(server.reactor.longestTurnNanoseconds / 1_000_000)),
                ("members", room.memberCount), ("messages_relayed", Int(clamping: room.relayedMessageCount)),
                ("mutes", room.mutes.count), ("slowmode_seconds", room.slowmodeSeconds ?? 0),
                ("state_unsaved", server.unsavedState == nil ? 0 : 1), ("uptime_seconds", Int(server.uptimeSeconds)),
            ]
            if room.clusterNode != nil { return clusterStats(stats, json: json, now: now, server: server) }
            if json { return encode(.object(Dictionary(uniqueKeysWithValues: stats.map { ($0.0, JSON.int($0.1)) }).merging(["ok": true]) { $1 })) }
            return stats.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
        case "reload":
            let outcome = server.reload()
            if json { return encode(.object(["ok": .bool(outcome.succeeded), "message": .string(outcome.lines.joined(separator: "\n"))])) }
            return (outcome.succeeded ? "" : ControlSyntax.errorPrefix) + outcome.lines.joined(separator: "\n")
        case "restart":
            // Returns only if the restart failed: on success this process has become the
            // new program, which answers.
            let reason = server.handOver(trigger: "chatroomctl restart by \(actor)", replyTo: connection)
            let message = "restart failed, still serving: \(reason)"
            return json ? encode(.object(["ok": false, "error": .string(ControlSyntax.errorPrefix + message)])) : ControlSyntax.errorPrefix + message
        case _ where Room.command(named: command)?.operatorMayUse == true:
            let outcome = server.runControl(command, arguments: arguments, actor: actor)
            let joined = outcome.lines.joined(separator: "\n")
            if json {
                var object: [String: JSON] = ["ok": .bool(outcome.succeeded), "messages": .array(outcome.lines.map(JSON.string))]
                if !outcome.succeeded { object["error"] = .string(joined) }
                return encode(.object(object))
            }
            return outcome.succeeded ? joined : ControlSyntax.errorPrefix + joined
        default:
            let message = command.isEmpty ? "empty request" : "unknown command '\(command)'; commands: \(all.joined(separator: ", "))"
            return json ? encode(.object(["ok": false, "error": .string(ControlSyntax.errorPrefix + message)])) : ControlSyntax.errorPrefix + message
        }
    }

    private static func memberJSON(_ member: Room.MemberInfo) -> JSON {
        .object(["nick": .string(member.nick), "admin": .bool(member.isAdmin), "muted": .bool(member.isMuted), "peer": .string(member.peer)])
    }

    private static func sanctionJSON(_ sanction: Sanction, now: RoomTime) -> JSON {
        var entry: [String: JSON] = ["kind": .string(sanction.kind.rawValue), "target": .string("\(sanction.range)"),
                                     "set_by": .string(sanction.setBy), "set_at": .int(Int(sanction.setAt))]
        if let nick = sanction.nick { entry["nick"] = .string(nick) }
        if let reason = sanction.reason { entry["reason"] = .string(reason) }
        if let expiresAt = sanction.expiresAt {
            entry["expires_at"] = .int(Int(expiresAt))
            entry["seconds_left"] = .int(Int(sanction.secondsLeft(at: now) ?? 0))
        }
        return .object(entry)
    }

    static func encode(_ value: JSON) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A JSON value for the control socket's replies, written with Foundation's `JSONEncoder`
/// like the state files.
enum JSON: Encodable, ExpressibleByBooleanLiteral {
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(booleanLiteral value: Bool) { self = .bool(value) }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .bool(value): try container.encode(value)
        case let .int(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }
}
