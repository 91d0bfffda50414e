/// The line being typed in the interactive client, edited by grapheme (what a person sees
/// as one character: é, 👍🏽, 👨‍👩‍👧) and by word, with a history of sent lines.
/// Keys in, actions out; pure logic, so it is tested without a terminal.
public struct LineEditor: Sendable {
    public enum Action: Equatable, Sendable {
        /// The visible line changed and should be redrawn.
        case redraw
        /// Enter: the finished line (already added to the history).
        case submit(String)
        /// Ctrl-D on an empty line, or Ctrl-C.
        case quit
        /// Tab: the caller completes the word before the cursor (`complete(with:)`).
        case complete
        /// Ctrl-L: clear the screen and redraw.
        case clearScreen
        /// Ctrl-Z: suspend the client.
        case suspend
    }

    public private(set) var characters: [Character] = []
    /// Index into `characters`: the cursor sits before `characters[cursor]`.
    public private(set) var cursor = 0
    public private(set) var history = InputHistory()
    private var decoder = KeyDecoder()

    public init() {}

    public var text: String { String(characters) }
    public var isEmpty: Bool { characters.isEmpty }

    /// Feeds input bytes; returns what the caller should do, in order. Consecutive
    /// redraws are merged.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [Action] {
        var actions: [Action] = []
        for key in decoder.feed(bytes) {
            guard let action = apply(key) else { continue }
            if action == .redraw && actions.last == .redraw { continue }
            actions.append(action)
        }
        return actions
    }

    /// One byte at a time, for tests and callers that have single bytes.
    public mutating func feed(_ byte: UInt8) -> Action? { feed([byte]).last }

    public mutating func apply(_ key: KeyDecoder.Key) -> Action? {
        switch key {
        case let .text(text):
            insert(text)
        case .enter:
            let line = text
            history.record(line)
            replace(with: "")
            return .submit(line)
        case .tab: return .complete
        case .backspace:
            guard cursor > 0 else { return nil }
            characters.remove(at: cursor - 1)
            cursor -= 1
        case .delete:
            guard cursor < characters.count else { return nil }
            characters.remove(at: cursor)
        case .left: guard cursor > 0 else { return nil }; cursor -= 1
        case .right: guard cursor < characters.count else { return nil }; cursor += 1
        case .home: cursor = 0
        case .end: cursor = characters.count
        case .wordLeft: cursor = wordStart(before: cursor)
        case .wordRight: cursor = wordEnd(after: cursor)
        case .deleteWordBefore:
            let start = wordStart(before: cursor)
            characters.removeSubrange(start..<cursor)
            cursor = start
        case .deleteWordAfter:
            characters.removeSubrange(cursor..<wordEnd(after: cursor))
        case .up:
            guard let line = history.older(current: text) else { return nil }
            replace(with: line)
        case .down:
            guard let line = history.newer() else { return nil }
            replace(with: line)
        case let .control(letter):
            switch letter {
            case "a": cursor = 0
            case "e": cursor = characters.count
            case "b": return apply(.left)
            case "f": return apply(.right)
            case "p": return apply(.up)
            case "n": return apply(.down)
            case "u":
                characters.removeSubrange(0..<cursor)
                cursor = 0
            case "k": characters.removeSubrange(cursor...)
            case "c": return .quit
            case "d": return characters.isEmpty ? .quit : apply(.delete)
            case "l": return .clearScreen
            case "z": return .suspend
            default: return nil
            }
        }
        return .redraw
    }

    /// Replaces the word before the cursor (`prefixLength` characters) with `word`.
    public mutating func replaceWordBeforeCursor(length prefixLength: Int, with word: String) {
        let start = max(cursor - prefixLength, 0)
        characters.removeSubrange(start..<cursor)
        cursor = start
        insert(word)
    }

    /// The word the cursor is at the end of (for completion), and whether it starts the line.
    public var wordBeforeCursor: (word: String, atLineStart: Bool) {
        let start = wordStart(before: cursor, skippingSpaces: false)
        return (String(characters[start..<cursor]), characters[..<start].allSatisfy(\.isWhitespace))
    }

    public mutating func replace(with line: String) {
        characters = Array(line)
        cursor = characters.count
    }

    /// Inserts at the cursor, re-joining graphemes at both edges: a combining accent typed
    /// after `e` becomes part of it, as the terminal shows it.
    mutating func insert(_ text: String) {
        let filtered = String(String.UnicodeScalarView(text.unicodeScalars.filter { !TextSanitizer.isNeutralised($0) }))
        guard !filtered.isEmpty else { return }
        let left = cursor > 0 ? String(characters[cursor - 1]) : ""
        let right = cursor < characters.count ? String(characters[cursor]) : ""
        let before = Array(left + filtered)
        let joined = Array(left + filtered + right)
        let lower = cursor > 0 ? cursor - 1 : cursor
        let upper = cursor < characters.count ? cursor + 1 : cursor
        characters.replaceSubrange(lower..<upper, with: joined)
        cursor = lower + min(before.count, joined.count)
    }

    private func wordStart(before index: Int, skippingSpaces: Bool = true) -> Int {
        var start = index
        if skippingSpaces { while start > 0 && characters[start - 1].isWhitespace { start -= 1 } }
        while start > 0 && !characters[start - 1].isWhitespace { start -= 1 }
        return start
    }

    private func wordEnd(after index: Int) -> Int {
        var end = index
        while end < characters.count && characters[end].isWhitespace { end += 1 }
        while end < characters.count && !characters[end].isWhitespace { end += 1 }
        return end
    }
}
