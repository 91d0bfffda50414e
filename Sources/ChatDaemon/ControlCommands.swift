import ChatCore
import Foundation

/// The control socket's requests: one frame `[--json] COMMAND ARGUMENTS`, one reply frame.
/// Moderation goes through the Room exactly as an admin's command would, with the actor
/// `chatroomctl:<user>` in the audit trail; queries read the Room's state.
enum ControlCommands {
    static let moderation: Set<String> = ["kick", "ban", "unban", "mute", "unmute", "slowmode", "say"]
    static let all = ["who", "bans", "stats", "reload"] + moderation.sorted()

    /// For the operator the Room ends every action that succeeded with one confirmation,
    /// and anything else (usage, no such member, no ban matches, ...) is a refusal. The
    /// Room's replies carry no status, so success is recognised by these openings.
    static let confirmations: [String: String] = [
        "kick": "Kicked ", "ban": "Banned ", "unban": "Lifted ", "mute": "Muted ", "unmute": "Unmuted ",
        "slowmode": "Slowmode is ", "say": "Said to ",
    ]

    static func run(_ request: String, actor: String, server: ChatServer) -> String {
        var text = request.trimmingWhitespace()
        var json = false
        if text == "--json" || text.hasPrefix("--json ") || text.hasPrefix("--json\t") {
            json = true
            text = String(text.dropFirst("--json".count)).trimmingWhitespace()
        }
        let word = text.prefix { !$0.isWhitespace }
        let command = word.lowercased()
        let arguments = String(text[word.endIndex...]).trimmingWhitespace()
        let now = server.currentTime()
        let room = server.room

        switch command {
        case "who":
            let members = room.memberList(now: now).sorted { $0.nick.lowercased() < $1.nick.lowercased() }
            if json {
                return encode(["ok": true, "members": members.map { ["nick": $0.nick, "admin": $0.isAdmin, "muted": $0.isMuted, "peer": $0.peer] as [String: Any] }])
            }
            if members.isEmpty { return "No members online." }
            return members.map { "\($0.nick)\($0.isAdmin ? " [admin]" : "")\($0.isMuted ? " [muted]" : "")  \($0.peer)" }.joined(separator: "\n")
        case "bans":
            if json {
                return encode(["ok": true, "sanctions": room.sanctions.filter { !$0.isExpired(at: now.unixSeconds) }.map { sanction -> [String: Any] in
                    var entry: [String: Any] = ["kind": sanction.kind.rawValue, "target": "\(sanction.range)",
                                                "set_by": sanction.setBy, "set_at": sanction.setAt]
                    if let nick = sanction.nick { entry["nick"] = nick }
                    if let reason = sanction.reason { entry["reason"] = reason }
                    if let expiresAt = sanction.expiresAt {
                        entry["expires_at"] = expiresAt
                        entry["seconds_left"] = max(expiresAt - now.unixSeconds, 0)
                    }
                    return entry
                }])
            }
            return server.runControl("bans", arguments: "", actor: actor).joined(separator: "\n")
        case "stats":
            let stats: [String: Any] = [
                "members": room.memberCount, "connections": server.connectionCount,
                "messages_relayed": room.relayedMessageCount, "bans": room.banCount, "mutes": room.mutes.count,
                "slowmode_seconds": room.slowmodeSeconds ?? 0, "history_lines": room.history.count,
                "uptime_seconds": Int(server.uptimeSeconds),
            ]
            if json { return encode(stats.merging(["ok": true]) { $1 }) }
            return stats.keys.sorted().map { "\($0): \(stats[$0]!)" }.joined(separator: "\n")
        case "reload":
            let summary = server.reload()
            let ok = !summary.hasPrefix("reload failed")
            return json ? encode(["ok": ok, "message": summary]) : ok ? summary : "error: \(summary)"
        case _ where moderation.contains(command):
            let replies = server.runControl(command, arguments: arguments, actor: actor)
            let ok = replies.last.map { $0.hasPrefix(confirmations[command]!) } ?? false
            let joined = replies.joined(separator: "\n")
            if json { return encode(ok ? ["ok": true, "messages": replies] : ["ok": false, "messages": replies, "error": joined]) }
            return ok ? joined : "error: \(joined)"
        default:
            let message = command.isEmpty ? "error: empty request" : "error: unknown command '\(command)'; commands: \(all.joined(separator: ", "))"
            return json ? encode(["ok": false, "error": message]) : message
        }
    }

    private static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
