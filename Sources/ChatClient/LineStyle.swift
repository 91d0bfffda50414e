import ChatProtocol
import Glibc

/// How received lines are shown: an optional local timestamp, each nickname in a colour
/// of its own (the same colour every time), and lines that mention you or are private
/// messages to you highlighted and announced with the terminal bell. Text is sanitised
/// before any of the client's own escape codes are added.
public struct LineStyle: Sendable {
    public var timestamps: Bool
    public var colour: Bool
    public var bell: Bool

    /// Foreground colours that read on dark and light backgrounds alike.
    static let palette = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]

    public init(timestamps: Bool, colour: Bool, bell: Bool) {
        self.timestamps = timestamps
        self.colour = colour
        self.bell = bell
    }

    public struct Rendered: Equatable, Sendable {
        public var text: String
        /// Mentions you or is a private message to you.
        public var highlighted: Bool
    }

    /// `frame` as it should be printed for a member called `me`; `clock` is the local
    /// time of day, `HH:MM`.
    public func render(_ frame: String, me: String, clock: String) -> Rendered {
        let highlighted = Self.isForMe(frame, me: me)
        var text = TextSanitizer.printable(frame)
        if colour, let speaker = NickBook.speaker(of: frame), let range = text.firstRange(of: speaker) {
            text.replaceSubrange(range, with: Self.colour(for: speaker) + speaker + Self.reset)
        }
        if highlighted && colour { text = Self.bold + text + Self.reset }
        if timestamps { text = (colour ? Self.dim + clock + Self.reset : clock) + " " + text }
        return Rendered(text: text, highlighted: highlighted)
    }

    /// What to write for the bell after a highlighted line, if anything.
    public func bellText(for rendered: Rendered) -> String { bell && rendered.highlighted ? "\u{07}" : "" }

    static let reset = "\u{1B}[0m"
    static let bold = "\u{1B}[1m"
    static let dim = "\u{1B}[2m"

    /// The nick's colour: FNV-1a of its lowercased bytes picks from the palette, so it
    /// is the same in every session and on every machine.
    public static func colour(for nick: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in nick.lowercased().utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "\u{1B}[\(palette[Int(hash % UInt32(palette.count))])m"
    }

    /// A private message to `me`, or someone else's line naming `me` as a word.
    public static func isForMe(_ frame: String, me: String) -> Bool {
        if frame.hasPrefix(ServerReply.privateFromPrefix) { return true }
        guard !me.isEmpty, let speaker = NickBook.speaker(of: frame), speaker != me,
              !frame.hasPrefix(ServerReply.historyPrefix) else { return false }
        let body = frame.dropFirst(frame.hasPrefix(ServerReply.actionPrefix) ? ServerReply.actionPrefix.count : 0)
                        .dropFirst(speaker.count)
        return containsWord(body.lowercased(), me.lowercased())
    }

    static func containsWord(_ text: String, _ word: String) -> Bool {
        var rest = Substring(text)
        while let range = rest.firstRange(of: word) {
            let before = range.lowerBound == rest.startIndex ? nil : rest[rest.index(before: range.lowerBound)]
            let after = range.upperBound == rest.endIndex ? nil : rest[range.upperBound]
            let isBoundary: (Character?) -> Bool = { $0 == nil || !($0!.isLetter || $0!.isNumber || $0 == "_") }
            if isBoundary(before) && isBoundary(after) { return true }
            rest = rest[range.upperBound...]
        }
        return false
    }

    /// The local time of day as `HH:MM`.
    public static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return two(parts.tm_hour) + ":" + two(parts.tm_min)
    }
}
