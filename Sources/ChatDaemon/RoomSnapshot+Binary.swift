import ChatCore

/// The Room's snapshot in `StateEncoding`'s binary form, field by field in declaration
/// order. Each part is written and read by one pair of functions, so a field added to
/// `RoomSnapshot` is added here twice, next to each other.
extension RoomSnapshot {
    func write(to writer: inout StateWriter) {
        writer.int(version)
        writer.array(connections) { $0.connection($1) }
        writer.array(sanctions) { writer, sanction in
            writer.string(sanction.kind)
            writer.string(sanction.range)
            writer.optional(sanction.nick) { $0.string($1) }
            writer.optional(sanction.reason) { $0.string($1) }
            writer.string(sanction.setBy)
            writer.i64(sanction.setAt)
            writer.optional(sanction.expiresAt) { $0.i64($1) }
        }
        writer.array(history) { writer, line in
            writer.i64(line.unixSeconds)
            writer.string(line.text)
            writer.string(line.address)
        }
        writer.optional(topic) { $0.string($1) }
        writer.optional(topicSetBy) { $0.string($1) }
        writer.optional(topicSetAt) { $0.i64($1) }
        writer.optional(slowmodeSeconds) { $0.int($1) }
        writer.u64(relayedMessageCount)
    }

    static func read(from reader: inout StateReader) throws(StateReader.Malformed) -> RoomSnapshot {
        let version = try reader.int()
        guard version >= 1, version <= RoomSnapshot.currentVersion else {
            throw StateReader.Malformed(description: "the room's state has version \(version); this chatroomd reads up to \(RoomSnapshot.currentVersion)")
        }
        let connections = try reader.array { (reader: inout StateReader) throws(StateReader.Malformed) in try reader.connection() }
        let sanctions = try reader.array { (reader: inout StateReader) throws(StateReader.Malformed) in
            StoredSanction(kind: try reader.string(), range: try reader.string(),
                           nick: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.string() },
                           reason: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.string() },
                           setBy: try reader.string(), setAt: try reader.i64(),
                           expiresAt: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.i64() })
        }
        let history = try reader.array { (reader: inout StateReader) throws(StateReader.Malformed) in
            Line(unixSeconds: try reader.i64(), text: try reader.string(), address: try reader.string())
        }
        return RoomSnapshot(
            version: version, connections: connections, sanctions: sanctions, history: history,
            topic: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.string() },
            topicSetBy: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.string() },
            topicSetAt: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.i64() },
            slowmodeSeconds: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.int() },
            relayedMessageCount: try reader.u64())
    }
}

extension StateWriter {
    /// One connection of the Room's snapshot (also a record of the crash journal).
    mutating func connection(_ connection: RoomSnapshot.Connection) {
        u64(connection.id)
        string(connection.address)
        string(connection.peer)
        u64(connection.openedAt)
        optional(connection.member) { writer, member in
            writer.string(member.nick)
            writer.bool(member.isAdmin)
            writer.optional(member.account) { $0.string($1) }
            writer.double(member.floodTokens)
            writer.u64(member.floodUpdatedAt)
            writer.int(member.floodStrikes)
            writer.optional(member.lastMessageAt) { $0.u64($1) }
        }
    }
}

extension StateReader {
    mutating func connection() throws(Malformed) -> RoomSnapshot.Connection {
        RoomSnapshot.Connection(
            id: try u64(), address: try string(), peer: try string(), openedAt: try u64(),
            member: try optional { (reader: inout StateReader) throws(Malformed) in
                RoomSnapshot.Member(nick: try reader.string(), isAdmin: try reader.bool(),
                                    account: try reader.optional { (r: inout StateReader) throws(Malformed) in try r.string() },
                                    floodTokens: try reader.double(), floodUpdatedAt: try reader.u64(),
                                    floodStrikes: try reader.int(),
                                    lastMessageAt: try reader.optional { (r: inout StateReader) throws(Malformed) in try r.u64() })
            })
    }
}
