/// Makes a received line safe to print: another member must not be able to move the
/// cursor, clear the screen or retitle the terminal with escape sequences. Control
/// characters (C0, DEL, C1) become U+FFFD.
public enum TextSanitizer {
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            result.append(isControl(scalar) ? "\u{FFFD}" : scalar)
        }
        return String(result)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        return (value < 0x20 && value != 0x09) || (value >= 0x7F && value < 0xA0)
    }
}
