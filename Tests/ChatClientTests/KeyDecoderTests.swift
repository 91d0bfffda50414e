import ChatClient
import Testing

@Suite("KeyDecoder")
struct KeyDecoderTests {
    @Test(arguments: [
        ("\u{1B}[A", KeyDecoder.Key.up), ("\u{1B}OA", .up), ("\u{1B}[B", .down), ("\u{1B}[C", .right),
        ("\u{1B}[D", .left), ("\u{1B}[H", .home), ("\u{1B}OH", .home), ("\u{1B}[7~", .home), ("\u{1B}[F", .end),
        ("\u{1B}[8~", .end), ("\u{1B}[3~", .delete), ("\u{1B}b", .wordLeft), ("\u{1B}f", .wordRight),
        ("\u{1B}[1;3D", .wordLeft), ("\u{1B}[1;5C", .wordRight), ("\u{1B}\u{7F}", .deleteWordBefore),
        ("\u{1B}d", .deleteWordAfter), ("\u{17}", .deleteWordBefore), ("\u{7F}", .backspace), ("\u{8}", .backspace),
        ("\r", .enter), ("\t", .tab), ("\u{1}", .control("a")), ("\u{1A}", .control("z")),
    ])
    func sequences_decodeToKeys(sequence: String, key: KeyDecoder.Key) {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array(sequence.utf8)) == [key])
    }

    @Test func sequenceSplitAcrossReads_waitsForItsEnd() {
        var decoder = KeyDecoder()
        #expect(decoder.feed(Array("ab\u{1B}[1;".utf8)) == [.text("ab")])
        #expect(decoder.feed(Array("5Cc".utf8)) == [.wordRight, .text("c")])
    }

    @Test func invalidUTF8_becomesReplacementCharacters() {
        var decoder = KeyDecoder()
        #expect(decoder.feed([0x61, 0xFF, 0x62]) == [.text("a\u{FFFD}b")])
    }
}
