import ChatCore
import CPasswordHash
import Foundation

/// A password hash in one of the `/etc/shadow` formats (yescrypt `$y$`, sha512-crypt
/// `$6$`, ...), checked with libcrypt's `crypt_r`: slow and salted, as admin passwords
/// on an unencrypted protocol deserve.
public struct CryptPasswordHash: PasswordVerifier, Equatable {
    public let encoded: String

    public init?(_ encoded: String) {
        let text = encoded.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("$"), password_crypt_is_complete(text) == 1 else { return nil }
        self.encoded = text
    }

    public func verify(password: String) -> Bool { password_crypt_matches(password, encoded) == 1 }
    public var isLegacy: Bool { false }
    public var fingerprint: String { encoded }

    /// A hash of a random password nobody knows, made at start: logins to unknown
    /// accounts are checked against it so that they cost as much as real ones and timing
    /// does not tell which account names exist.
    public static func decoy() -> CryptPasswordHash? {
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in String(UInt8.random(in: 33...126, using: &generator), radix: 16) }.joined()
        return make(password: secret)
    }

    /// A new yescrypt hash, the default of `mkpasswd` and Debian's `/etc/shadow`.
    public static func make(password: String) -> CryptPasswordHash? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard password_crypt_new_hash(password, "$y$", &buffer, buffer.count) == 0 else { return nil }
        return CryptPasswordHash(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

/// Reads any hash format chatroomd accepts.
public enum PasswordHashFormat {
    public static func parse(_ text: String) -> (any PasswordVerifier)? {
        if let modern = CryptPasswordHash(text) { return modern }
        return SHA256PasswordHash(hex: text)
    }
}
