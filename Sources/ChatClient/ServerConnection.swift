import Bytes
import ChatProtocol
import Glibc

/// The client's TCP connection: blocking writes of whole frames, and reads decoded into
/// frames whenever the socket is readable.
public final class ServerConnection {
    public struct ConnectError: Error, CustomStringConvertible {
        public let description: String
    }

    public let fd: Int32
    private var decoder = FrameDecoder(maximumPayloadLength: 16 << 20)

    /// Resolves `host` (a name or an address) and connects to the first address that
    /// answers within `timeoutSeconds` (each address), so that a reconnect to an
    /// unreachable host holds the input loop for seconds, not the kernel's minutes.
    public init(host: String, port: UInt16, timeoutSeconds: Double = 10) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw ConnectError(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let info = candidate {
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
            if fd >= 0 {
                if Self.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeoutSeconds: timeoutSeconds) {
                    self.fd = fd
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    return
                }
                lastError = errno
                Glibc.close(fd)
            } else {
                lastError = errno
            }
            candidate = info.pointee.ai_next
        }
        throw ConnectError(description: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))")
    }

    deinit { Glibc.close(fd) }

    /// `connect(2)` without blocking past the timeout; the socket is left blocking (frames
    /// are written whole). False with `errno` set on failure.
    private static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t,
                                timeoutSeconds: Double) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if Glibc.connect(fd, address, length) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var pending = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pending, 1, Int32(max(timeoutSeconds, 0.001) * 1000))
        guard ready > 0 else {
            errno = ready == 0 ? ETIMEDOUT : errno
            return false
        }
        var problem: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &problem, &size) == 0 else { return false }
        errno = problem
        return problem == 0
    }

    /// Sends one frame; false if the connection is gone.
    @discardableResult
    public func send(_ text: String) -> Bool {
        let frame = FrameEncoder.frame(text)
        return frame.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    public enum ReadResult: Equatable {
        case frames([String])
        /// The server closed the connection (after these last frames).
        case closed([String])
        case protocolError(String)
    }

    /// Reads what is available (call when poll says readable) and returns whole frames.
    public func readFrames() -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { return .frames([]) }
            return .closed([])
        }
        if n == 0 { return .closed([]) }
        var frames: [String] = []
        do {
            try buffer.withUnsafeBytes { bytes in
                try decoder.feed(UnsafeRawBufferPointer(rebasing: bytes[..<n])) { payload in
                    frames.append(String(decoding: payload, as: UTF8.self))
                    return true
                }
            }
        } catch {
            return .protocolError("\(error)")
        }
        return .frames(frames)
    }
}
