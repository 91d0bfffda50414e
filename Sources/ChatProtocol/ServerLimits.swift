/// The limits a member's lines are held to, the answer to `/limits`, so that a client can
/// pace what it sends instead of having lines refused. One line, readable by people and
/// parsed by `chatroom`:
///
///     [server] Limits: lines up to 65536 bytes, 10 per second in bursts of 20.
///     [server] Limits: lines up to 65536 bytes, no rate limit.
public struct ServerLimits: Equatable, Sendable {
    /// The longest payload the server accepts; a longer frame is a protocol error.
    public var maximumLineBytes: Int
    /// Lines per second a member may send, on average; 0 means no limit.
    public var linesPerSecond: Double
    /// Lines a member may send at once before the rate applies.
    public var burst: Int

    public init(maximumLineBytes: Int, linesPerSecond: Double, burst: Int) {
        self.maximumLineBytes = maximumLineBytes
        self.linesPerSecond = linesPerSecond
        self.burst = burst
    }

    /// The command that asks for them.
    public static let request = "/limits"

    static let prefix = ServerReply.serverNoticePrefix + "Limits: lines up to "

    public var text: String {
        let rate = linesPerSecond > 0 ? "\(Self.decimal(linesPerSecond)) per second in bursts of \(burst)" : "no rate limit"
        return Self.prefix + "\(maximumLineBytes) bytes, " + rate + "."
    }

    /// The limits in a server line, or nil if the line is something else.
    public init?(parsing text: String) {
        guard text.hasPrefix(Self.prefix), text.hasSuffix(".") else { return nil }
        let body = text.dropFirst(Self.prefix.count).dropLast()
        let words = body.split(separator: " ")
        guard words.count >= 2, words[1] == "bytes,", let bytes = Int(words[0]), bytes > 0 else { return nil }
        let rest = words.dropFirst(2).joined(separator: " ")
        if rest == "no rate limit" {
            self.init(maximumLineBytes: bytes, linesPerSecond: 0, burst: 0)
            return
        }
        let parts = rest.split(separator: " ")
        guard parts.count == 7, parts[1...5].joined(separator: " ") == "per second in bursts of",
              let rate = Double(parts[0]), rate > 0, rate.isFinite, let burst = Int(parts[6]), burst > 0 else { return nil }
        self.init(maximumLineBytes: bytes, linesPerSecond: rate, burst: burst)
    }

    /// Up to two decimals, without trailing zeros: 10, 0.5, 2.25.
    static func decimal(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = hundredths / 100
        let fraction = hundredths % 100
        if fraction == 0 { return "\(whole)" }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
