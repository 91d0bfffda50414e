@testable import ChatDaemon
import ChatCore
import Testing

@Suite("CryptPasswordHash and PasswordHashFormat")
struct PasswordHashTests {
    @Test func make_givesASaltedYescryptHash_thatVerifiesOnlyItsPassword() throws {
        let hash = try #require(CryptPasswordHash.make(password: "correct horse"))
        #expect(hash.encoded.hasPrefix("$y$"))
        #expect(hash.verify(password: "correct horse"))
        #expect(!hash.verify(password: "correct horse "))
        #expect(!hash.verify(password: "Correct horse"))
        #expect(!hash.verify(password: ""))
        #expect(!hash.isLegacy)
        // Salted: the same password hashes differently each time, and both verify.
        let again = try #require(CryptPasswordHash.make(password: "correct horse"))
        #expect(again.encoded != hash.encoded)
        #expect(again.verify(password: "correct horse"))
    }

    @Test func make_handlesUnicodeAndLongPasswords() throws {
        for password in ["pässwörd ☕ 日本語", String(repeating: "x", count: 511)] {
            let hash = try #require(CryptPasswordHash.make(password: password))
            #expect(hash.verify(password: password))
            #expect(!hash.verify(password: String(password.dropLast())))
        }
    }

    /// libxcrypt's limit (CRYPT_MAX_PASSPHRASE_SIZE, 512 bytes with the NUL): longer
    /// passwords cannot be hashed, and `hash-password` reports a libcrypt failure.
    @Test func make_refusesPasswordsOf512BytesOrMore() {
        #expect(CryptPasswordHash.make(password: String(repeating: "x", count: 512)) == nil)
    }

    @Test func parsesAKnownSha512CryptVector() throws {
        let hash = try #require(CryptPasswordHash(sha512CryptHelloWorld))
        #expect(hash.verify(password: "Hello world!"))
        #expect(!hash.verify(password: "Hello world"))
    }

    @Test func surroundingWhitespace_isIgnored() throws {
        let hash = try #require(CryptPasswordHash("  \(sha512CryptHelloWorld)\n"))
        #expect(hash.encoded == sha512CryptHelloWorld)
        #expect(hash.verify(password: "Hello world!"))
    }

    @Test(arguments: [
        "", "   ", "hunter2", "$", "$$", "$y$", "$2b$", "$unknown$salt$hash", "$y$garbage",
        "*", "!", "!$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl",
        "x$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
        "abJnggxhB/yWI",  // traditional DES crypt: not accepted (no '$' scheme)
    ])
    func garbage_isRejected(_ text: String) {
        #expect(CryptPasswordHash(text) == nil, "accepted \(text.debugDescription)")
    }

    /// A hash cut short (a bad copy and paste) is a salt without its hash. libcrypt
    /// happily hashes with it, so it passes the "does crypt_r accept it" check; no
    /// password can ever match it, so the account is silently unusable.
    static let truncated = ["$6$", "$6$saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMH", "$y$j9T$F5Jx5fExrKuJdvd8B7Dwu/",
                            "$5$abc", "$1$abc"]

    @Test(arguments: truncated)
    func truncatedHash_isRejected(_ text: String) {
        #expect(CryptPasswordHash(text) == nil, "accepted \(text.debugDescription)")
    }

    @Test(arguments: truncated)
    func truncatedHash_ifAccepted_matchesNoPassword(_ text: String) {
        guard let hash = CryptPasswordHash(text) else { return }
        for password in ["", "x", "saltstring", "Hello world!"] { #expect(!hash.verify(password: password)) }
    }

    @Test func hashFormat_acceptsCryptAndLegacyHex() throws {
        let yescrypt = try #require(CryptPasswordHash.make(password: "pw"))
        let modern = try #require(PasswordHashFormat.parse(yescrypt.encoded))
        #expect(modern is CryptPasswordHash)
        #expect(modern.verify(password: "pw"))
        #expect(!modern.isLegacy)

        let sha512 = try #require(PasswordHashFormat.parse(sha512CryptHelloWorld))
        #expect(sha512.verify(password: "Hello world!"))

        let hex = SHA256PasswordHash.of(password: "seed password").hex
        for text in [hex, hex.uppercased(), " \(hex)\n"] {
            let legacy = try #require(PasswordHashFormat.parse(text), "\(text)")
            #expect(legacy.isLegacy)
            #expect(legacy.verify(password: "seed password"))
            #expect(!legacy.verify(password: "seed passwort"))
        }
    }

    @Test(arguments: ["", "hunter2", String(repeating: "a", count: 63), String(repeating: "a", count: 65),
                      String(repeating: "g", count: 64), "$y$garbage"])
    func hashFormat_rejectsTheRest(_ text: String) {
        #expect(PasswordHashFormat.parse(text) == nil)
    }
}
