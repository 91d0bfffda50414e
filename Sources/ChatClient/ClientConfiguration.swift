import Glibc

/// `~/.config/chatroom/config` (or `$XDG_CONFIG_HOME/chatroom/config`): defaults for
/// the command line's options, one `key = value` a line, `#` starts a comment. Flags on
/// the command line win over the file.
///
///     host = chat.example.org
///     port = 12000
///     nick = alice
///     timestamps = yes
///     colour = no
///     bell = no
public struct ClientConfiguration: Equatable, Sendable {
    public var host: String? = nil
    public var port: UInt16? = nil
    public var nick: String? = nil
    public var timestamps: Bool? = nil
    public var colour: Bool? = nil
    public var bell: Bool? = nil

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init() {}

    /// Parses the file's text; `source` names it in errors (`path:line: ...`).
    public init(parsing text: String, source: String) throws {
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let line = rawLine.prefix { $0 != "#" }.trimmingSpaces
            guard !line.isEmpty else { continue }
            let place = "\(source):\(index + 1)"
            guard let equals = line.firstIndex(of: "=") else {
                throw Problem(description: "\(place): expected key = value, got \"\(line)\"")
            }
            let key = line[..<equals].trimmingSpaces.lowercased()
            let value = String(line[line.index(after: equals)...].trimmingSpaces)
            switch key {
            case "host": host = value
            case "port":
                guard let number = UInt16(value), number > 0 else { throw Problem(description: "\(place): port must be 1-65535, got \"\(value)\"") }
                port = number
            case "nick": nick = value
            case "timestamps": timestamps = try Self.boolean(value, place: place)
            case "colour", "color": colour = try Self.boolean(value, place: place)
            case "bell": bell = try Self.boolean(value, place: place)
            default:
                throw Problem(description: "\(place): unknown setting \"\(key)\" (known: host, port, nick, timestamps, colour, bell)")
            }
        }
    }

    static func boolean(_ value: String, place: String) throws -> Bool {
        switch value.lowercased() {
        case "yes", "on", "true", "1": return true
        case "no", "off", "false", "0": return false
        default: throw Problem(description: "\(place): expected yes or no, got \"\(value)\"")
        }
    }

    /// Where the file is: `$XDG_CONFIG_HOME/chatroom/config`, else `$HOME/.config/chatroom/config`.
    public static func path(environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) -> String? {
        if let base = environment("XDG_CONFIG_HOME"), base.hasPrefix("/") { return base + "/chatroom/config" }
        guard let home = environment("HOME"), !home.isEmpty else { return nil }
        return home + "/.config/chatroom/config"
    }

    /// The file's settings; empty if it does not exist. Throws if it cannot be read or parsed.
    public static func load(path: String) throws -> ClientConfiguration {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return ClientConfiguration() }
            throw Problem(description: "\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Problem(description: "\(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return try ClientConfiguration(parsing: String(decoding: bytes, as: UTF8.self), source: path)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text = text.dropLast() }
        return text
    }
}
