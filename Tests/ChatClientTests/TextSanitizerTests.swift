import ChatClient
import Testing

@Suite("TextSanitizer")
struct TextSanitizerTests {
    static let replacement = "\u{FFFD}"

    @Test(arguments: [
        "", "hello", "alice: hi there", "tab\tseparated", "héllo wörld", "日本語のテキスト", "emoji 😀👍🏽 👨‍👩‍👧",
        "combining e\u{301}", "nbsp\u{A0}here", "right-to-left עברית", "math 𝄞 ∑",
    ])
    func sanitizer_keepsOrdinaryTextAndTabsUnchanged(text: String) {
        #expect(TextSanitizer.printable(text) == text)
        #expect(Array(TextSanitizer.printable(text).unicodeScalars) == Array(text.unicodeScalars))
    }

    @Test func sanitizer_neutralisesEscapeSequences() {
        let hostile = "bob: \u{1B}[2J\u{1B}[H\u{1B}]0;pwned\u{07}hi"
        let printed = TextSanitizer.printable(hostile)
        #expect(!printed.unicodeScalars.contains("\u{1B}"))
        #expect(!printed.unicodeScalars.contains("\u{07}"))
        #expect(printed == "bob: \(Self.replacement)[2J\(Self.replacement)[H\(Self.replacement)]0;pwned\(Self.replacement)hi")
    }

    @Test(arguments: [
        "\u{0}", "\u{1}", "\u{7}", "\u{8}", "\n", "\u{B}", "\u{C}", "\r", "\u{1B}", "\u{1F}",
        "\u{7F}", "\u{80}", "\u{85}", "\u{9B}", "\u{9F}",
    ])
    func sanitizer_replacesEachControlCharacter(control: String) {
        #expect(TextSanitizer.printable("a\(control)b") == "a\(Self.replacement)b")
    }

    @Test func sanitizer_replacesEveryControlInARun_andKeepsTheRest() {
        let text = "\r\n\u{1B}x\u{7F}\t\u{9B}y"
        let r = Self.replacement
        #expect(TextSanitizer.printable(text) == "\(r)\(r)\(r)x\(r)\t\(r)y")
    }

    @Test func sanitizer_outputNeverContainsC0OrC1ControlsOtherThanTab() {
        let everything = String(String.UnicodeScalarView((0...0xFF).compactMap(Unicode.Scalar.init)))
        let printed = TextSanitizer.printable(everything)
        let controls = printed.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\t") || (0x7F..<0xA0).contains($0.value) }
        #expect(controls.isEmpty)
        // Same number of scalars: each control is replaced one for one, nothing is dropped.
        #expect(printed.unicodeScalars.count == 256)
        #expect(printed.unicodeScalars.filter { $0 == "\u{FFFD}" }.count == 0x20 - 1 + 0x21)
    }
}

@Suite("TextSanitizer: bidi and separators")
struct TextSanitizerBidiTests {
    @Test(arguments: ["\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
                      "\u{2028}", "\u{2029}"])
    func sanitizer_replacesBidiControlsAndSeparators(control: String) {
        #expect(TextSanitizer.printable("a\(control)b") == "a\u{FFFD}b")
    }

    @Test func sanitizer_keepsNeighbouringMarks() {
        // U+200E/U+200F (directional marks) and U+2060 (word joiner) reorder nothing on their own.
        #expect(TextSanitizer.printable("a\u{200E}b\u{2060}c") == "a\u{200E}b\u{2060}c")
    }
}
