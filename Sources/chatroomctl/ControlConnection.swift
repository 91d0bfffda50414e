import Bytes
import ChatProtocol
import Glibc
import SystemCalls

/// One round trip on the daemon's control socket: connect, send one request frame, read
/// one reply frame. Blocking Glibc sockets, each step bounded by a deadline.
enum ControlConnection {
    static let connectTimeoutSeconds = 5
    static let replyDeadlineSeconds = 10
    /// Replies such as `who` on a large room can be long; anything past this is not a chatroomd.
    static let maximumReplyBytes = 64 << 20

    struct Failure: Error {
        static let unavailableExitCode: Int32 = 69      // EX_UNAVAILABLE
        static let protocolExitCode: Int32 = 76         // EX_PROTOCOL
        static let permissionDeniedExitCode: Int32 = 77 // EX_NOPERM

        let message: String
        let exitCode: Int32

        static func unavailable(_ path: String, _ problem: String) -> Failure {
            Failure(message: "\(path): \(problem); is chatroomd running? Try: systemctl status chatroomd",
                    exitCode: unavailableExitCode)
        }
    }

    static func exchange(_ request: String, path: String) throws(Failure) -> String {
        let fd = try connect(path)
        defer { close(fd) }
        let deadline = now() + Int64(replyDeadlineSeconds) * 1000
        // A refused peer is told so in a reply frame and closed: a failed send is not the
        // end; whatever the daemon said is still there to read.
        let sendError = send(FrameEncoder.frame(request), on: fd)
        if let reply = try receiveFrame(on: fd, path: path, deadline: deadline) { return reply }
        if let sendError { throw .unavailable(path, "sending the request failed: \(describe(sendError))") }
        throw .unavailable(path, "the daemon closed the connection without replying")
    }

    private static func connect(_ path: String) throws(Failure) -> Int32 {
        guard let address = UnixSocketAddress(path: path) else {
            throw Failure(message: "\(path): socket path too long (at most \(UnixSocketAddress.maximumPathBytes) bytes)", exitCode: 64)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .unavailable(path, "socket: \(describe(errno))") }
        // For AF_UNIX, connect() to a listener whose backlog is full waits up to the send timeout.
        var timeout = timeval(tv_sec: connectTimeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = SystemCall.retryingInterrupts { address.withSocketAddress { Glibc.connect(fd, $0, $1) } }
        guard result == 0 else {
            let error = errno
            close(fd)
            switch error {
            case EACCES, EPERM:
                throw Failure(message: "\(path): permission denied (root, the daemon's user or its control-group only)",
                              exitCode: Failure.permissionDeniedExitCode)
            case ENOENT: throw .unavailable(path, "no control socket here")
            case ECONNREFUSED: throw .unavailable(path, "nothing is listening")
            case EAGAIN: throw .unavailable(path, "timed out connecting after \(connectTimeoutSeconds) s")
            default: throw .unavailable(path, "cannot connect: \(describe(error))")
            }
        }
        return fd
    }

    /// Writes the whole frame; returns the errno that stopped it, if any.
    private static func send(_ frame: SharedBytes, on fd: Int32) -> Int32? {
        frame.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno == EAGAIN ? ETIMEDOUT : errno
                }
                offset += written
            }
            return nil
        }
    }

    /// The first complete frame's payload, or nil at end of stream.
    private static func receiveFrame(on fd: Int32, path: String, deadline: Int64) throws(Failure) -> String? {
        var decoder = FrameDecoder(maximumPayloadLength: maximumReplyBytes)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var reply: String? = nil
        while reply == nil {
            let remaining = deadline - now()
            guard remaining > 0 else {
                throw .unavailable(path, "no reply within \(replyDeadlineSeconds) s")
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(remaining))
            if ready < 0 && errno != EINTR { throw .unavailable(path, "poll: \(describe(errno))") }
            guard ready > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                if errno == ECONNRESET { return nil }
                throw .unavailable(path, "receiving the reply failed: \(describe(errno))")
            }
            if count == 0 {
                if decoder.bufferedByteCount > 0 { throw protocolFailure(path, "the reply was cut short") }
                return nil
            }
            do {
                try buffer.withUnsafeBytes { bytes in
                    try decoder.feed(UnsafeRawBufferPointer(rebasing: bytes[..<count])) { payload in
                        reply = String(decoding: payload, as: UTF8.self)
                        return false
                    }
                }
            } catch {
                throw protocolFailure(path, "\(error)")
            }
        }
        return reply
    }

    private static func protocolFailure(_ path: String, _ problem: String) -> Failure {
        Failure(message: "\(path): not a chatroomd reply: \(problem)", exitCode: Failure.protocolExitCode)
    }

    private static func describe(_ error: Int32) -> String { String(cString: strerror(error)) }

    /// Monotonic milliseconds.
    private static func now() -> Int64 { Int64(MonotonicClock.now() / 1_000_000) }
}
