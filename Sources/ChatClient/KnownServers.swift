import Glibc

/// Trust on first use, like ssh's known_hosts: the SHA-256 fingerprint of each server's
/// certificate that no CA vouches for (a self-signed one), by `host:port`, one
/// `host:port fingerprint` line each, in `$XDG_CONFIG_HOME/chatroom/known_servers`
/// (default `~/.config/chatroom/known_servers`).
public struct KnownServers: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Next to the client's configuration file.
    public static func defaultPath(environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) -> String? {
        ClientConfiguration.path(environment: environment).map { String($0.dropLast("config".count)) + "known_servers" }
    }

    /// The remembered fingerprint of `server`, if any.
    public func fingerprint(of server: String) -> String? {
        for line in lines() {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2, parts[0] == server { return String(parts[1]) }
        }
        return nil
    }

    /// Remembers `fingerprint` for `server` (creating the directory and file, mode 0600).
    public func remember(_ server: String, fingerprint: String) throws(ServerConnection.ConnectError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { _ = mkdir(directory, 0o700) }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ServerConnection.ConnectError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let line = Array("\(server) \(fingerprint)\n".utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw ServerConnection.ConnectError(description: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private func lines() -> [Substring] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            text.append(contentsOf: buffer[..<n])
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n")
    }
}
