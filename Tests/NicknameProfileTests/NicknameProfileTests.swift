import ChatCore
import NicknameProfile
import Testing

@Suite("Nickname profile (ICU)")
struct NicknameProfileTests {
    let rules = NicknameProfile.standard

    @Test(arguments: ["alice", "Bob", "user_42", "Zoë", "Zoe\u{308}", "José", "李雷", "Ελένη", "Владимир", "日本",
                      "ñandú", "user!", "[bot]", "a_b-c.d", "alice😀", "O'Brien", "€uro", "Łukasz", "محمد", "अनु"])
    func ordinaryNamesInManyScripts_areAccepted(nick: String) {
        #expect(rules.problem(with: nick) == nil)
    }

    // Issue 10, finding 7: each displays as if it were not there.
    @Test(arguments: [0x034F, 0xFE0F, 0x3164, 0x115F, 0x180B, 0x17B4, 0x2800, 0x200B, 0x200D, 0x2060, 0x202E, 0xFFA0, 0xE0041])
    func invisibleCharacters_areRefused(codePoint: UInt32) {
        let scalar = Unicode.Scalar(codePoint)!
        for nick in ["adm\(scalar)in", "victim\(scalar)", "\(scalar)bob"] {
            let problem = rules.problem(with: nick)
            #expect(problem == .invisibleCharacter(scalar) || problem == .disallowedCharacter(scalar), "\(nick.debugDescription)")
        }
    }

    @Test func theRefusalNamesTheCharacter() {
        let problem = rules.problem(with: "adm\u{34F}in")
        #expect(problem == .invisibleCharacter("\u{34F}"))
        #expect(problem.map(Notice.invalidNick)?.contains("U+034F COMBINING GRAPHEME JOINER") == true)
        #expect(rules.problem(with: "bob\u{2800}").map(\.description) == "it contains U+2800 BRAILLE PATTERN BLANK, which nicknames may not use")
    }

    @Test(arguments: [
        ("ａｄｍｉｎ", 0xFF41),      // fullwidth: NFKC would change it
        ("𝐚𝐝𝐦𝐢𝐧", 0x1D41A),       // mathematical bold
        ("bob\u{E000}", 0xE000),    // private use
        ("bob\u{378}", 0x378),      // unassigned
        ("bob\u{2605}", 0x2605),    // a symbol that is not an emoji
    ])
    func styledUnassignedAndStraySymbols_areRefused(nick: String, codePoint: UInt32) {
        #expect(rules.problem(with: nick) == .disallowedCharacter(Unicode.Scalar(codePoint)!))
    }

    @Test(arguments: ["a\u{301}\u{301}", "i\u{307}x"])
    func marksThatWouldNotShow_areRefused(nick: String) {
        #expect(rules.problem(with: nick) == .hiddenMarks)
    }

    @Test func thePureRulesStillApply() {
        #expect(rules.problem(with: "") == .empty)
        #expect(rules.problem(with: String(repeating: "a", count: 33)) == .tooLong)
        #expect(rules.problem(with: "a b") == .containsWhitespaceOrControl)
        #expect(rules.problem(with: "a\tb") == .containsWhitespaceOrControl)
        #expect(rules.problem(with: "!!!") == .noLetterOrDigit)
        #expect(rules.problem(with: "10.0.0.1") == .looksLikeAnAddress)
    }

    @Test(arguments: [
        ("Alice", "alice"), ("ALICE", "alice"), ("Zoë", "ZOË"), ("Zoë", "Zoe\u{308}"),
        ("admin", "\u{430}dmin"),             // Cyrillic а
        ("paypal", "\u{440}\u{430}ypal"),     // Cyrillic р, а
        ("oscar", "0scar"), ("modern", "rnodern"), ("a1ice", "alice"), ("Straße", "STRASSE"),
        ("Ελένη", "ΕΛΈΝΗ"), ("Владимир", "владимир"),
    ])
    func confusablesAndCaseVariants_share_aKey(a: String, b: String) {
        #expect(rules.key(a) == rules.key(b))
    }

    @Test(arguments: [("alice", "alice2"), ("alice", "bob"), ("Zoë", "Zoe"), ("李雷", "李電"), ("José", "Jose")])
    func differentNames_haveDifferentKeys(a: String, b: String) {
        #expect(rules.key(a) != rules.key(b))
    }

    @Test(arguments: [("admin", true), ("ADMIN", true), ("\u{430}dmin", true), ("\u{410}DMIN", true),
                      ("adrnin", true), ("admin1", false), ("adm", false), ("", false)])
    func theAdminNick_cannotBeImitated(nick: String, isAdmin: Bool) {
        #expect(rules.isAdminNick(nick) == isAdmin)
    }

    @Test(arguments: ["adm\u{34F}in", "admin\u{FE0F}", "ａｄｍｉｎ"])
    func anUnusableImitation_isRefusedForItsOwnReason_notAsTheAdminNick(nick: String) {
        #expect(rules.key(nick) == rules.key("admin"))
        #expect(!rules.isAdminNick(nick))
        #expect(rules.problem(with: nick) != nil)
    }

    @Test func keysStayRight_pastTheCachesLimit() {
        // Twice the cache's size: the first keys are gone from the cache before they are
        // asked for again, under another spelling (Cyrillic е, capital U).
        let count = NicknameProfile.keyCacheLimit * 2
        let keys = (0..<count).map { rules.key("user\($0)") }
        #expect(Set(keys).count == count)
        #expect((0..<count).allSatisfy { rules.key("Us\u{435}r\($0)") == keys[$0] })
        #expect(rules.key("\u{430}dmin") == rules.key("admin"))
    }

    @Test func everyAcceptedNameIsItsOwnKeyClass() {
        // A key is stable: the key of a key is the same key, so a rename to a nick's key collides.
        for nick in ["Alice", "0scar", "Straße", "Владимир", "李雷"] {
            #expect(rules.key(rules.key(nick)) == rules.key(nick))
        }
    }
}
