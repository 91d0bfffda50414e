import ChatCore
import Foundation

/// The control socket's requests: one frame `[--json] COMMAND ARGUMENTS`, one reply frame.
/// Moderation goes through the Room exactly as an admin's command would, with the actor
/// `chatroomctl:<user>` in the audit trail; queries read the Room's state.
enum ControlCommands {
    static let moderation: Set<String> = ["kick", "ban", "unban", "mute", "unmute", "slowmode", "say"]
    static let all = ["who", "bans", "stats", "reload"] + moderation.sorted()

    static func run(_ request: String, actor: String, server: ChatServer) -> String {
        var text = request.trimmingWhitespace()
        var json = false
        if text.hasPrefix("--json") {
            json = true
            text = String(text.dropFirst("--json".count)).trimmingWhitespace()
        }
        let command = String(text.prefix { !$0.isWhitespace }).lowercased()
        let arguments = String(text.dropFirst(command.count)).trimmingWhitespace()
        let now = server.currentTime()
        let room = server.room

        switch command {
        case "who":
            let members = room.memberList(now: now).sorted { $0.nick.lowercased() < $1.nick.lowercased() }
            if json {
                return encode(["members": members.map { ["nick": $0.nick, "admin": $0.isAdmin, "muted": $0.isMuted, "peer": $0.peer] as [String: Any] }])
            }
            if members.isEmpty { return "No members online." }
            return members.map { "\($0.nick)\($0.isAdmin ? " [admin]" : "")\($0.isMuted ? " [muted]" : "")  \($0.peer)" }.joined(separator: "\n")
        case "bans":
            if json {
                return encode(["sanctions": room.sanctions.map { sanction -> [String: Any] in
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
            if json { return encode(stats) }
            return stats.keys.sorted().map { "\($0): \(stats[$0]!)" }.joined(separator: "\n")
        case "reload":
            let summary = server.reload()
            return json ? encode(["ok": !summary.hasPrefix("reload failed"), "message": summary]) : summary
        case _ where moderation.contains(command):
            let replies = server.runControl(command, arguments: arguments, actor: actor)
            return json ? encode(["ok": true, "messages": replies]) : replies.joined(separator: "\n")
        default:
            let message = command.isEmpty ? "error: empty request" : "error: unknown command '\(command)'; commands: \(all.joined(separator: ", "))"
            return json ? encode(["ok": false, "error": message]) : message
        }
    }

    private static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
