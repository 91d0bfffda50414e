/// Makes any text safe to put in a log line: a client-chosen string (an account name,
/// a nickname, a chat line) must not start a forged line, hide text with bidi controls,
/// or send escape sequences to the terminal of whoever reads the log.
///
/// Every scalar that is not visible and plain is escaped, visibly and reversibly:
/// `\n`, `\r`, `\t`, `\\` for the backslash itself (so `\n` in the log always means a
/// newline was sent), and `\u{1B}` for the rest: C0 and C1 controls, DEL, format
/// characters (bidi embeddings and isolates U+202A–U+202E and U+2066–U+2069, zero-width
/// characters, the BOM), the line and paragraph separators U+2028/U+2029, and every space
/// but U+0020 (NBSP would make `admin\u{A0}` read as `admin`). Nothing is lost, so the
/// log keeps exactly what a client sent.
public enum LogText {
    public static func escape(_ text: String) -> String {
        // The common case, printable ASCII without a backslash, costs one pass and no copy.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E || $0 == UInt8(ascii: "\\") }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default:
                if needsEscape(scalar) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 || (0x7F...0x9F).contains(value) { return true }
        if value < 0x7F { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return true
        default:
            return false
        }
    }
}
