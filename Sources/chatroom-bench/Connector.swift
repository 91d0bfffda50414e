import CLinux
import Glibc
import Reactor

/// Opens client connections to the server over loopback, spreading them over several
/// source addresses (127.0.0.2, 127.0.0.3, ...) when there are more than one address's
/// ephemeral ports can carry.
///
/// Connects are blocking: on loopback the handshake completes inside the call as long as
/// the server's accept queue has room, and callers keep the number of connections not yet
/// answered by the server well below the backlog so that it always has.
struct Connector {
    let server: sockaddr_in
    /// Multi-node mode: every node's address, `server` first; connection `ordinal` goes to
    /// `servers[ordinal % servers.count]`.
    let servers: [sockaddr_in]
    /// Source addresses to bind before connecting, in rotation by block; empty means the
    /// kernel's choice (127.0.0.1).
    let sources: [in_addr]
    let connectionsPerSource: Int

    /// Only IPv4 loopback is driven: every connection stays on 127.0.0.0/8.
    init(server: SocketAddress, otherNodes: [SocketAddress] = [], connections: Int, sourceAddresses requested: Int?) throws(BenchError) {
        var servers: [sockaddr_in] = []
        for node in [server] + otherNodes {
            guard case let .v4(address) = node else {
                throw BenchError("the bench drives an IPv4 loopback address (127.x.y.z:PORT), not \(node)")
            }
            guard UInt32(bigEndian: address.sin_addr.s_addr) >> 24 == 127 else {
                throw BenchError("the bench only sends traffic to 127.0.0.0/8, not \(node)")
            }
            servers.append(address)
        }
        self.server = servers[0]
        self.servers = servers
        let perAddress = Self.ephemeralPortsPerAddress()
        let needed = requested ?? (connections <= perAddress ? 0 : (connections + perAddress - 1) / perAddress)
        guard needed <= 250 else { throw BenchError("too many source addresses needed (\(needed))") }
        sources = (0..<needed).map { k in
            var source = in_addr()
            source.s_addr = (UInt32(127) << 24 | UInt32(2 + k)).bigEndian  // 127.0.0.2, 127.0.0.3, ...
            return source
        }
        connectionsPerSource = needed == 0 ? connections : max(1, (connections + needed - 1) / needed)
    }

    /// Ports the kernel hands out for one source address (ip_local_port_range), less a
    /// margin for everything else on the machine.
    static func ephemeralPortsPerAddress() -> Int {
        guard let text = ProcessStats.readText("/proc/sys/net/ipv4/ip_local_port_range") else { return 28_000 }
        let numbers = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard numbers.count == 2, numbers[1] > numbers[0] else { return 28_000 }
        return (numbers[1] - numbers[0] + 1) * 9 / 10
    }

    var sourceDescription: String {
        guard !sources.isEmpty else { return "127.0.0.1 (kernel's choice)" }
        let last = 1 + sources.count
        return sources.count == 1 ? "127.0.0.2" : "127.0.0.2-127.0.0.\(last) (\(connectionsPerSource) each)"
    }

    /// A connected, blocking TCP socket with TCP_NODELAY (chat lines are small and every
    /// one is timed). `ordinal` picks the source address.
    func connect(ordinal: Int) throws(BenchError) -> Int32 {
        let fd = socket(AF_INET, CLINUX_SOCK_STREAM | CLINUX_SOCK_CLOEXEC, 0)
        guard fd >= 0 else { throw BenchError("socket: \(Self.lastError())") }
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if !sources.isEmpty {
            // Let connect() pick the port per 4-tuple instead of bind() reserving one per
            // address: each source address then carries a whole port range.
            _ = setsockopt(fd, Int32(IPPROTO_IP), IP_BIND_ADDRESS_NO_PORT, &one, socklen_t(MemoryLayout<Int32>.size))
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr = sources[min(ordinal / connectionsPerSource, sources.count - 1)]
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 {
                let error = Self.lastError()
                _ = close(fd)
                throw BenchError("bind to a source address: \(error)")
            }
        }
        // A blocking connect waits at most this long (SO_SNDTIMEO bounds connect on Linux),
        // should the server's accept queue ever be full.
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = servers[ordinal % servers.count]
        while true {
            let result = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if result == 0 || errno == EISCONN { return fd }
            if errno == EINTR || errno == EALREADY {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 10_000)
                continue
            }
            let error = Self.lastError()
            _ = close(fd)
            throw BenchError("connect to the server (connection \(ordinal)): \(error)")
        }
    }

    /// Writes a whole buffer to a blocking socket (used for members the reactor does not
    /// drive: those that never read).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(BenchError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw BenchError("write: \(lastError())")
            }
            offset += written
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
