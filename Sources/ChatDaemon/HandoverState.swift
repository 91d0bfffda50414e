import ChatCore
import ChatProtocol
import CLinux
import Foundation
import Glibc
import SystemCalls

/// Everything a successor process needs to carry on with every connection: the Room's
/// snapshot, and per connection its descriptor, its socket's inode (how a descriptor that
/// comes back from systemd's store, in no particular order, is recognised), the unfinished
/// frame it was sending and the output still queued for it; the listeners too. Written
/// into a sealed memory file, whose descriptor the successor inherits (named in
/// `$CHATROOMD_HANDOVER_FD`) or gets back from systemd's file descriptor store.
///
/// Format: `StateEncoding` after an 8-byte magic and a version. Version 1 (chatroomd
/// 0.3.0) was JSON and is still read; a version newer than `currentVersion` is refused
/// (a downgrade) rather than misread.
struct HandoverState {
    static let currentVersion = 2
    static let environmentKey = "CHATROOMD_HANDOVER_FD"
    static let magic = Array("CRDSTATE".utf8)

    struct Connection {
        var id: UInt64
        var fd: Int32
        /// The socket's inode (`fstat`): 0 when the predecessor (format 1) did not say.
        var inode: UInt64
        var address: String
        var input: [UInt8]
        var output: [UInt8]
    }

    var version: Int = currentVersion
    var room: RoomSnapshot
    var connections: [Connection]
    var listeners: [Int32]
    var controlListener: Int32?
    var controlPath: String?
    /// Monotonic nanoseconds when the predecessor stopped reading: the pause is measured
    /// from here to the successor's first turn.
    var pausedAt: UInt64
    /// The `chatroomctl restart` connection, answered by the successor.
    var replyFD: Int32?
    /// Connections whose login was being checked, told to send it again.
    var interruptedLogins: [UInt64]
    /// The decoy hash for unknown accounts, so the successor need not make one.
    var decoyHash: String?
    /// The crash journal's memory files (`CrashJournal`), kept by a successor in place.
    var journalFDs: [Int32] = []

    struct Problem: Error, CustomStringConvertible {
        let description: String
        /// The state is of a newer format than this program reads.
        var isNewer = false
    }

    func encoded() -> [UInt8] {
        var writer = StateWriter(reservingCapacity: 256 + room.connections.count * 96 + connections.count * 48)
        for byte in Self.magic { writer.u8(byte) }
        writer.u32(UInt32(version))
        room.write(to: &writer)
        writer.array(connections) { writer, connection in
            writer.u64(connection.id)
            writer.i32(connection.fd)
            writer.u64(connection.inode)
            writer.string(connection.address)
            writer.data(connection.input)
            writer.data(connection.output)
        }
        writer.array(listeners) { $0.i32($1) }
        writer.optional(controlListener) { $0.i32($1) }
        writer.optional(controlPath) { $0.string($1) }
        writer.u64(pausedAt)
        writer.optional(replyFD) { $0.i32($1) }
        writer.array(interruptedLogins) { $0.u64($1) }
        writer.optional(decoyHash) { $0.string($1) }
        writer.array(journalFDs) { $0.i32($1) }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(Problem) -> HandoverState {
        if bytes.first == UInt8(ascii: "{") { return try decodeVersion1(bytes) }
        guard bytes.count >= magic.count + 4, Array(bytes[..<magic.count]) == magic else {
            throw Problem(description: "the handover state is not chatroomd's (no magic)")
        }
        var reader = StateReader(bytes, offset: magic.count)
        do {
            let version = Int(try reader.u32())
            guard version <= currentVersion else {
                throw Problem(description: "the handover state has format \(version); this chatroomd \(ChatroomVersion.current) reads up to \(currentVersion) (a downgrade?)",
                              isNewer: true)
            }
            guard version >= 2 else { throw Problem(description: "the handover state claims format \(version), which is never binary") }
            let room = try RoomSnapshot.read(from: &reader)
            let connections = try reader.array { (r: inout StateReader) throws(StateReader.Malformed) in
                Connection(id: try r.u64(), fd: try r.i32(), inode: try r.u64(), address: try r.string(),
                           input: try r.data(), output: try r.data())
            }
            var state = HandoverState(
                version: version, room: room, connections: connections,
                listeners: try reader.array { (r: inout StateReader) throws(StateReader.Malformed) in try r.i32() },
                controlListener: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.i32() },
                controlPath: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.string() },
                pausedAt: try reader.u64(),
                replyFD: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.i32() },
                interruptedLogins: try reader.array { (r: inout StateReader) throws(StateReader.Malformed) in try r.u64() },
                decoyHash: try reader.optional { (r: inout StateReader) throws(StateReader.Malformed) in try r.string() })
            state.journalFDs = try reader.array { (r: inout StateReader) throws(StateReader.Malformed) in try r.i32() }
            return state
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "cannot decode the handover state: \(error)")
        }
    }

    /// Into a sealed memory file; returns its descriptor (close-on-exec still set).
    func write() throws(Problem) -> Int32 {
        do { return try SealedFile.create(name: "chatroomd-handover", contents: encoded()) } catch {
            throw Problem(description: "cannot write the handover state: \(error)")
        }
    }

    /// From the descriptor a predecessor left; the descriptor is closed.
    static func read(fd: Int32) throws(Problem) -> HandoverState {
        defer { close(fd) }
        let bytes: [UInt8]
        do { bytes = try SealedFile.contents(fd) } catch {
            throw Problem(description: "cannot read the handover state: \(error)")
        }
        return try decode(bytes)
    }

    /// Format 1, JSON, as chatroomd 0.3.0 wrote it.
    private static func decodeVersion1(_ bytes: [UInt8]) throws(Problem) -> HandoverState {
        struct Version1: Decodable {
            struct Connection: Decodable {
                var id: UInt64
                var fd: Int32
                var address: String
                var input: Data
                var output: Data
            }
            var version: Int
            var room: RoomSnapshot
            var connections: [Connection]
            var listeners: [Int32]
            var controlListener: Int32?
            var controlPath: String?
            var pausedAt: UInt64
            var replyFD: Int32?
            var interruptedLogins: [UInt64]
            var decoyHash: String?
        }
        let old: Version1
        do { old = try JSONDecoder().decode(Version1.self, from: Data(bytes)) } catch {
            throw Problem(description: "cannot decode the handover state (format 1): \(error)")
        }
        guard old.version == 1 else { throw Problem(description: "a JSON handover state claiming format \(old.version)") }
        return HandoverState(
            version: 1, room: old.room,
            connections: old.connections.map { Connection(id: $0.id, fd: $0.fd, inode: 0, address: $0.address,
                                                          input: Array($0.input), output: Array($0.output)) },
            listeners: old.listeners, controlListener: old.controlListener, controlPath: old.controlPath,
            pausedAt: old.pausedAt, replyFD: old.replyFD, interruptedLogins: old.interruptedLogins, decoyHash: old.decoyHash)
    }
}
