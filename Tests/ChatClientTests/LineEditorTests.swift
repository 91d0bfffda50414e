import ChatClient
import Testing

@Suite("LineEditor")
struct LineEditorTests {
    static let backspace: UInt8 = 0x7F
    static let ctrlH: UInt8 = 0x08
    static let ctrlC: UInt8 = 0x03
    static let ctrlD: UInt8 = 0x04
    static let ctrlU: UInt8 = 0x15
    static let ctrlW: UInt8 = 0x17
    static let escape: UInt8 = 0x1B
    static let enter: UInt8 = 0x0D
    static let newline: UInt8 = 0x0A

    /// Feeds every byte and returns the action each one produced.
    @discardableResult
    static func feed(_ bytes: [UInt8], into editor: inout LineEditor) -> [LineEditor.Action?] {
        bytes.map { editor.feed($0) }
    }

    @discardableResult
    static func type(_ text: String, into editor: inout LineEditor) -> [LineEditor.Action?] {
        feed(Array(text.utf8), into: &editor)
    }

    static func editor(with text: String) -> LineEditor {
        var editor = LineEditor()
        type(text, into: &editor)
        return editor
    }

    @Test func editor_startsEmpty() {
        let editor = LineEditor()
        #expect(editor.text == "")
        #expect(editor.bytes == [])
    }

    @Test func typing_appendsAndAsksForRedrawOnEveryByte() {
        var editor = LineEditor()
        let actions = Self.type("hi there", into: &editor)
        #expect(actions == Array(repeating: .redraw, count: 8))
        #expect(editor.text == "hi there")
    }

    @Test func typing_multiByteCharacters_buildsTheirUTF8() {
        var editor = LineEditor()
        let actions = Self.type("é日😀", into: &editor)
        #expect(actions.count == 2 + 3 + 4)
        #expect(actions.allSatisfy { $0 == .redraw })
        #expect(editor.text == "é日😀")
        #expect(editor.bytes == Array("é日😀".utf8))
    }

    @Test(arguments: [("aé", "a"), ("a日", "a"), ("a😀", "a"), ("😀😀", "😀"), ("abc", "ab"), ("é", "")])
    func backspace_removesWholeLastCharacter(typed: String, remaining: String) {
        var editor = Self.editor(with: typed)
        #expect(editor.feed(Self.backspace) == .redraw)
        #expect(editor.text == remaining)
        #expect(editor.bytes == Array(remaining.utf8))
    }

    @Test func ctrlH_actsAsBackspace() {
        var editor = Self.editor(with: "añ")
        #expect(editor.feed(Self.ctrlH) == .redraw)
        #expect(editor.text == "a")
    }

    @Test func backspace_onEmptyLine_doesNothing() {
        var editor = LineEditor()
        #expect(editor.feed(Self.backspace) == nil)
        #expect(editor.text == "")
    }

    @Test func repeatedBackspace_erasesMixedLineCharacterByCharacter() {
        var editor = Self.editor(with: "x€y😀")
        var seen: [String] = []
        while !editor.bytes.isEmpty {
            #expect(editor.feed(Self.backspace) == .redraw)
            seen.append(editor.text)
        }
        #expect(seen == ["x€y", "x€", "x", ""])
    }

    @Test func ctrlU_clearsTheWholeLine() {
        var editor = Self.editor(with: "some words here")
        #expect(editor.feed(Self.ctrlU) == .redraw)
        #expect(editor.text == "")
        Self.type("new", into: &editor)
        #expect(editor.text == "new")
    }

    @Test(arguments: [
        ("hello big world", "hello big "),
        ("hello world   ", "hello "),
        ("single", ""),
        ("   ", ""),
        ("", ""),
        ("héllo wörld", "héllo "),
    ])
    func ctrlW_erasesTheLastWordAndTheSpacesAfterIt(typed: String, remaining: String) {
        var editor = Self.editor(with: typed)
        #expect(editor.feed(Self.ctrlW) == .redraw)
        #expect(editor.text == remaining)
    }

    @Test func ctrlW_repeated_erasesWordByWord() {
        var editor = Self.editor(with: "one two three")
        editor.feed(Self.ctrlW)
        #expect(editor.text == "one two ")
        editor.feed(Self.ctrlW)
        #expect(editor.text == "one ")
        editor.feed(Self.ctrlW)
        #expect(editor.text == "")
    }

    @Test(arguments: [LineEditorTests.enter, LineEditorTests.newline])
    func enter_submitsTheLineAndClearsIt(key: UInt8) {
        var editor = Self.editor(with: "hello, wörld")
        #expect(editor.feed(key) == .submit("hello, wörld"))
        #expect(editor.text == "")
        #expect(editor.bytes.isEmpty)
        Self.type("next", into: &editor)
        #expect(editor.feed(key) == .submit("next"))
    }

    @Test func enter_onEmptyLine_submitsEmptyString() {
        var editor = LineEditor()
        #expect(editor.feed(Self.enter) == .submit(""))
    }

    @Test func ctrlD_onEmptyLine_quits() {
        var editor = LineEditor()
        #expect(editor.feed(Self.ctrlD) == .quit)
    }

    @Test func ctrlD_onNonEmptyLine_doesNothingAndKeepsText() {
        var editor = Self.editor(with: "draft")
        #expect(editor.feed(Self.ctrlD) == nil)
        #expect(editor.text == "draft")
        // Once the line is cleared, Ctrl-D quits again.
        editor.feed(Self.ctrlU)
        #expect(editor.feed(Self.ctrlD) == .quit)
    }

    @Test(arguments: ["", "half-typed"])
    func ctrlC_quitsWhateverIsTyped(typed: String) {
        var editor = Self.editor(with: typed)
        #expect(editor.feed(Self.ctrlC) == .quit)
    }

    @Test(arguments: [
        ("up", [0x1B, 0x5B, 0x41] as [UInt8]),
        ("down", [0x1B, 0x5B, 0x42]),
        ("right", [0x1B, 0x5B, 0x43]),
        ("left", [0x1B, 0x5B, 0x44]),
        ("up (application mode)", [0x1B, 0x4F, 0x41]),
        ("ctrl-right", Array("\u{1B}[1;5C".utf8)),
        ("delete", Array("\u{1B}[3~".utf8)),
        ("page up", Array("\u{1B}[5~".utf8)),
        ("F1", Array("\u{1B}OP".utf8)),
        ("F5", Array("\u{1B}[15~".utf8)),
        ("bracketed paste start", Array("\u{1B}[200~".utf8)),
        ("alt-x", [0x1B, 0x78]),
    ])
    func escapeSequences_areSwallowedWithoutChangingTheLine(name: String, sequence: [UInt8]) {
        var editor = Self.editor(with: "ab")
        let actions = Self.feed(sequence, into: &editor)
        #expect(actions.allSatisfy { $0 == nil }, "\(name)")
        #expect(editor.text == "ab", "\(name)")
        #expect(editor.feed(UInt8(ascii: "c")) == .redraw)
        #expect(editor.text == "abc", "\(name)")
    }

    @Test func arrowKeys_betweenTypedCharacters_leaveOnlyTheTypedText() {
        var editor = LineEditor()
        Self.type("a\u{1B}[Ab\u{1B}[Dc\u{1B}[B\u{1B}[Cd", into: &editor)
        #expect(editor.text == "abcd")
        #expect(editor.feed(Self.enter) == .submit("abcd"))
    }

    @Test func escapeKeyPressedBeforeAnArrow_isSwallowedToo() {
        // A lone Esc keypress followed by an arrow key: ESC ESC [ A.
        var editor = Self.editor(with: "ab")
        let actions = Self.feed([Self.escape, Self.escape, 0x5B, 0x41], into: &editor)
        #expect(actions.allSatisfy { $0 == nil })
        #expect(editor.text == "ab")
    }

    @Test func tab_becomesASpace() {
        var editor = Self.editor(with: "a")
        #expect(editor.feed(0x09) == .redraw)
        Self.type("b", into: &editor)
        #expect(editor.text == "a b")
    }

    @Test(arguments: [0x00, 0x01, 0x02, 0x05, 0x07, 0x0B, 0x0C, 0x0E, 0x12, 0x1A, 0x1C, 0x1F] as [UInt8])
    func otherControlBytes_areIgnored(byte: UInt8) {
        var editor = Self.editor(with: "ok")
        #expect(editor.feed(byte) == nil)
        #expect(editor.text == "ok")
    }
}
