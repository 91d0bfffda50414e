/// The configuration file: one `key = value` per line, `#` starts a comment, blank lines
/// are ignored. Keys are the long command-line flags without `--`; a key may repeat only
/// where the flag does (`listen`, `admin`). Errors name `file:line`.
///
///     listen = [::]:12000
///     admin = alice $y$j9T$...        # account name, then its hash
///     history-lines = 50
public struct ConfigurationFile: Sendable {
    public struct Entry: Equatable, Sendable {
        public let key: String
        public let value: String
        public let line: Int
    }

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let line: Int
        public let message: String
        public var description: String { "\(path):\(line): \(message)" }
    }

    public let path: String
    public let entries: [Entry]

    /// Reads and parses the file at `path`; a file that is missing or unreadable is an
    /// error that says why.
    public static func load(path: String) throws(Settings.Invalid) -> ConfigurationFile {
        let bytes: [UInt8]?
        do { bytes = try DurableFile.read(path) } catch {
            throw Settings.Invalid(message: "\(path): cannot read the configuration file: \(error.description)")
        }
        guard let bytes else { throw Settings.Invalid(message: "\(path): cannot read the configuration file: No such file or directory") }
        do { return try ConfigurationFile(path: path, text: String(decoding: bytes, as: UTF8.self)) } catch {
            throw Settings.Invalid(message: error.description)
        }
    }

    public init(path: String, text: String) throws(ParseError) {
        self.path = path
        var entries: [Entry] = []
        var number = 0
        // Split on every line ending: "\r\n" is one Character in Swift, so splitting on
        // "\n" alone would read a CRLF file as a single line.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            number += 1
            var line = Substring(rawLine)
            if number == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }  // a byte-order mark
            if let hash = Self.commentStart(line) { line = line[..<hash] }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ParseError(path: path, line: number, message: "expected 'key = value', got '\(trimmed)'")
            }
            let key = trimmed[..<equals].trimmingWhitespace().lowercased()
            let value = trimmed[trimmed.index(after: equals)...].trimmingWhitespace()
            guard !key.isEmpty else { throw ParseError(path: path, line: number, message: "missing key before '='") }
            guard key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw ParseError(path: path, line: number, message: "invalid key '\(key)'")
            }
            entries.append(Entry(key: key, value: Self.unquote(value), line: number))
        }
        self.entries = entries
    }

    /// A `#` starts a comment at the start of a line or after whitespace, so values such
    /// as password hashes may contain `#`.
    private static func commentStart(_ line: Substring) -> Substring.Index? {
        var previous: Character = " "
        for index in line.indices {
            if line[index] == "#" && previous.isWhitespace { return index }
            previous = line[index]
        }
        return nil
    }

    private static func unquote(_ value: String) -> String {
        if value.count >= 2, value.first == "\"", value.last == "\"" { return String(value.dropFirst().dropLast()) }
        return value
    }
}
