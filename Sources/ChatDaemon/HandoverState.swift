import ChatCore
import CLinux
import Foundation
import Glibc
import SystemCalls

/// Everything a successor process needs to carry on with every connection: the Room's
/// snapshot, and per connection its descriptor, the unfinished frame it was sending and
/// the output still queued for it; the listeners too. Written as JSON into a sealed memory
/// file whose descriptor the successor inherits, named in `$CHATROOMD_HANDOVER_FD`.
struct HandoverState: Codable {
    /// This format's version: a daemon refuses a newer one rather than misread it.
    static let currentVersion = 1
    static let environmentKey = "CHATROOMD_HANDOVER_FD"

    struct Connection: Codable {
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
    /// Monotonic nanoseconds when the predecessor stopped reading: the pause is measured
    /// from here to the successor's first turn.
    var pausedAt: UInt64
    /// The `chatroomctl restart` connection, answered by the successor.
    var replyFD: Int32?
    /// Connections whose login was being checked, told to send it again.
    var interruptedLogins: [UInt64]
    /// The decoy hash for unknown accounts, so the successor need not make one.
    var decoyHash: String?

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// Into a sealed memory file; returns its descriptor (close-on-exec still set).
    func write() throws(Problem) -> Int32 {
        let data: Data
        do { data = try JSONEncoder().encode(self) } catch { throw Problem(description: "cannot encode the handover state: \(error)") }
        let fd = clinux_memfd("chatroomd-handover")
        guard fd >= 0 else { throw Problem(description: "memfd_create: \(String(cString: strerror(errno)))") }
        let failed = data.withUnsafeBytes { SystemCall.writeAll(fd, $0) }
        guard failed == nil, lseek(fd, 0, SEEK_SET) == 0, clinux_seal(fd) == 0 else {
            close(fd)
            throw Problem(description: "cannot write the handover state: \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// From the descriptor a predecessor left; the descriptor is closed.
    static func read(fd: Int32) throws(Problem) -> HandoverState {
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw Problem(description: "cannot read the handover state: \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[..<count])
        }
        struct Versioned: Decodable { var version: Int }
        do {
            let version = try JSONDecoder().decode(Versioned.self, from: Data(bytes)).version
            guard version <= currentVersion, version >= 1 else {
                throw Problem(description: "the handover state has version \(version); this chatroomd reads up to \(currentVersion) (a downgrade?)")
            }
            return try JSONDecoder().decode(HandoverState.self, from: Data(bytes))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "cannot decode the handover state: \(error)")
        }
    }
}
