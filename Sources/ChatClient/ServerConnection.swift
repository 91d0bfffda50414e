import Bytes
import ChatProtocol
import CTLS
import Glibc

/// The client's TCP connection: blocking writes of whole frames, and reads decoded into
/// frames whenever the socket is readable. Over TLS the socket is non-blocking (OpenSSL
/// reads records the server sends besides chat, such as session tickets, and a blocking
/// read would then wait for the next line) and writes wait for the socket with poll.
public final class ServerConnection {
    public struct ConnectError: Error, CustomStringConvertible {
        public let description: String
    }

    public let fd: Int32
    /// The TLS session (`ctls_session`), nil for plaintext.
    private var session: OpaquePointer? = nil
    /// How the server's certificate was trusted, over TLS.
    public private(set) var trust: ClientTLS.Trust? = nil
    public var isSecure: Bool { session != nil }
    private var decoder = FrameDecoder(maximumPayloadLength: 16 << 20)

    /// Resolves `host` (a name or an address) and connects to the first address that
    /// answers within `timeoutSeconds` (each address), so that a reconnect to an
    /// unreachable host holds the input loop for seconds, not the kernel's minutes.
    public init(host: String, port: UInt16, timeoutSeconds: Double = 10, tls: ClientTLS? = nil) throws {
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
                    var one: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    if let tls {
                        do {
                            (session, trust) = try tls.handshake(fd: fd, host: host, port: port, timeoutSeconds: timeoutSeconds)
                        } catch {
                            Glibc.close(fd)
                            throw error
                        }
                    }
                    self.fd = fd
                    return
                }
                lastError = errno
                Glibc.close(fd)
            } else {
                lastError = errno
            }
            candidate = info.pointee.ai_next
        }
        // Refused: nothing listens there, the commonest mistake; say where to look.
        let hint = lastError == ECONNREFUSED ? " (is chatroomd running there? `systemctl status chatroomd`, or `make run` in its source tree)" : ""
        throw ConnectError(description: "cannot connect to \(host):\(port): \(String(cString: strerror(lastError)))\(hint)")
    }

    deinit {
        if let session {
            ctls_shutdown(session)
            ctls_session_free(session)
        }
        Glibc.close(fd)
    }

    static func sessionError(_ session: OpaquePointer) -> String {
        var text = [CChar](repeating: 0, count: 256)
        ctls_session_error(session, &text, text.count)
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Waits for `events` on `fd`; false on timeout or error.
    static func wait(_ fd: Int32, _ events: Int16, milliseconds: Int32) -> Bool {
        var pending = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ready = poll(&pending, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

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
        if let session { return sendTLS(frame, session) }
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

    /// The whole frame as records; a write OpenSSL wants repeated is repeated with the
    /// same bytes once the socket is ready (at most 10 s in all).
    private func sendTLS(_ frame: SharedBytes, _ session: OpaquePointer) -> Bool {
        frame.withUnsafeBytes { bytes in
            for _ in 0..<1000 {
                let result = ctls_write(session, bytes.baseAddress, bytes.count)
                if result > 0 { return true }
                switch Int(result) {
                case Int(CTLS_WANT_WRITE): guard Self.wait(fd, Int16(POLLOUT), milliseconds: 10_000) else { return false }
                case Int(CTLS_WANT_READ): guard Self.wait(fd, Int16(POLLIN), milliseconds: 10_000) else { return false }
                default: return false
                }
            }
            return false
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
        if let session { return readTLS(&buffer, session) }
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { return .frames([]) }
            return .closed([])
        }
        if n == 0 { return .closed([]) }
        var frames: [String] = []
        if let problem = decode(buffer, count: n, into: &frames) { return .protocolError(problem) }
        return .frames(frames)
    }

    /// Every record OpenSSL can give without waiting (the socket is non-blocking).
    private func readTLS(_ buffer: inout [UInt8], _ session: OpaquePointer) -> ReadResult {
        var frames: [String] = []
        for _ in 0..<64 {
            let n = buffer.withUnsafeMutableBytes { ctls_read(session, $0.baseAddress, $0.count) }
            if n > 0 {
                if let problem = decode(buffer, count: n, into: &frames) { return .protocolError(problem) }
                continue
            }
            switch Int(n) {
            case Int(CTLS_WANT_READ), Int(CTLS_WANT_WRITE): return .frames(frames)
            default: return .closed(frames)
            }
        }
        return .frames(frames)
    }

    private func decode(_ buffer: [UInt8], count: Int, into frames: inout [String]) -> String? {
        do {
            try buffer.withUnsafeBytes { bytes in
                try decoder.feed(UnsafeRawBufferPointer(rebasing: bytes[..<count])) { payload in
                    frames.append(String(decoding: payload, as: UTF8.self))
                    return true
                }
            }
        } catch {
            return "\(error)"
        }
        return nil
    }
}
