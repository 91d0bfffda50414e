import Bytes
import ChatProtocol
import Testing

@Suite("FrameDecoder: splitting and batching")
struct FrameDecoderSplittingTests {
    /// A small maximum keeps "split at every byte" quadratic work cheap while still
    /// covering a payload of exactly the maximum size.
    static let smallMaximum = 300

    static let payloads: [[UInt8]] = [
        Array("NICK:alice".utf8),
        [],
        Array("héllo wörld 🌍 日本語 ÿ".utf8),
        Array("x".utf8),
        [],
        Array(repeating: UInt8(ascii: "m"), count: smallMaximum),
        Array("!DC".utf8),
    ]

    static var stream: [UInt8] { payloads.flatMap(encoded) }

    @Test func decoder_yieldsEveryFrame_whenStreamFedWhole() {
        let result = decode([Self.stream], maximumPayloadLength: Self.smallMaximum)
        #expect(result == DecodeResult(frames: Self.payloads))
    }

    @Test func decoder_yieldsSameFrames_whenFedByteByByte() {
        let result = decode(byteByByte(Self.stream), maximumPayloadLength: Self.smallMaximum)
        #expect(result == DecodeResult(frames: Self.payloads))
    }

    @Test func decoder_yieldsSameFrames_whenSplitAtEveryByte() {
        let stream = Self.stream
        let expected = DecodeResult(frames: Self.payloads)
        var mismatches: [Int] = []
        for position in 0...stream.count {
            let result = decode(split(stream, at: position), maximumPayloadLength: Self.smallMaximum)
            if result != expected { mismatches.append(position) }
        }
        #expect(mismatches == [], "split positions that decoded differently")
    }

    @Test func decoder_yieldsSameFrames_whenSplitIntoThreePiecesAtManyPositions() {
        let stream = Self.stream
        let expected = DecodeResult(frames: Self.payloads)
        var mismatches: [[Int]] = []
        for first in stride(from: 0, through: stream.count, by: 7) {
            for second in stride(from: first, through: stream.count, by: 13) {
                let reads = [Array(stream[..<first]), Array(stream[first..<second]), Array(stream[second...])]
                if decode(reads, maximumPayloadLength: Self.smallMaximum) != expected {
                    mismatches.append([first, second])
                }
            }
        }
        #expect(mismatches == [])
    }

    @Test func decoder_acceptsDefaultMaximumSizePayload_wholeSplitAndByteByByte() {
        // Multi-byte characters all the way up to exactly 64 KiB.
        var payload = Array(String(repeating: "é€𝄞a", count: 65536 / 10).utf8)
        payload += Array(repeating: UInt8(ascii: "z"), count: FrameFormat.defaultMaximumPayloadLength - payload.count)
        #expect(payload.count == FrameFormat.defaultMaximumPayloadLength)
        let payloads = [Array("before".utf8), payload, Array("after".utf8)]
        let stream = payloads.flatMap(encoded)
        let expected = DecodeResult(frames: payloads)

        #expect(decode([stream]) == expected)
        #expect(decode(byteByByte(stream)) == expected)
        for position in [1, 63, 64, 70, 64 + 6 + 64, 64 + 6 + 64 + 1, 40_000, stream.count - 70, stream.count - 1] {
            #expect(decode(split(stream, at: position)) == expected, "split at \(position)")
        }
    }

    @Test func decoder_yieldsThousandsOfFrames_fromOneRead() {
        let payloads = (0..<2000).map { Array("message number \($0)".utf8) } + [[]]
        let result = decode([payloads.flatMap(encoded)])
        #expect(result.failure == nil)
        #expect(result.frames.count == 2001)
        #expect(result.frames == payloads)
        #expect(result.bufferedByteCount == 0)
    }

    @Test func decoder_handsOutOnlyEmptyFrames_whenStreamIsAllZeroLengthHeaders() {
        let stream = Array(repeating: header("0"), count: 5).flatMap { $0 }
        #expect(decode([stream]) == DecodeResult(frames: Array(repeating: [], count: 5)))
        #expect(decode(byteByByte(stream)) == DecodeResult(frames: Array(repeating: [], count: 5)))
    }

    @Test func decoder_keepsOnlyTheIncompleteTail_andNothingWhenIdle() throws {
        let frame = encoded("hello")
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        func feed(_ bytes: ArraySlice<UInt8>) throws {
            try Array(bytes).withUnsafeBytes { raw in
                try decoder.feed(raw) { frames.append(Array($0)); return true }
            }
        }
        #expect(decoder.bufferedByteCount == 0)
        try feed(frame[..<10])
        #expect(decoder.bufferedByteCount == 10)
        try feed(frame[10..<66])
        // The header is parsed and dropped; two payload bytes wait for the other three.
        #expect(decoder.bufferedByteCount == 2)
        #expect(frames.isEmpty)
        try feed(frame[66...] + frame[..<3])
        #expect(frames == [Array("hello".utf8)])
        #expect(decoder.bufferedByteCount == 3)
        try feed(frame[3...])
        #expect(frames == [Array("hello".utf8), Array("hello".utf8)])
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func decoder_yieldsNothing_forEmptyRead() {
        #expect(decode([[]]) == DecodeResult())
        #expect(decode([[], encoded("a"), []]) == DecodeResult(frames: [Array("a".utf8)]))
    }
}

@Suite("FrameDecoder: headers")
struct FrameDecoderHeaderTests {
    @Test(arguments: [
        ("0", 0), ("5", 5), ("10", 10), ("007", 7), ("   12", 12), ("65536", 65536),
        (String(repeating: " ", count: 63) + "3", 3), ("3" + String(repeating: " ", count: 63), 3),
    ])
    func decoder_acceptsDigitsPaddedWithSpaces(headerText: String, length: Int) {
        let payload = Array(repeating: UInt8(ascii: "a"), count: length)
        let stream = header(headerText) + payload
        #expect(decode([stream]) == DecodeResult(frames: [payload]))
        #expect(decode(byteByByte(stream)) == DecodeResult(frames: [payload]))
    }

    static let malformedHeaders: [String] = [
        "abc", "1a", "a1", "-5", "+5", "1 2", "12 3", "", "0x10", "5\t", "\t5", "1.0", "١٢",
        String(repeating: " ", count: 60) + "1 2",
    ]

    @Test(arguments: malformedHeaders)
    func decoder_refusesMalformedHeader_whetherWholeOrByteByByte(headerText: String) {
        let stream = header(headerText) + Array("payload".utf8)
        #expect(decode([stream]) == DecodeResult(failure: .malformedHeader))
        let bytewise = decode(byteByByte(stream))
        #expect(bytewise.failure == .malformedHeader)
        #expect(bytewise.frames.isEmpty)
    }

    @Test func decoder_refusesHeaderOfNulBytes() {
        let stream = Array(repeating: UInt8(0), count: 64)
        #expect(decode([stream]).failure == .malformedHeader)
    }

    @Test func decoder_refusesMalformedHeader_afterDeliveringEarlierFrames() {
        let stream = encoded("first") + header("nope") + encoded("never")
        #expect(decode([stream]) == DecodeResult(frames: [Array("first".utf8)], failure: .malformedHeader))
        #expect(decode(byteByByte(stream)).frames == [Array("first".utf8)])
        #expect(decode(byteByByte(stream)).failure == .malformedHeader)
    }

    @Test(arguments: [
        String(repeating: "9", count: 64),
        String(repeating: "9", count: 20),
        "9223372036854775808",  // Int.max + 1
        String(repeating: "0", count: 40) + "99999999999999999999",
    ])
    func decoder_refusesLengthThatOverflows(headerText: String) {
        #expect(decode([header(headerText)]).failure == .lengthOverflow)
        #expect(decode(byteByByte(header(headerText))).failure == .lengthOverflow)
    }

    @Test func decoder_reportsTooLarge_notOverflow_forIntMax() {
        let result = decode([header("9223372036854775807")])
        #expect(result.failure == .payloadTooLarge(claimed: Int.max, limit: FrameFormat.defaultMaximumPayloadLength))
    }

    @Test func decoder_refusesOversizedLength_asSoonAsHeaderArrives_withNoPayloadBytes() {
        let limit = FrameFormat.defaultMaximumPayloadLength
        let onlyHeader = header(String(limit + 1))
        let expected = DecodeResult(failure: .payloadTooLarge(claimed: limit + 1, limit: limit))
        #expect(decode([onlyHeader]) == expected)
        #expect(decode(byteByByte(onlyHeader)).failure == expected.failure)
    }

    @Test func decoder_refusesOversizedLength_afterDeliveringEarlierFrames() {
        let stream = encoded("ok") + header("1000000")
        let result = decode([stream], maximumPayloadLength: 1000)
        #expect(result == DecodeResult(frames: [Array("ok".utf8)], failure: .payloadTooLarge(claimed: 1_000_000, limit: 1000)))
    }

    @Test func decoder_enforcesConfiguredMaximum_atTheBoundary() {
        let atLimit = Array(repeating: UInt8(ascii: "b"), count: 16)
        #expect(decode([encoded(atLimit)], maximumPayloadLength: 16) == DecodeResult(frames: [atLimit]))
        #expect(decode([encoded(atLimit + [UInt8(ascii: "b")])], maximumPayloadLength: 16).failure
                == .payloadTooLarge(claimed: 17, limit: 16))
        #expect(decode([encoded("")], maximumPayloadLength: 0) == DecodeResult(frames: [[]]))
        #expect(decode([encoded("a")], maximumPayloadLength: 0).failure == .payloadTooLarge(claimed: 1, limit: 0))
    }

    @Test func failureDescriptions_nameTheProblem() {
        #expect(FrameDecoder.Failure.payloadTooLarge(claimed: 70000, limit: 65536).description
                == "frame too large (70000 bytes; the limit is 65536)")
        #expect(FrameDecoder.Failure.invalidUTF8.description == "frame payload is not valid UTF-8")
        #expect(FrameDecoder.Failure.malformedHeader.description.hasPrefix("malformed frame header"))
        #expect(FrameDecoder.Failure.lengthOverflow.description.hasPrefix("malformed frame header"))
    }
}

@Suite("FrameDecoder: UTF-8 payloads")
struct FrameDecoderUTF8Tests {
    static let invalidPayloads: [(String, [UInt8])] = [
        ("stray continuation byte", [0x80]),
        ("continuation after ASCII", Array("ab".utf8) + [0xBF]),
        ("overlong two-byte slash", [0xC0, 0xAF]),
        ("overlong two-byte with C1", [0xC1, 0xBF]),
        ("overlong three-byte", [0xE0, 0x80, 0xAF]),
        ("overlong four-byte", [0xF0, 0x80, 0x80, 0xAF]),
        ("high surrogate", [0xED, 0xA0, 0x80]),
        ("low surrogate", [0xED, 0xBF, 0xBF]),
        ("above U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
        ("F5 lead byte", [0xF5, 0x80, 0x80, 0x80]),
        ("FF byte", [0xFF]),
        ("truncated two-byte at end", Array("abc".utf8) + [0xC3]),
        ("truncated three-byte at end", [0xE2, 0x82]),
        ("truncated four-byte at end", [0xF0, 0x9F, 0x8C]),
        ("truncated three-byte before ASCII", [0xE2, 0x82, 0x41]),
        ("lead byte followed by lead byte", [0xC3, 0xC3, 0xA9]),
    ]

    @Test(arguments: invalidPayloads)
    func decoder_refusesInvalidUTF8_whetherWholeOrByteByByte(label: String, payload: [UInt8]) {
        let stream = encoded("fine") + encoded(payload) + encoded("never")
        let expected = DecodeResult(frames: [Array("fine".utf8)], failure: .invalidUTF8)
        #expect(decode([stream]).frames == expected.frames, "\(label)")
        #expect(decode([stream]).failure == .invalidUTF8, "\(label)")
        #expect(decode(byteByByte(stream)).frames == expected.frames, "\(label)")
        #expect(decode(byteByByte(stream)).failure == .invalidUTF8, "\(label)")
    }

    @Test(arguments: [
        [0xC2, 0x80] as [UInt8],        // U+0080
        [0xDF, 0xBF],                   // U+07FF
        [0xE0, 0xA0, 0x80],             // U+0800
        [0xED, 0x9F, 0xBF],             // U+D7FF, just below the surrogates
        [0xEE, 0x80, 0x80],             // U+E000, just above them
        [0xEF, 0xBF, 0xBF],             // U+FFFF
        [0xF0, 0x90, 0x80, 0x80],       // U+10000
        [0xF4, 0x8F, 0xBF, 0xBF],       // U+10FFFF
        [0x00, 0x7F],                   // NUL and DEL are valid UTF-8
    ])
    func decoder_acceptsBoundaryCodePoints(payload: [UInt8]) {
        #expect(decode([encoded(payload)]) == DecodeResult(frames: [payload]))
        #expect(decode(byteByByte(encoded(payload))) == DecodeResult(frames: [payload]))
    }
}

@Suite("FrameDecoder: stopping early")
struct FrameDecoderStopTests {
    /// Feeds one read and stops once `stopAfter` frames have been handed out.
    static func frames(in read: [UInt8], stopAfter: Int) throws -> (frames: [[UInt8]], decoder: FrameDecoder) {
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        try read.withUnsafeBytes { bytes in
            try decoder.feed(bytes) { payload in
                frames.append(Array(payload))
                return frames.count < stopAfter
            }
        }
        return (frames, decoder)
    }

    @Test func decoder_stopsAfterFirstFrame_whenOnFrameReturnsFalse() throws {
        let read = ["one", "two", "three"].flatMap(encoded)
        let (frames, _) = try Self.frames(in: read, stopAfter: 1)
        #expect(frames == [Array("one".utf8)])
    }

    @Test func decoder_stopsAfterSecondFrame_whenOnFrameReturnsFalse() throws {
        let read = ["one", "two", "three"].flatMap(encoded)
        let (frames, _) = try Self.frames(in: read, stopAfter: 2)
        #expect(frames == [Array("one".utf8), Array("two".utf8)])
    }

    @Test func decoder_stopsAtEmptyFrame_whenOnFrameReturnsFalse() throws {
        let read = ["", "two"].flatMap(encoded)
        let (frames, _) = try Self.frames(in: read, stopAfter: 1)
        #expect(frames == [[]])
    }

    @Test func decoder_doesNotValidateDroppedRest_afterStopping() throws {
        // The rest of the read is dropped unexamined: a malformed tail does not throw.
        let read = encoded("one") + header("garbage")
        let (frames, decoder) = try Self.frames(in: read, stopAfter: 1)
        #expect(frames == [Array("one".utf8)])
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func decoder_stopsAfterAssembledFrame_whenPayloadCameInPieces() throws {
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        let first = encoded("split")
        let stream = first + encoded("next")
        let cut = first.count - 2
        try Array(stream[..<cut]).withUnsafeBytes { bytes in
            try decoder.feed(bytes) { frames.append(Array($0)); return false }
        }
        #expect(frames.isEmpty)
        try Array(stream[cut...]).withUnsafeBytes { bytes in
            try decoder.feed(bytes) { frames.append(Array($0)); return false }
        }
        #expect(frames == [Array("split".utf8)])
    }

    struct Boom: Error, Equatable {}

    @Test func decoder_propagatesErrorThrownByOnFrame() {
        var decoder = FrameDecoder()
        var seen = 0
        let read = ["a", "b"].flatMap(encoded)
        #expect(throws: Boom.self) {
            try read.withUnsafeBytes { bytes in
                try decoder.feed(bytes) { _ in seen += 1; throw Boom() }
            }
        }
        #expect(seen == 1)
    }
}
