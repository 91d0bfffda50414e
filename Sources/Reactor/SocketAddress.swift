import CLinux
import Glibc

/// An IPv4 or IPv6 socket address: what we listen on and what peers connect from.
public enum SocketAddress: Equatable, Sendable, CustomStringConvertible {
    case v4(sockaddr_in)
    case v6(sockaddr_in6)

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case invalid(String)
        public var description: String {
            switch self {
            case let .invalid(text):
                return "invalid listen address '\(text)' (expected HOST:PORT, e.g. 127.0.0.1:12000, [::]:12000 or *:12000)"
            }
        }
    }

    /// Parses `HOST:PORT`, `[IPV6]:PORT` or `*:PORT` (all addresses, dual-stack).
    /// Host names are not resolved: a daemon's listen address should not depend on DNS.
    public init(parsing text: String) throws(ParseError) {
        guard let colon = text.lastIndex(of: ":") else { throw .invalid(text) }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = UInt16(portText) else { throw .invalid(text) }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw .invalid(text)  // a bare IPv6 address needs brackets to separate the port
        }
        if host == "*" || host.isEmpty { host = "::" }
        if let address = Self.ipv4(host, port: port) {
            self = address
        } else if let address = Self.ipv6(host, port: port) {
            self = address
        } else {
            throw .invalid(text)
        }
    }

    public static func ipv4(_ host: String, port: UInt16) -> SocketAddress? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        return .v4(address)
    }

    public static func ipv6(_ host: String, port: UInt16) -> SocketAddress? {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return nil }
        return .v6(address)
    }

    /// Reads an address the kernel filled in (accept, getsockname).
    init?(storage: UnsafePointer<sockaddr_storage>) {
        switch Int32(storage.pointee.ss_family) {
        case AF_INET:
            self = storage.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { .v4($0.pointee) }
        case AF_INET6:
            self = storage.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { .v6($0.pointee) }
        default:
            return nil
        }
    }

    public var family: Int32 {
        switch self {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    public var port: UInt16 {
        switch self {
        case let .v4(a): return UInt16(bigEndian: a.sin_port)
        case let .v6(a): return UInt16(bigEndian: a.sin6_port)
        }
    }

    /// The address bytes: 4 for IPv4, 16 for IPv6.
    public var ipBytes: [UInt8] {
        switch self {
        case var .v4(a):
            return withUnsafeBytes(of: &a.sin_addr) { Array($0) }
        case var .v6(a):
            return withUnsafeBytes(of: &a.sin6_addr) { Array($0) }
        }
    }

    /// The host part as text. IPv4-mapped IPv6 addresses print as plain IPv4, since that
    /// is who the peer really is.
    public var host: String {
        let bytes = ipBytes
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch self {
        case var .v4(a): inet_ntop(AF_INET, &a.sin_addr, &text, socklen_t(text.count))
        case var .v6(a): inet_ntop(AF_INET6, &a.sin6_addr, &text, socklen_t(text.count))
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        let host = self.host
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch self {
        case var .v4(a):
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case var .v6(a):
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        a.family == b.family && a.port == b.port && a.ipBytes == b.ipBytes
    }
}
