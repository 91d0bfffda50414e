@testable import ChatDaemon
import ChatCore
import Testing

@Suite("SHA256PasswordHash")
struct SHA256PasswordHashTests {
    static let secretHex = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"
    static let emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    @Test func hashOfSecret_matchesKnownSHA256Vector() {
        #expect(SHA256PasswordHash.of(password: "secret").hex == Self.secretHex)
        #expect(SHA256PasswordHash.of(password: "").hex == Self.emptyHex)
        #expect(SHA256PasswordHash.of(password: "secret").digest.count == 32)
    }

    @Test func parsedHex_equalsComputedHash_andRoundTrips() throws {
        let parsed = try #require(SHA256PasswordHash(hex: Self.secretHex))
        #expect(parsed == SHA256PasswordHash.of(password: "secret"))
        #expect(parsed.hex == Self.secretHex)
        #expect(parsed.digest.first == 0x2B)
        #expect(parsed.digest.last == 0x5B)
    }

    @Test func parsing_acceptsUpperCaseAndMixedCaseHex() throws {
        let upper = try #require(SHA256PasswordHash(hex: Self.secretHex.uppercased()))
        #expect(upper == SHA256PasswordHash.of(password: "secret"))
        #expect(upper.hex == Self.secretHex, "hex is always rendered in lower case")
        let mixed = String(Self.secretHex.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
        #expect(SHA256PasswordHash(hex: mixed) == upper)
    }

    @Test(arguments: [" \(secretHex)", "\(secretHex)\n", "\t \(secretHex) \r\n"])
    func parsing_ignoresSurroundingWhitespace(text: String) {
        #expect(SHA256PasswordHash(hex: text) == SHA256PasswordHash.of(password: "secret"))
    }

    static let malformedHexTexts: [String] = {
        let hex = secretHex
        var texts: [String] = ["", "   ", String(repeating: "z", count: 64)]
        texts.append(String(hex.dropLast()))                                     // 63 digits
        texts.append(hex + "0")                                                  // 65 digits
        texts.append(String(hex.dropLast(2)))                                    // 62 digits
        texts.append(hex + hex)                                                  // 128 digits
        texts.append(String(hex.dropLast()) + "g")                               // a non-hex letter
        texts.append("0x" + String(hex.dropLast(2)))                             // a 0x prefix
        texts.append(String(hex.prefix(32)) + " " + String(hex.suffix(31)))      // an inner space
        texts.append(String(hex.dropLast(2)) + "é")                              // 64 bytes, not all hex
        return texts
    }()

    @Test(arguments: malformedHexTexts)
    func parsing_rejectsAnythingButSixtyFourHexDigits(text: String) {
        #expect(SHA256PasswordHash(hex: text) == nil)
    }

    @Test func matches_acceptsOnlyTheExactPassword() throws {
        let hash = try #require(SHA256PasswordHash(hex: Self.secretHex))
        #expect(hash.matches(password: "secret"))
        for wrong in ["Secret", "SECRET", "secret ", " secret", "secre", "secrets", "", "2bb80d53"] {
            #expect(!hash.matches(password: wrong), "\(wrong.debugDescription)")
        }
        #expect(!hash.matches(password: Self.secretHex), "the hash itself is not the password")
    }

    @Test func matches_handlesUnicodePasswordsByTheirUTF8() {
        let hash = SHA256PasswordHash.of(password: "pässwörd 🔑")
        #expect(hash.matches(password: "pässwörd 🔑"))
        #expect(!hash.matches(password: "passwörd 🔑"))
        #expect(SHA256PasswordHash.of(password: "").matches(password: ""))
    }
}
