import CLinux
import Glibc
import SystemCalls

/// The few socket operations the reactor needs, each one syscall with errors surfaced.
public enum Socket {
    /// A non-blocking, close-on-exec listening socket. An IPv6 wildcard listener is made
    /// dual-stack explicitly rather than trusting the host's `bindv6only` default.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024) throws(SystemCallError) -> Int32 {
        let fd = try retryingInterrupts("socket") {
            Glibc.socket(address.family, CLINUX_SOCK_STREAM | CLINUX_SOCK_NONBLOCK | CLINUX_SOCK_CLOEXEC, 0)
        }
        do throws(SystemCallError) {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)")
            if address.family == AF_INET6 {
                try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0, "setsockopt(IPV6_V6ONLY)")
            }
            _ = try retryingInterrupts("bind \(address)") {
                address.withSockAddr { pointer, length in Glibc.bind(fd, pointer, length) }
            }
            _ = try retryingInterrupts("listen") { Glibc.listen(fd, backlog) }
        } catch {
            closeDescriptor(fd)
            throw error
        }
        return fd
    }

    /// A non-blocking, close-on-exec Unix-domain listening socket at `path` with the given
    /// permissions, and the socket file it made.
    ///
    /// A path that is taken is only replaced when nobody answers on it: a leftover from a
    /// process that died (connect fails with `ECONNREFUSED`). If something accepts a
    /// connection there (or its backlog is full), this throws `EADDRINUSE` and leaves the
    /// file alone: a second daemon must not steal a running one's control socket. A file
    /// that is not a socket is never removed (`EEXIST`).
    public static func listenUnix(path: String, mode: mode_t = 0o660, backlog: Int32 = 64) throws(SystemCallError) -> (fd: Int32, file: UnixSocketFile) {
        guard let address = UnixSocketAddress(path: path) else {
            throw SystemCallError("control socket path too long: \(path)", errno: ENAMETOOLONG)
        }
        let fd = try retryingInterrupts("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, CLINUX_SOCK_STREAM | CLINUX_SOCK_NONBLOCK | CLINUX_SOCK_CLOEXEC, 0)
        }
        do throws(SystemCallError) {
            do throws(SystemCallError) {
                _ = try retryingInterrupts("bind \(path)") { address.withSocketAddress { Glibc.bind(fd, $0, $1) } }
            } catch where error.errno == EADDRINUSE {
                try removeIfStale(path, address: address)
                _ = try retryingInterrupts("bind \(path)") { address.withSocketAddress { Glibc.bind(fd, $0, $1) } }
            }
            _ = try retryingInterrupts("chmod \(path)") { chmod(path, mode) }
            let file = try UnixSocketFile(boundAt: path)
            _ = try retryingInterrupts("listen") { Glibc.listen(fd, backlog) }
            return (fd, file)
        } catch {
            closeDescriptor(fd)
            throw error
        }
    }

    /// Removes the socket file at `path` if nothing answers there; throws `EADDRINUSE` if
    /// something does, `EEXIST` if it is not a socket.
    private static func removeIfStale(_ path: String, address: UnixSocketAddress) throws(SystemCallError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }  // gone meanwhile: bind again
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw SystemCallError("\(path) exists and is not a socket", errno: EEXIST)
        }
        let probe = try retryingInterrupts("socket(AF_UNIX)") {
            Glibc.socket(AF_UNIX, CLINUX_SOCK_STREAM | CLINUX_SOCK_NONBLOCK | CLINUX_SOCK_CLOEXEC, 0)
        }
        defer { closeDescriptor(probe) }
        // Non-blocking: a live listener with a full backlog answers EAGAIN rather than hang us.
        let result = SystemCall.retryingInterrupts { address.withSocketAddress { Glibc.connect(probe, $0, $1) } }
        let code = errno
        if result == 0 || code == EAGAIN || code == EINPROGRESS {
            throw SystemCallError("another process is listening on \(path)", errno: EADDRINUSE)
        }
        switch code {
        case ECONNREFUSED: unlink(path)  // a leftover: its process is gone
        case ENOENT: break
        default: throw SystemCallError("connect \(path) (checking whether it is in use)", errno: code)
        }
    }

    static func peerCredentials(_ fd: Int32) -> (pid: Int32, uid: UInt32, gid: UInt32)? {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        guard clinux_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return nil }
        return (pid, uid, gid)
    }

    /// Accepts one pending connection, non-blocking and close-on-exec from the start.
    static func accept(_ listener: Int32) throws(SystemCallError) -> NonBlocking<(Int32, SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(SystemCallError) in
                try nonBlocking("accept4") {
                    clinux_accept4(listener, address, &length, CLINUX_SOCK_NONBLOCK | CLINUX_SOCK_CLOEXEC)
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case let .done(fd): return .done((fd, SocketAddress(storage: &storage)))
        }
    }

    public static func localAddress(_ fd: Int32) throws(SystemCallError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(SystemCallError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(SystemCallError) in
                try retryingInterrupts("getsockname") { getsockname(fd, address, &length) }
            }
        }
        guard let address = SocketAddress(storage: &storage) else {
            throw SystemCallError("getsockname (not an IP socket)", errno: EAFNOSUPPORT)
        }
        return address
    }

    /// Whether an inherited descriptor (socket activation) is a listening TCP socket.
    public static func isListeningStream(_ fd: Int32) -> Bool {
        var type: Int32 = 0
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0, type == CLINUX_SOCK_STREAM else { return false }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 else { return false }
        return accepting != 0
    }

    public static func setNonBlocking(_ fd: Int32) throws(SystemCallError) {
        let flags = try retryingInterrupts("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
        _ = try retryingInterrupts("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        let fdFlags = try retryingInterrupts("fcntl(F_GETFD)") { fcntl(fd, F_GETFD) }
        _ = try retryingInterrupts("fcntl(F_SETFD)") { fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC) }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ call: String) throws(SystemCallError) {
        var value = value
        _ = try retryingInterrupts(call) {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }
}
