import CLinux
import Glibc
import SystemCalls

/// A memory file (`memfd_create`) for state handed to the next process: written once,
/// then sealed against any change, so what the successor reads is what was written.
enum SealedFile {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A new sealed memory file holding `contents`; close-on-exec is set.
    static func create(name: String, contents: [UInt8]) throws(Failure) -> Int32 {
        let fd = clinux_memfd(name)
        guard fd >= 0 else { throw Failure(description: "memfd_create: \(String(cString: strerror(errno)))") }
        let failed = contents.withUnsafeBytes { SystemCall.writeAll(fd, $0) }
        guard failed == nil, lseek(fd, 0, SEEK_SET) == 0, clinux_seal(fd) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: why)
        }
        return fd
    }

    /// Everything in the file from its start (the descriptor stays open).
    static func contents(_ fd: Int32) throws(Failure) -> [UInt8] {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw Failure(description: "fstat: \(String(cString: strerror(errno)))") }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(done)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw Failure(description: count == 0 ? "the file ends early" : "read: \(String(cString: strerror(errno)))")
            }
            done += count
        }
        return bytes
    }
}
