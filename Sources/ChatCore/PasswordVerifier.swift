/// Checks a password against a stored hash. ChatCore does no I/O and links no C, so
/// the daemon supplies verifiers for libcrypt hashes; the seed's SHA-256 lives here.
public protocol PasswordVerifier: Sendable {
    func verify(password: String) -> Bool
    /// Unsalted and fast: accepted for compatibility, warned about at start.
    var isLegacy: Bool { get }
    /// The stored hash as text, so a reload can tell a rotated hash from an unchanged one.
    var fingerprint: String { get }
}

extension AdminPasswordHash: PasswordVerifier {
    public func verify(password: String) -> Bool { matches(password: password) }
    public var isLegacy: Bool { true }
    public var fingerprint: String { hex }
}
