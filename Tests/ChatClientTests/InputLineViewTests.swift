import ChatClient
import Testing

@Suite("InputLineView and DisplayWidth")
struct InputLineViewTests {
    @Test(arguments: [("a", 1), ("é", 1), ("e\u{301}", 1), ("日", 2), ("😀", 2), ("👍🏽", 4), ("👨‍👩‍👧", 6), ("\u{FFFD}", 1)] as [(Character, Int)])
    func width_countsColumnsLikeWcwidthTerminals(character: Character, columns: Int) {
        #expect(DisplayWidth.of(character) == columns)
    }

    @Test func shortLine_isShownWholeWithTheCursorAtItsColumn() {
        let view = InputLineView(characters: Array("ab日c"), cursor: 3, width: 20)
        #expect(view == InputLineView(text: "ab日c", cursorColumn: 4))
    }

    @Test func longLine_withCursorAtTheEnd_showsItsEndAfterALeftMarker() {
        let characters = Array("0123456789abcdefghij")
        let view = InputLineView(characters: characters, cursor: characters.count, width: 10)
        #expect(view.text == "<" + "defghij")
        #expect(view.cursorColumn == 8)
        #expect(DisplayWidth.of(view.text) < 10)
    }

    @Test func longLine_withCursorAtTheStart_showsItsStartBeforeARightMarker() {
        let view = InputLineView(characters: Array("0123456789abcdefghij"), cursor: 0, width: 10)
        #expect(view.text == "012345678>")
        #expect(view.cursorColumn == 0)
    }

    @Test func longLine_withCursorInside_hasBothMarkersAndNeverOverflows() {
        let characters = Array("日本語のテキストを書いています、とても長い行です")
        for cursor in 0...characters.count {
            let view = InputLineView(characters: characters, cursor: cursor, width: 12)
            #expect(DisplayWidth.of(view.text) <= 12, "cursor \(cursor): \(view.text)")
            #expect(view.cursorColumn <= DisplayWidth.of(view.text), "cursor \(cursor)")
            if cursor > 8 { #expect(view.text.hasPrefix("<")) }
            if cursor < characters.count - 8 { #expect(view.text.hasSuffix(">")) }
        }
    }
}
