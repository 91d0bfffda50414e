import ChatCore

/// A stand-in for the daemon's hashes: the Room only asks a verifier yes or no.
struct TestPassword: PasswordVerifier {
    let password: String
    static func of(password: String) -> TestPassword { TestPassword(password: password) }
    func verify(password: String) -> Bool { password == self.password }
    var isLegacy: Bool { false }
    var fingerprint: String { "test:" + password }
}
