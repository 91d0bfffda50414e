/// The control socket's language, shared by the daemon and `chatroomctl`: one request
/// frame `[--json] COMMAND ARGUMENTS`, one reply frame. A plain reply that failed starts
/// with `error: `; a JSON reply says `"ok": false`.
public enum ControlSyntax {
    public static let jsonFlag = "--json"
    public static let errorPrefix = "error: "
    public static let permissionDeniedPrefix = errorPrefix + "permission denied"

    public static func request(json: Bool, words: [String]) -> String {
        ((json ? [jsonFlag] : []) + words).joined(separator: " ")
    }

    /// The parts of a request: whether JSON was asked for, the command (lower case) and
    /// the rest of the line.
    public static func parse(_ request: String) -> (json: Bool, command: String, arguments: String) {
        var text = Substring(request).drop { $0.isWhitespace }
        var json = false
        if text.hasPrefix(jsonFlag), text.dropFirst(jsonFlag.count).first?.isWhitespace ?? true {
            json = true
            text = text.dropFirst(jsonFlag.count).drop { $0.isWhitespace }
        }
        let word = text.prefix { !$0.isWhitespace }
        var arguments = text[word.endIndex...].drop { $0.isWhitespace }
        while arguments.last?.isWhitespace == true { arguments = arguments.dropLast() }
        return (json, word.lowercased(), String(arguments))
    }
}
