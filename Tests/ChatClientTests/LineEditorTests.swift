import ChatClient
import Testing

@Suite("LineEditor")
struct LineEditorTests {
    static let backspace: [UInt8] = [0x7F]
    static let left = Array("\u{1B}[D".utf8)
    static let right = Array("\u{1B}[C".utf8)
    static let up = Array("\u{1B}[A".utf8)
    static let down = Array("\u{1B}[B".utf8)
    static let home = Array("\u{1B}[H".utf8)
    static let end = Array("\u{1B}[F".utf8)
    static let delete = Array("\u{1B}[3~".utf8)
    static let altB = Array("\u{1B}b".utf8)
    static let altF = Array("\u{1B}f".utf8)
    static func ctrl(_ letter: Character) -> [UInt8] { [letter.asciiValue! - 0x60] }

    static func editor(with text: String) -> LineEditor {
        var editor = LineEditor()
        _ = editor.feed(Array(text.utf8))
        return editor
    }

    /// The line with `|` at the cursor.
    static func shown(_ editor: LineEditor) -> String {
        String(editor.characters[..<editor.cursor]) + "|" + String(editor.characters[editor.cursor...])
    }

    @Test func typing_insertsAtTheCursorAndAsksForOneRedraw() {
        var editor = LineEditor()
        #expect(editor.feed(Array("hi there".utf8)) == [.redraw])
        #expect(Self.shown(editor) == "hi there|")
        _ = editor.feed(Self.home + Array("¡".utf8))
        #expect(Self.shown(editor) == "¡|hi there")
    }

    @Test func utf8SplitAcrossReads_isInsertedWhole() {
        var editor = LineEditor()
        let bytes = Array("😀".utf8)
        #expect(editor.feed(bytes[..<2]) == [])
        #expect(editor.feed(bytes[2...]) == [.redraw])
        #expect(editor.text == "😀")
    }

    @Test(arguments: [("a👨‍👩‍👧", "a"), ("👍🏽x", "👍🏽"), ("e\u{301}", ""), ("🇫🇷🇩🇪", "🇫🇷"), ("日本", "日"), ("abc", "ab")])
    func backspace_removesOneWholeGrapheme(typed: String, remaining: String) {
        var editor = Self.editor(with: typed)
        #expect(editor.feed(Self.backspace) == [.redraw])
        #expect(editor.text == remaining)
    }

    @Test func combiningMarkTypedAfterItsBase_joinsIt() {
        var editor = Self.editor(with: "e")
        _ = editor.feed(Array("\u{301}".utf8))
        #expect(editor.characters == ["e\u{301}"])
        #expect(editor.cursor == 1)
    }

    @Test func leftAndRight_moveByGrapheme() {
        var editor = Self.editor(with: "a👨‍👩‍👧b")
        _ = editor.feed(Self.left + Self.left)
        #expect(Self.shown(editor) == "a|👨‍👩‍👧b")
        _ = editor.feed(Self.right)
        #expect(Self.shown(editor) == "a👨‍👩‍👧|b")
        _ = editor.feed(Self.ctrl("b"))
        #expect(Self.shown(editor) == "a|👨‍👩‍👧b")
        _ = editor.feed(Self.ctrl("f") + Self.ctrl("f") + Self.right)
        #expect(Self.shown(editor) == "a👨‍👩‍👧b|")
    }

    @Test func homeEndAndCtrlAE_goToTheEnds() {
        var editor = Self.editor(with: "middle")
        _ = editor.feed(Self.home)
        #expect(editor.cursor == 0)
        _ = editor.feed(Self.end)
        #expect(editor.cursor == 6)
        _ = editor.feed(Self.ctrl("a"))
        #expect(editor.cursor == 0)
        _ = editor.feed(Self.ctrl("e"))
        #expect(editor.cursor == 6)
        _ = editor.feed(Array("\u{1B}[1~".utf8))
        #expect(editor.cursor == 0)
        _ = editor.feed(Array("\u{1B}[4~".utf8))
        #expect(editor.cursor == 6)
    }

    @Test func altBAndAltF_moveByWord() {
        var editor = Self.editor(with: "one  two three")
        _ = editor.feed(Self.altB)
        #expect(Self.shown(editor) == "one  two |three")
        _ = editor.feed(Self.altB)
        #expect(Self.shown(editor) == "one  |two three")
        _ = editor.feed(Array("\u{1B}[1;5D".utf8))
        #expect(Self.shown(editor) == "|one  two three")
        _ = editor.feed(Self.altF)
        #expect(Self.shown(editor) == "one|  two three")
        _ = editor.feed(Array("\u{1B}[1;5C".utf8))
        #expect(Self.shown(editor) == "one  two| three")
    }

    @Test func ctrlW_deletesTheWordBeforeTheCursor() {
        var editor = Self.editor(with: "one two  three")
        _ = editor.feed(Self.altB)
        _ = editor.feed(Self.ctrl("w"))
        #expect(Self.shown(editor) == "one |three")
        _ = editor.feed(Self.ctrl("w"))
        #expect(Self.shown(editor) == "|three")
    }

    @Test func ctrlUAndCtrlK_deleteBeforeAndAfterTheCursor() {
        var editor = Self.editor(with: "keepdrop")
        _ = editor.feed(Self.left + Self.left + Self.left + Self.left)
        _ = editor.feed(Self.ctrl("k"))
        #expect(Self.shown(editor) == "keep|")
        _ = editor.feed(Self.left + Self.left)
        _ = editor.feed(Self.ctrl("u"))
        #expect(Self.shown(editor) == "|ep")
    }

    @Test func delete_removesTheGraphemeUnderTheCursor() {
        var editor = Self.editor(with: "a😀b")
        _ = editor.feed(Self.home + Self.right + Self.delete)
        #expect(Self.shown(editor) == "a|b")
        _ = editor.feed(Self.ctrl("d"))
        #expect(Self.shown(editor) == "a|")
    }

    @Test func enter_submitsTheWholeLineWhereverTheCursorIs() {
        var editor = Self.editor(with: "hello wörld")
        _ = editor.feed(Self.home)
        #expect(editor.feed([0x0D]) == [.submit("hello wörld")])
        #expect(editor.text == "" && editor.cursor == 0)
    }

    @Test func upAndDown_browseHistoryAndKeepTheDraft() {
        var editor = LineEditor()
        for line in ["first", "second", "second", "third"] { _ = editor.feed(Array((line + "\r").utf8)) }
        #expect(editor.history.entries == ["first", "second", "third"])
        _ = editor.feed(Array("draft".utf8))
        _ = editor.feed(Self.up)
        #expect(editor.text == "third")
        _ = editor.feed(Self.up + Self.up)
        #expect(editor.text == "first")
        #expect(editor.feed(Self.up) == [])
        _ = editor.feed(Self.down)
        #expect(editor.text == "second")
        _ = editor.feed(Self.ctrl("n") + Self.down)
        #expect(Self.shown(editor) == "draft|")
        #expect(editor.feed(Self.down) == [])
    }

    @Test func controlKeys_giveTheirActions() {
        var editor = Self.editor(with: "x")
        #expect(editor.feed([0x09]) == [.complete])
        #expect(editor.feed(Self.ctrl("l")) == [.clearScreen])
        #expect(editor.feed(Self.ctrl("z")) == [.suspend])
        #expect(editor.feed(Self.ctrl("c")) == [.quit])
        #expect(editor.text == "x")
        var empty = LineEditor()
        #expect(empty.feed(Self.ctrl("d")) == [.quit])
    }

    @Test func pastedLines_submitEachInOrder() {
        var editor = LineEditor()
        let actions = editor.feed(Array("one\rtwo\rthr".utf8))
        #expect(actions == [.redraw, .submit("one"), .redraw, .submit("two"), .redraw])
        #expect(editor.text == "thr")
    }

    @Test func unknownEscapesAndControlBytes_changeNothing() {
        var editor = Self.editor(with: "ab")
        for sequence in ["\u{1B}[5~", "\u{1B}OP", "\u{1B}[15~", "\u{1B}x", "\u{1B}\u{1B}[A", "\u{0}", "\u{7}", "\u{1C}"] {
            _ = editor.feed(Array(sequence.utf8))
        }
        _ = editor.feed(Self.end)
        #expect(Self.shown(editor) == "ab|")
    }

    @Test func hostileCharactersPasted_areDropped() {
        let editor = Self.editor(with: "a\u{202E}b\u{2028}c\u{85}d")
        #expect(editor.text == "abcd")
    }

    @Test func aLongPaste_isFastAndWhole() {
        var editor = LineEditor()
        let line = String(repeating: "x", count: 70_000)
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            _ = editor.feed(bytes[offset..<min(offset + 4096, bytes.count)])
            offset += 4096
        }
        #expect(editor.characters.count == 70_000)
    }
}
