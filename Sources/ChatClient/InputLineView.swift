/// Which part of the typed line fits on the bottom row, and where the cursor goes.
/// The row never wraps, so `\r` + erase-line always clears it; when the line is wider
/// than the room after the prompt, `<` and `>` mark the sides that are cut off.
public struct InputLineView: Equatable, Sendable {
    public static let leftMarker = "<"
    public static let rightMarker = ">"

    /// What to print after the prompt (markers included).
    public var text: String
    /// The cursor's column, counted from the end of the prompt.
    public var cursorColumn: Int

    public init(text: String, cursorColumn: Int) {
        self.text = text
        self.cursorColumn = cursorColumn
    }

    /// `width`: the columns available after the prompt (at least 4).
    public init(characters: [Character], cursor: Int, width: Int) {
        let width = max(width, 4)
        let widths = characters.map(DisplayWidth.of)
        let total = widths.reduce(0, +)
        if total < width {
            self.init(text: String(characters), cursorColumn: widths[..<cursor].reduce(0, +))
            return
        }
        // Keep the cursor inside the window with room for both markers: show as much as
        // fits before the cursor, then fill the rest of the row after it.
        let room = width - 2
        var start = cursor
        var used = 0
        while start > 0 && used + widths[start - 1] <= room - 1 { start -= 1; used += widths[start] }
        if start == 0 { used = widths[..<cursor].reduce(0, +) }
        let leftCut = start > 0
        var end = cursor
        var filled = used
        let limit = leftCut ? room : width - 1
        while end < characters.count && filled + widths[end] <= limit { filled += widths[end]; end += 1 }
        let rightCut = end < characters.count
        var text = leftCut ? Self.leftMarker : ""
        text += String(characters[start..<end])
        if rightCut { text += Self.rightMarker }
        self.init(text: text, cursorColumn: (leftCut ? 1 : 0) + used)
    }
}
