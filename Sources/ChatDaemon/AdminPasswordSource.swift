import ChatCore
import Foundation

/// Where the admin password hash comes from, kept so that a reload can read it again
/// (a rotated credential file takes effect on `systemctl reload`).
public enum AdminPasswordSource: Sendable, Equatable, CustomStringConvertible {
    case none
    /// From `--admin-password-hash` or `$CHATROOMD_ADMIN_PASSWORD_HASH`.
    case literal(String, origin: String)
    /// From a file: `--admin-password-hash-file`, or the systemd credential
    /// `admin-password-hash` in `$CREDENTIALS_DIRECTORY`.
    case file(String)

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case let .literal(_, origin): return origin
        case let .file(path): return path
        }
    }

    public func load() throws(LoadError) -> AdminPasswordHash? {
        let text: String
        switch self {
        case .none:
            return nil
        case let .literal(value, _):
            text = value
        case let .file(path):
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw LoadError(description: "cannot read the admin password hash from \(path)")
            }
            text = contents
        }
        guard let hash = AdminPasswordHash(hex: text) else {
            throw LoadError(description: "the admin password hash from \(self) must be 64 hexadecimal digits (the SHA-256 of the password); make one with 'chatroomd hash-password'")
        }
        return hash
    }
}
