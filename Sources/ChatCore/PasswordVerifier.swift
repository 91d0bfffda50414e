/// Checks a password against a stored hash. ChatCore does no I/O and links no C, so
/// the daemon supplies every verifier (libcrypt's hashes and the seed's SHA-256).
public protocol PasswordVerifier: Sendable {
    func verify(password: String) -> Bool
    /// Unsalted and fast: accepted for compatibility, warned about at start.
    var isLegacy: Bool { get }
    /// The stored hash as text, so a reload can tell a rotated hash from an unchanged one.
    var fingerprint: String { get }
}

extension StringProtocol {
    /// Without leading and trailing white space, without Foundation.
    public func trimmingWhitespace() -> String {
        guard let start = firstIndex(where: { !$0.isWhitespace }), let end = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[start...end])
    }
}
