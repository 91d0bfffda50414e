import Glibc
import SystemCalls

/// Replaces a file so that a crash or `kill -9` at any instant leaves either the old
/// contents or the new, never a torn or empty file: write a temporary file beside it,
/// fsync it, rename it over the old one, then fsync the directory so the rename itself
/// is on disk.
enum DurableFile {
    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600) throws(WriteError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create \(temporary)") }
        if let error = bytes.withUnsafeBytes({ SystemCall.writeAll(fd, $0) }) {
            errno = error
            let failure = failure("write \(temporary)")
            close(fd)
            unlink(temporary)
            throw failure
        }
        guard fsync(fd) == 0 else {
            let error = failure("fsync \(temporary)")
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure("rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let directoryFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// The whole file, or nil if it does not exist.
    static func read(_ path: String) throws(WriteError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw failure("open \(path)")
        }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = SystemCall.retryingInterrupts { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if n < 0 { throw failure("read \(path)") }
            if n == 0 { return result }
            result.append(contentsOf: buffer[..<n])
        }
    }

    private static func failure(_ what: String) -> WriteError {
        WriteError(description: "cannot \(what): \(String(cString: strerror(errno)))")
    }
}
