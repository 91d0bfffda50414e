/// Incremental decoder for the 64-byte-length-header framing.
///
/// Bytes arrive in whatever pieces the network delivers: a frame split at any byte, or
/// many frames in one read. Complete frames inside the input are handed out in place,
/// without copying; only an incomplete tail is kept, so an idle connection holds no
/// buffer at all.
public struct FrameDecoder: Sendable {
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// The header holds something other than ASCII digits followed by space padding.
        case malformedHeader
        /// The header's number does not fit in an integer.
        case lengthOverflow
        /// The header claims more than the configured maximum.
        case payloadTooLarge(claimed: Int, limit: Int)
        /// The payload is not valid UTF-8.
        case invalidUTF8

        public var description: String {
            switch self {
            case .malformedHeader:
                return "malformed frame header (expected the payload length in ASCII digits, padded with spaces to 64 bytes)"
            case .lengthOverflow:
                return "malformed frame header (length has too many digits)"
            case let .payloadTooLarge(claimed, limit):
                return "frame too large (\(claimed) bytes; the limit is \(limit))"
            case .invalidUTF8:
                return "frame payload is not valid UTF-8"
            }
        }
    }

    public let maximumPayloadLength: Int
    /// The partial header, or the partial payload once `expectedPayload` is known.
    private var pending: [UInt8] = []
    private var expectedPayload: Int? = nil

    public init(maximumPayloadLength: Int = FrameFormat.defaultMaximumPayloadLength) {
        self.maximumPayloadLength = maximumPayloadLength
    }

    /// Bytes held back waiting for the rest of a frame.
    public var bufferedByteCount: Int { pending.count }

    /// The unfinished frame as it came over the wire (its header re-encoded if it was
    /// already read): fed to a fresh decoder, it leaves that decoder in this one's state.
    /// For handing a connection to a successor process mid-frame.
    public var unconsumedInput: [UInt8] {
        guard let expected = expectedPayload else { return pending }
        var header = [UInt8](repeating: 0, count: FrameFormat.headerLength)
        header.withUnsafeMutableBytes { FrameEncoder.writeHeader(length: expected, into: $0) }
        return header + pending
    }

    /// Feeds `input`, calling `onFrame` with each complete, valid payload in order.
    /// `onFrame` returns `false` to stop early (its connection is going away); the rest of
    /// the input is then dropped. Throws at the first protocol violation; the decoder
    /// must not be used after that.
    public mutating func feed(
        _ input: UnsafeRawBufferPointer,
        onFrame: (UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        var cursor = 0
        while cursor < input.count {
            if let expected = expectedPayload {
                if pending.isEmpty && input.count - cursor >= expected {
                    // Whole payload present in this read: hand it out without copying.
                    let payload = UnsafeRawBufferPointer(rebasing: input[cursor..<cursor + expected])
                    cursor += expected
                    expectedPayload = nil
                    guard UTF8Validation.isValid(payload) else { throw Failure.invalidUTF8 }
                    if try !onFrame(payload) { return }
                    continue
                }
                let take = min(expected - pending.count, input.count - cursor)
                pending.append(contentsOf: input[cursor..<cursor + take])
                cursor += take
                if pending.count == expected {
                    expectedPayload = nil
                    let payload = pending
                    pending = []
                    let keepGoing = try payload.withUnsafeBytes { bytes -> Bool in
                        guard UTF8Validation.isValid(bytes) else { throw Failure.invalidUTF8 }
                        return try onFrame(bytes)
                    }
                    if !keepGoing { return }
                }
            } else {
                if pending.isEmpty && input.count - cursor >= FrameFormat.headerLength {
                    let header = UnsafeRawBufferPointer(rebasing: input[cursor..<cursor + FrameFormat.headerLength])
                    cursor += FrameFormat.headerLength
                    expectedPayload = try Self.parseHeader(header, limit: maximumPayloadLength)
                } else {
                    let take = min(FrameFormat.headerLength - pending.count, input.count - cursor)
                    pending.append(contentsOf: input[cursor..<cursor + take])
                    cursor += take
                    if pending.count == FrameFormat.headerLength {
                        let length = try pending.withUnsafeBytes { try Self.parseHeader($0, limit: maximumPayloadLength) }
                        pending.removeAll(keepingCapacity: false)
                        expectedPayload = length
                    }
                }
                if expectedPayload == 0 {
                    expectedPayload = nil
                    if try !onFrame(UnsafeRawBufferPointer(start: nil, count: 0)) { return }
                }
            }
        }
    }

    /// Digits first, then only spaces. Leading spaces are tolerated because Python's
    /// `int()` (the original server) accepts them; anything else is malformed.
    static func parseHeader(_ header: UnsafeRawBufferPointer, limit: Int) throws -> Int {
        var index = 0
        while index < header.count && header[index] == FrameFormat.space { index += 1 }
        var value = 0
        var digits = 0
        while index < header.count, header[index] >= FrameFormat.zero, header[index] <= FrameFormat.zero + 9 {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(header[index] - FrameFormat.zero))
            if overflow1 || overflow2 { throw Failure.lengthOverflow }
            value = sum
            digits += 1
            index += 1
        }
        guard digits > 0 else { throw Failure.malformedHeader }
        while index < header.count {
            guard header[index] == FrameFormat.space else { throw Failure.malformedHeader }
            index += 1
        }
        guard value <= limit else { throw Failure.payloadTooLarge(claimed: value, limit: limit) }
        return value
    }
}
