/// Makes a received line safe to print: another member must not be able to move the
/// cursor, clear the screen, retitle the terminal with escape sequences, reorder what is
/// shown with bidirectional overrides, or break a line in two. Control characters (C0,
/// DEL, C1), the bidi embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029) become U+FFFD.
public enum TextSanitizer {
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isNeutralised) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(isNeutralised(scalar) ? "\u{FFFD}" : scalar)
        }
        return String(result)
    }

    /// True for the characters `printable` replaces (a tab is kept).
    public static func isNeutralised(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value < 0x20 && value != 0x09) || (value >= 0x7F && value < 0xA0)
            || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            || value == 0x2028 || value == 0x2029
    }
}
