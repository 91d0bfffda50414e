import ChatCore
import Testing

@Suite("Nickname")
struct NicknameTests {
    @Test(arguments: ["alice", "Bob", "x", "123", "a_b-c.d", "Zoë", "日本", "ñandú", "user!", "[bot]",
                      String(repeating: "a", count: 32), String(repeating: "é", count: 16)])
    func nickname_acceptsReasonableNames(nick: String) {
        #expect(Nickname.problem(with: nick) == nil)
    }

    @Test(arguments: [
        ("", Nickname.Problem.empty),
        (String(repeating: "a", count: 33), .tooLong),
        (String(repeating: "é", count: 17), .tooLong),
        ("a b", .containsWhitespaceOrControl),
        (" alice", .containsWhitespaceOrControl),
        ("alice ", .containsWhitespaceOrControl),
        ("a\tb", .containsWhitespaceOrControl),
        ("a\nb", .containsWhitespaceOrControl),
        ("a\u{7}b", .containsWhitespaceOrControl),
        ("a\u{1B}[2Jb", .containsWhitespaceOrControl),
        ("a\u{7F}b", .containsWhitespaceOrControl),
        ("a\u{85}b", .containsWhitespaceOrControl),
        ("a\u{A0}b", .containsWhitespaceOrControl),
        ("a\u{200B}b", .containsWhitespaceOrControl),
        ("a\u{202E}b", .containsWhitespaceOrControl),
        ("a\u{2028}b", .containsWhitespaceOrControl),
        ("a\u{3000}b", .containsWhitespaceOrControl),
        ("!!!", .noLetterOrDigit),
        ("_-.", .noLetterOrDigit),
        ("😀", .noLetterOrDigit),
    ])
    func nickname_reportsTheProblem(nick: String, problem: Nickname.Problem) {
        #expect(Nickname.problem(with: nick) == problem)
    }

    @Test func nickname_lengthLimitCountsBytes() {
        #expect(Nickname.maximumByteCount == 32)
        #expect(Nickname.problem(with: String(repeating: "日", count: 10)) == nil)  // 30 bytes
        #expect(Nickname.problem(with: String(repeating: "日", count: 11)) == .tooLong)  // 33 bytes
    }

    @Test func nickname_keyIgnoresCase() {
        #expect(Nickname.key("Alice") == Nickname.key("alice"))
        #expect(Nickname.key("ALICE") == "alice")
        #expect(Nickname.key("Zoë") == Nickname.key("ZOË"))
        #expect(Nickname.key("alice") != Nickname.key("alice2"))
    }

    @Test(arguments: [("admin", true), ("ADMIN", true), ("Admin", true), ("aDmIn", true),
                      ("admin1", false), ("admins", false), ("adm", false), ("", false)])
    func nickname_recognizesTheReservedAdminNickInAnyCase(nick: String, isAdmin: Bool) {
        #expect(Nickname.isAdminNick(nick) == isAdmin)
    }

    @Test func nicknameProblems_describeThemselvesReadably() {
        #expect(Nickname.Problem.empty.description == "it is empty")
        #expect(Nickname.Problem.tooLong.description == "it is longer than 32 bytes")
        #expect(Nickname.Problem.containsWhitespaceOrControl.description == "it contains spaces or control characters")
        #expect(Nickname.Problem.noLetterOrDigit.description == "it needs at least one letter or digit")
        #expect(Nickname.Problem.invisibleCharacter("\u{34F}").description
                == "it contains an invisible character (U+034F COMBINING GRAPHEME JOINER)")
        #expect(Nickname.Problem.disallowedCharacter("\u{E000}").description == "it contains U+E000, which nicknames may not use")
        #expect(Nickname.Problem.disallowedCharacter("\u{1D41A}").description
                == "it contains U+1D41A MATHEMATICAL BOLD SMALL A, which nicknames may not use")
        #expect(Nickname.Problem.hiddenMarks.description == "it contains combining marks that would not be visible")
    }

    @Test func basicRules_areTheStaticRules() {
        let rules = Nickname.basicRules
        for nick in ["alice", "a b", "", "10.0.0.1", "!!!", "ALICE"] {
            #expect(rules.problem(with: nick) == Nickname.problem(with: nick))
            #expect(rules.key(nick) == Nickname.key(nick))
            #expect(rules.isAdminNick(nick) == Nickname.isAdminNick(nick))
        }
        #expect(rules.isAdminNick("Admin"))
        #expect(Room.Configuration().nicknameRules.key("ALICE") == "alice")
    }
}

@Suite("Nicknames that look like addresses")
struct NicknameAddressTests {
    @Test(arguments: ["10.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"])
    func addressLikeNick_isRefused(nick: String) {
        #expect(Nickname.problem(with: nick) == .looksLikeAnAddress)
    }

    @Test(arguments: ["10.0.0.1x", "v10", "a.b.c.d"])
    func nickWithDotsOrDigits_isFine(nick: String) {
        #expect(Nickname.problem(with: nick) == nil)
    }
}
