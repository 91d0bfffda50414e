/// Where the cluster's Redis is: `redis://host:port` (port 6379 if left out; `[::1]:6379`
/// for IPv6) or `unix:/path` (also `unix:///path`).
public enum RedisEndpoint: Equatable, Sendable, CustomStringConvertible {
    case tcp(host: String, port: Int32)
    case unix(path: String)

    public init(parsing text: String) throws(Settings.Invalid) {
        if text.hasPrefix("unix:") {
            var path = String(text.dropFirst(5))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard path.hasPrefix("/"), path.utf8.count < 108 else {
                throw Settings.Invalid(message: "expected unix:/absolute/path for redis, got '\(text)'")
            }
            self = .unix(path: path)
            return
        }
        guard text.hasPrefix("redis://") else {
            throw Settings.Invalid(message: "expected redis://host:port or unix:/path for redis, got '\(text)'")
        }
        var rest = Substring(text.dropFirst(8))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let host: Substring
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw Settings.Invalid(message: "unclosed [ in '\(text)'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw Settings.Invalid(message: "unexpected '\(after)' in '\(text)'")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else {
            throw Settings.Invalid(message: "expected redis://host:port (no user, password or database), got '\(text)'")
        }
        var port: Int32 = 6379
        if let portText {
            guard let value = Int32(portText), (1...65535).contains(value) else { throw Settings.Invalid(message: "bad port in '\(text)'") }
            port = value
        }
        self = .tcp(host: String(host), port: port)
    }

    public var description: String {
        switch self {
        case let .tcp(host, port): return host.contains(":") ? "redis://[\(host)]:\(port)" : "redis://\(host):\(port)"
        case let .unix(path): return "unix:\(path)"
        }
    }
}
