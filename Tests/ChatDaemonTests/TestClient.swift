import Bytes
import ChatProtocol
import Glibc

/// A raw TCP client for integration tests: sends frames or arbitrary bytes, receives
/// frames with a deadline (poll), and can bind a chosen loopback source address.
final class TestClient {
    let fd: Int32
    private var decoder = FrameDecoder(maximumPayloadLength: 1 << 20)
    private var received: [String] = []
    private var closed = false

    init(port: UInt16, source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let result = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw TestFailure("bind \(source): errno \(errno)") }
        }
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &server.sin_addr)
        let result = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw TestFailure("connect to port \(port): errno \(errno)") }
    }

    deinit { if !closed { close(fd) } }

    /// Connects and joins as `nick`, consuming the join acknowledgement.
    static func joined(_ nick: String, port: UInt16, source: String? = nil) throws -> TestClient {
        let client = try TestClient(port: port, source: source)
        client.send("NICK:\(nick)")
        try client.expect("Connected to the server")
        try client.expect("\(nick) has joined the chat!")
        return client
    }

    func send(_ text: String) { sendRaw(FrameEncoder.frame(text).array) }

    func sendRaw(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Closes without `!DC`, as a crashed client would.
    func abort() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// The next frame, or nil once the server has closed the connection.
    func receive(timeout: Double = 5) throws -> String? {
        let deadline = now() + timeout
        while received.isEmpty {
            if closed { return nil }
            let remaining = deadline - now()
            guard remaining > 0 else { throw TestFailure("no frame within \(timeout) s") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(remaining * 1000) + 1)
            if ready <= 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                // Like any real client: on EOF, close our end too.
                closed = true
                close(fd)
                continue
            }
            try buffer.withUnsafeBytes { bytes in
                try decoder.feed(UnsafeRawBufferPointer(rebasing: bytes[..<n])) { payload in
                    received.append(String(decoding: payload, as: UTF8.self))
                    return true
                }
            }
        }
        return received.removeFirst()
    }

    func expect(_ text: String, sourceLocation: String = #function) throws {
        let frame = try receive()
        guard frame == text else { throw TestFailure("expected '\(text)', got '\(frame ?? "<closed>")'") }
    }

    /// Asserts that the server closes the connection with no further frame.
    func expectClosed(timeout: Double = 5) throws {
        if let frame = try receive(timeout: timeout) { throw TestFailure("expected close, got '\(frame)'") }
    }

    private func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
