import ChatCore

/// `chatroomctl who` and `stats` on a node of a cluster: the room is more than this
/// process, so `who` lists every member with its node (the Room's one list, the same as
/// `/who`'s) and `stats` gives the room-wide member counts apart from this node's figures.
extension ControlCommands {
    static func clusterWho(json: Bool, now: RoomTime, server: ChatServer) -> String {
        let members = server.room.clusterMembers(now: now)
        if json {
            return encode(.object(["ok": true, "members": .array(members.map { entry in
                var object: [String: JSON] = ["nick": .string(entry.nick), "node": .string(entry.node), "local": .bool(entry.local != nil)]
                if let local = entry.local {
                    object["admin"] = .bool(local.isAdmin)
                    object["muted"] = .bool(local.isMuted)
                    object["peer"] = .string(local.peer)
                }
                return .object(object)
            })]))
        }
        if members.isEmpty { return "No members online." }
        // Another node's member: its flags and address are known only on its node.
        return members.map { entry in
            guard let local = entry.local else { return "\(entry.nick)  node \(entry.node)" }
            return "\(entry.nick)\(local.isAdmin ? " [admin]" : "")\(local.isMuted ? " [muted]" : "")  node \(entry.node)  \(local.peer)"
        }.joined(separator: "\n")
    }

    /// `nodeStats` are the single node's figures, labelled here as this node's.
    static func clusterStats(_ nodeStats: [(String, Int)], json: Bool, now: RoomTime, server: ChatServer) -> String {
        let room = server.room
        let node = room.clusterNode ?? ""
        let members = room.clusterMembers(now: now)
        let nodes = Set(members.map(\.node)).union([node])
        let roomStats: [(String, Int)] = [("room_members", members.count), ("room_nodes", nodes.count)]
        if json {
            var object: [String: JSON] = ["ok": true, "node": .string(node), "room": .string(server.settings.roomName),
                                          "cluster_linked": .bool(room.isClusterLinked)]
            for (key, value) in roomStats + nodeStats { object[key] = .int(value) }
            return encode(.object(object))
        }
        let link = room.isClusterLinked ? "linked" : "split: the other nodes' members are not counted"
        return (["room \(server.settings.roomName), every node (\(link)):"] + roomStats.map { "\($0.0): \($0.1)" }
                + ["this node, \(node):"] + nodeStats.map { "\($0.0): \($0.1)" }).joined(separator: "\n")
    }
}
