import ChatCore
import CPasswordHash

/// The admin password as the original configured it: the SHA-256 hex digest of the
/// password. Unsalted and fast, so it is kept for compatibility only; comparison runs
/// in constant time so response timing says nothing about how close a guess was.
public struct SHA256PasswordHash: Sendable, Equatable {
    public let digest: [UInt8]

    /// Accepts 64 hex digits, either case, surrounding whitespace ignored.
    public init?(hex: String) {
        let trimmed = hex.trimmingWhitespace()
        guard trimmed.utf8.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var iterator = trimmed.utf8.makeIterator()
        while let high = iterator.next(), let low = iterator.next() {
            guard let h = Self.nibble(high), let l = Self.nibble(low) else { return nil }
            bytes.append(h << 4 | l)
        }
        digest = bytes
    }

    public static func of(password: String) -> SHA256PasswordHash {
        SHA256PasswordHash(digest: digest(password))
    }

    static func digest(_ password: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let bytes = Array(password.utf8)
        let status = bytes.withUnsafeBytes { password_sha256($0.baseAddress, $0.count, &out) }
        precondition(status == 0, "libcrypto's SHA-256 failed")
        return out
    }

    private init(digest: [UInt8]) { self.digest = digest }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public func matches(password: String) -> Bool {
        let candidate = Self.digest(password)
        var difference: UInt8 = 0
        for i in 0..<digest.count { difference |= digest[i] ^ candidate[i] }
        return difference == 0
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension SHA256PasswordHash: PasswordVerifier {
    public func verify(password: String) -> Bool { matches(password: password) }
    public var isLegacy: Bool { true }
    public var fingerprint: String { hex }
}
