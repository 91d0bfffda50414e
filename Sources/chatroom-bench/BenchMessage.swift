import Bytes
import ChatProtocol

/// The chat line every bench sender writes: `b <sender> <seq> <send-ns>`, optionally
/// followed by a space and padding. The server delivers it as `<nick>: b ...` to every
/// member, the sender included, so each receiver can tell who sent it, which message of
/// that sender's it is, and when it was sent (CLOCK_MONOTONIC, shared by every process
/// on the machine).
enum BenchMessage {
    static func frame(sender: Int, sequence: UInt64, sentAt: UInt64, padding: Int) -> SharedBytes {
        let senderValue = UInt64(sender)
        let senderDigits = Decimal.length(senderValue)
        let sequenceDigits = Decimal.length(sequence)
        let timeDigits = Decimal.length(sentAt)
        var length = 2 + senderDigits + 1 + sequenceDigits + 1 + timeDigits
        if padding > 0 { length += 1 + padding }
        return FrameEncoder.frame(payloadLength: length) { payload in
            let base = payload.baseAddress!
            var at = 0
            base.storeBytes(of: UInt8(ascii: "b"), toByteOffset: 0, as: UInt8.self)
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: 1, as: UInt8.self)
            at = 2
            Decimal.write(senderValue, digits: senderDigits, to: base + at)
            at += senderDigits
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
            at += 1
            Decimal.write(sequence, digits: sequenceDigits, to: base + at)
            at += sequenceDigits
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
            at += 1
            Decimal.write(sentAt, digits: timeDigits, to: base + at)
            at += timeDigits
            if padding > 0 {
                base.storeBytes(of: UInt8(ascii: " "), toByteOffset: at, as: UInt8.self)
                (base + at + 1).initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "x"), count: padding)
            }
        }
    }

    static func join(nick: String) -> SharedBytes { FrameEncoder.frame("NICK:" + nick) }
    static func login(account: String, password: String) -> SharedBytes { FrameEncoder.frame("/login \(account) \(password)") }
    static func leave() -> SharedBytes { FrameEncoder.frame("!DC") }
}

/// What a frame from the server is, as far as the bench cares.
enum ServerFrame {
    case chat(sender: UInt64, sequence: UInt64, sentAt: UInt64)
    case connected
    case joined
    case left
    /// A chat line replayed from the room's history to a member who just joined.
    case history
    /// Flood control refused one of this member's lines.
    case refused
    /// "/login" succeeded ("You are now an admin ...").
    case loggedIn
    /// Someone became an admin ("<nick> is now an admin.").
    case promoted
    case other

    private static let connectedText = Array(ServerReply.connected.utf8)
    private static let joinedSuffix = Array(" has joined the chat!".utf8)
    private static let leftPrefix = Array("[CLIENT DISCONNECT - ".utf8)
    private static let historyPrefix = Array("[history ".utf8)
    private static let tooFastPrefix = Array("You are sending messages too fast".utf8)
    private static let loggedInPrefix = Array("You are now an admin".utf8)
    private static let promotedSuffix = Array(" is now an admin.".utf8)

    /// Classifies a payload in place: numbers are parsed straight from the bytes, nothing
    /// is allocated.
    @inline(__always)
    static func classify(_ payload: UnsafeRawBufferPointer) -> ServerFrame {
        guard let base = payload.baseAddress else { return .other }
        let count = payload.count
        // "<nick>: b <sender> <seq> <ns>": nicks are at most 32 bytes and have no ':'.
        var i = 0
        let limit = min(count, 34)
        while i < limit && base.load(fromByteOffset: i, as: UInt8.self) != UInt8(ascii: ":") { i += 1 }
        if i < limit && i + 4 < count
            && base.load(fromByteOffset: i + 1, as: UInt8.self) == UInt8(ascii: " ")
            && base.load(fromByteOffset: i + 2, as: UInt8.self) == UInt8(ascii: "b")
            && base.load(fromByteOffset: i + 3, as: UInt8.self) == UInt8(ascii: " ") {
            var at = i + 4
            if let sender = Decimal.parse(base, count, &at), Decimal.skipSpace(base, count, &at),
               let sequence = Decimal.parse(base, count, &at), Decimal.skipSpace(base, count, &at),
               let sentAt = Decimal.parse(base, count, &at) {
                return .chat(sender: sender, sequence: sequence, sentAt: sentAt)
            }
            return .other
        }
        if hasSuffix(base, count, joinedSuffix) { return .joined }
        if hasPrefix(base, count, leftPrefix) { return .left }
        if hasPrefix(base, count, historyPrefix) { return .history }
        if hasPrefix(base, count, tooFastPrefix) { return .refused }
        if hasSuffix(base, count, promotedSuffix) { return .promoted }
        if hasPrefix(base, count, loggedInPrefix) { return .loggedIn }
        if count == connectedText.count && hasPrefix(base, count, connectedText) { return .connected }
        return .other
    }

    @inline(__always)
    private static func hasSuffix(_ base: UnsafeRawPointer, _ count: Int, _ suffix: [UInt8]) -> Bool {
        guard count >= suffix.count else { return false }
        let start = count - suffix.count
        for k in 0..<suffix.count where base.load(fromByteOffset: start + k, as: UInt8.self) != suffix[k] { return false }
        return true
    }

    @inline(__always)
    private static func hasPrefix(_ base: UnsafeRawPointer, _ count: Int, _ prefix: [UInt8]) -> Bool {
        guard count >= prefix.count else { return false }
        for k in 0..<prefix.count where base.load(fromByteOffset: k, as: UInt8.self) != prefix[k] { return false }
        return true
    }
}

/// ASCII decimal, written and read in place.
enum Decimal {
    @inline(__always)
    static func length(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 { rest /= 10; digits += 1 }
        return digits
    }

    @inline(__always)
    static func write(_ value: UInt64, digits: Int, to start: UnsafeMutableRawPointer) {
        var rest = value
        var index = digits - 1
        while index >= 0 {
            start.storeBytes(of: UInt8(truncatingIfNeeded: 48 + rest % 10), toByteOffset: index, as: UInt8.self)
            rest /= 10
            index -= 1
        }
    }

    /// Digits at `at`, advancing past them; nil if there are none or they overflow.
    @inline(__always)
    static func parse(_ base: UnsafeRawPointer, _ count: Int, _ at: inout Int) -> UInt64? {
        let start = at
        var value: UInt64 = 0
        while at < count {
            let byte = base.load(fromByteOffset: at, as: UInt8.self)
            guard byte >= 48 && byte <= 57 else { break }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - 48))
            if o1 || o2 { return nil }
            value = sum
            at += 1
        }
        return at > start ? value : nil
    }

    @inline(__always)
    static func skipSpace(_ base: UnsafeRawPointer, _ count: Int, _ at: inout Int) -> Bool {
        guard at < count, base.load(fromByteOffset: at, as: UInt8.self) == UInt8(ascii: " ") else { return false }
        at += 1
        return true
    }
}
