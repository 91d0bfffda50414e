import Glibc

/// The socket file a listener was bound to, remembered by device and inode, so that at
/// stop it is removed only if it is still ours: if an operator (or a second daemon after
/// ours went quiet) put another socket at the same path, that one must survive our exit.
public struct UnixSocketFile: Sendable, Equatable {
    public let path: String
    let device: UInt64
    let inode: UInt64

    public init(boundAt path: String) throws(SystemCallError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { throw SystemCallError("lstat \(path)") }
        self.path = path
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }

    /// Whether the file at `path` is still the one bound.
    public var isStillOurs: Bool {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// Unlinks the file if it is still ours; returns whether it did.
    @discardableResult
    public func removeIfStillOurs() -> Bool {
        guard isStillOurs else { return false }
        return unlink(path) == 0
    }
}
