/// How many terminal columns a character takes, the way wcwidth-based terminals (xterm,
/// tmux, VTE) lay it out: the sum over its scalars, where East Asian wide and emoji
/// presentation scalars take two, combining marks, joiners and variation selectors none,
/// and everything else one. A ZWJ family such as 👨‍👩‍👧 is one grapheme to the editor (one
/// Backspace removes it) but three emoji wide on such terminals, so it counts six.
public enum DisplayWidth {
    public static func of(_ character: Character) -> Int {
        if character.isASCII { return 1 }  // also "\r\n", which never reaches the editor
        var width = 0
        for scalar in character.unicodeScalars { width += of(scalar) }
        return width
    }

    public static func of(_ text: some Sequence<Character>) -> Int {
        text.reduce(0) { $0 + of($1) }
    }

    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x7F { return value < 0x20 ? 0 : 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0xFE00...0xFE0F).contains(value) || (0xE0100...0xE01EF).contains(value) { return 0 }
        if (0x1160...0x11FF).contains(value) { return 0 }  // Hangul medial vowels and final consonants
        if isWide(value) || scalar.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth.txt, condensed).
    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
             0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
