import ChatCore
import ChatProtocol
import CLinux
import Glibc

/// What a successor needs if this process dies without warning (`kill -9`, the watchdog):
/// who each stored connection is. Two memory files in systemd's file descriptor store,
/// each a base (the Room's snapshot, and each connection's socket inode) followed by a
/// log of records, one per change to a connection (opened, joined, renamed, logged in or
/// out, gone). A change costs one `pwrite` of a record; when the log grows past the base,
/// a new base goes into the other file, which becomes the one written to.
///
/// A crash can interrupt any write. A record carries its length and checksum, so a torn
/// last record is ignored; a base is written before the header that vouches for it (its
/// sequence number, length and checksum), so a torn base leaves the other file, whole
/// and one base older, to be read instead. The files are written in place, not sealed:
/// systemd's duplicates are the same files, so every write reaches the store at once.
final class CrashJournal {
    static let storeName = "journal"
    static let currentVersion: UInt32 = 1
    static let magic = Array("CRDJRNL\0".utf8)
    static let headerLength = 40

    /// A connection as the journal knows it.
    enum Record {
        case connection(RoomSnapshot.Connection, inode: UInt64)
        case gone(id: UInt64)
    }

    struct Problem: Error, CustomStringConvertible {
        let description: String
        var isNewer = false
    }

    let fds: [Int32]
    private(set) var activeIndex = 0
    private var sequence: UInt64 = 0
    private var end = 0
    private var recordCount = 0
    private var baseLength = 0
    private var writer = StateWriter()

    /// Two new memory files, to be handed to the store (`fds`).
    init() throws(Problem) {
        var created: [Int32] = []
        for name in ["chatroomd-journal-a", "chatroomd-journal-b"] {
            let fd = clinux_memfd(name)
            guard fd >= 0 else {
                for fd in created { close(fd) }
                throw Problem(description: "memfd_create: \(String(cString: strerror(errno)))")
            }
            created.append(fd)
        }
        fds = created
    }

    /// The files a predecessor used (from the store, or across an exec), written on from
    /// here with a new base, which the caller writes next. The store gives them back in no
    /// particular order: the first new base goes into the older file, so that a crash
    /// while writing it still leaves the newest base whole.
    init(files: [Int32]) {
        fds = files
        let newest = Self.newest(files)
        sequence = newest.sequence
        activeIndex = newest.index
    }

    // MARK: Writing

    /// A new base: the Room as it is now, with each connection's inode. The log starts over.
    func rebase(_ snapshot: RoomSnapshot, inodes: [UInt64: UInt64]) throws(Problem) {
        writer = StateWriter(reservingCapacity: 4096 + snapshot.connections.count * 96)
        snapshot.write(to: &writer)
        writer.array(snapshot.connections) { writer, connection in
            writer.u64(connection.id)
            writer.u64(inodes[connection.id] ?? 0)
        }
        let base = writer.bytes
        let target = fds.count > 1 ? 1 - activeIndex : 0
        var header = StateWriter(reservingCapacity: Self.headerLength)
        for byte in Self.magic { header.u8(byte) }
        header.u32(Self.currentVersion)
        header.u32(0)
        header.u64(sequence + 1)
        header.u64(UInt64(base.count))
        header.u64(stateChecksum(base))
        let fd = fds[target]
        guard ftruncate(fd, 0) == 0, write(fd, base, at: Self.headerLength), write(fd, header.bytes, at: 0) else {
            throw Problem(description: "cannot write the crash journal: \(String(cString: strerror(errno)))")
        }
        activeIndex = target
        sequence += 1
        end = Self.headerLength + base.count
        baseLength = base.count
        recordCount = 0
    }

    /// Appends records after the base, one write for all of them.
    func append(_ records: [Record]) throws(Problem) {
        guard !records.isEmpty else { return }
        writer = StateWriter(reservingCapacity: records.count * 128)
        for record in records {
            var payload = StateWriter()
            switch record {
            case let .connection(connection, inode):
                payload.u8(1)
                payload.connection(connection)
                payload.u64(inode)
            case let .gone(id):
                payload.u8(2)
                payload.u64(id)
            }
            writer.u32(UInt32(payload.bytes.count))
            writer.u64(stateChecksum(payload.bytes))
            writer.raw(payload.bytes)
        }
        guard write(fds[activeIndex], writer.bytes, at: end) else {
            throw Problem(description: "cannot write the crash journal: \(String(cString: strerror(errno)))")
        }
        end += writer.bytes.count
        recordCount += records.count
    }

    /// Whether the log has grown enough that a new base is cheaper to read back.
    var wantsRebase: Bool { recordCount > 1024 && end - Self.headerLength > 2 * baseLength }

    private func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int) -> Bool {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset + done)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }

    // MARK: Reading

    /// The highest base sequence the files' headers claim, torn or not: a successor
    /// numbers its bases after it, so its own are always read first. Headers only.
    static func highestSequence(_ files: [Int32]) -> UInt64 { newest(files).sequence }

    /// That sequence, and which of `files` claims it (0 if none does).
    static func newest(_ files: [Int32]) -> (sequence: UInt64, index: Int) {
        var highest: (sequence: UInt64, index: Int) = (0, 0)
        for (index, fd) in files.enumerated() {
            var header = [UInt8](repeating: 0, count: headerLength)
            let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            guard count == headerLength, Array(header[..<magic.count]) == magic else { continue }
            var reader = StateReader(header, offset: magic.count + 8)
            if let sequence = try? reader.u64(), sequence > highest.sequence { highest = (sequence, index) }
        }
        return highest
    }

    /// What the journal files say: the snapshot with every record applied, each
    /// connection's inode, and the sequence of the base used.
    static func read(_ files: [Int32]) throws(Problem) -> (snapshot: RoomSnapshot, inodes: [UInt64: UInt64], sequence: UInt64) {
        var best: (snapshot: RoomSnapshot, inodes: [UInt64: UInt64], sequence: UInt64)? = nil
        var problems: [String] = []
        for fd in files {
            do {
                let read = try readOne(fd)
                if best == nil || read.sequence > best!.sequence { best = read }
            } catch where error.isNewer {
                throw error
            } catch {
                problems.append(error.description)
            }
        }
        guard let best else { throw Problem(description: problems.first ?? "no crash journal") }
        return best
    }

    private static func readOne(_ fd: Int32) throws(Problem) -> (snapshot: RoomSnapshot, inodes: [UInt64: UInt64], sequence: UInt64) {
        let bytes: [UInt8]
        do { bytes = try SealedFile.contents(fd) } catch { throw Problem(description: "cannot read the crash journal: \(error)") }
        guard bytes.count >= headerLength, Array(bytes[..<magic.count]) == magic else {
            throw Problem(description: "a crash journal file without its header")
        }
        var header = StateReader(bytes, offset: magic.count)
        do {
            let version = try header.u32()
            guard version <= currentVersion else {
                throw Problem(description: "the crash journal has format \(version); this chatroomd \(ChatroomVersion.current) reads up to \(currentVersion) (a downgrade?)",
                              isNewer: true)
            }
            _ = try header.u32()
            let sequence = try header.u64()
            // A damaged header may claim any length: checked before it is used, never trapped on.
            guard let length = Int(exactly: try header.u64()) else { throw Problem(description: "a crash journal base of impossible length") }
            let checksum = try header.u64()
            guard length <= bytes.count - headerLength,
                  stateChecksum(bytes[headerLength..<headerLength + length]) == checksum else {
                throw Problem(description: "a crash journal base cut short")
            }
            var reader = StateReader(Array(bytes[..<(headerLength + length)]), offset: headerLength)
            var snapshot = try RoomSnapshot.read(from: &reader)
            var inodes: [UInt64: UInt64] = [:]
            let pairs = try reader.array { (r: inout StateReader) throws(StateReader.Malformed) in (try r.u64(), try r.u64()) }
            for (id, inode) in pairs { inodes[id] = inode }
            var connections: [UInt64: RoomSnapshot.Connection] = [:]
            var order: [UInt64] = []
            for connection in snapshot.connections {
                if connections[connection.id] == nil { order.append(connection.id) }
                connections[connection.id] = connection
            }
            replay(bytes, from: headerLength + length, into: &connections, order: &order, inodes: &inodes)
            snapshot.connections = order.compactMap { connections[$0] }
            // Members first, as in a snapshot; then connections still greeting.
            snapshot.connections = snapshot.connections.filter { $0.member != nil } + snapshot.connections.filter { $0.member == nil }
            return (snapshot, inodes, sequence)
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "cannot decode the crash journal: \(error)")
        }
    }

    /// Applies the records after the base, up to the first torn or unreadable one.
    private static func replay(_ bytes: [UInt8], from start: Int, into connections: inout [UInt64: RoomSnapshot.Connection],
                               order: inout [UInt64], inodes: inout [UInt64: UInt64]) {
        var offset = start
        while bytes.count - offset >= 12 {
            var frame = StateReader(bytes, offset: offset)
            guard let length = try? Int(frame.u32()), let checksum = try? frame.u64(),
                  length <= bytes.count - offset - 12 else { return }
            let payload = Array(bytes[(offset + 12)..<(offset + 12 + length)])
            guard stateChecksum(payload) == checksum else { return }
            var reader = StateReader(payload)
            switch try? reader.u8() {
            case 1:
                guard let connection = try? reader.connection(), let inode = try? reader.u64() else { return }
                if connections[connection.id] == nil { order.append(connection.id) }
                connections[connection.id] = connection
                inodes[connection.id] = inode
            case 2:
                guard let id = try? reader.u64() else { return }
                connections[id] = nil
                inodes[id] = nil
            default:
                return
            }
            offset += 12 + length
        }
    }
}
