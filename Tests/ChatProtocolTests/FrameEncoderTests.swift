import Bytes
import ChatProtocol
import Testing

@Suite("FrameEncoder")
struct FrameEncoderTests {
    static let space = UInt8(ascii: " ")

    @Test func frameFormat_constantsMatchTheOriginalServer() {
        #expect(FrameFormat.headerLength == 64)
        #expect(FrameFormat.defaultMaximumPayloadLength == 65536)
    }

    @Test func encoder_writesTwoDigitsAndSixtyTwoSpaces_forNickAlice() {
        let frame = FrameEncoder.frame("NICK:alice").array
        let expected = Array("10".utf8) + Array(repeating: Self.space, count: 62) + Array("NICK:alice".utf8)
        #expect(frame == expected)
        #expect(frame.count == 74)
    }

    @Test func encoder_writesZeroAndSpaces_forEmptyPayload() {
        let frame = FrameEncoder.frame("").array
        #expect(frame == Array("0".utf8) + Array(repeating: Self.space, count: 63))
    }

    @Test func encoder_countsBytesNotCharacters_forMultiByteText() {
        let text = "héllo 🌍"  // 6 + 1 + 4 bytes: é and 🌍 take 2 and 4
        let frame = FrameEncoder.frame(text).array
        #expect(text.utf8.count == 11)
        #expect(frame.count == 64 + 11)
        #expect(Array(frame[..<2]) == Array("11".utf8))
        #expect(Array(frame[64...]) == Array(text.utf8))
    }

    @Test(arguments: [0, 1, 9, 10, 99, 100, 999, 1000, 65535, 65536, 1_000_000, Int(Int32.max), Int.max])
    func encoder_writesHeaderOfExactlySixtyFourBytes(length: Int) {
        var header = [UInt8](repeating: 0, count: FrameFormat.headerLength)
        header.withUnsafeMutableBytes { FrameEncoder.writeHeader(length: length, into: $0) }
        let digits = Array(String(length).utf8)
        #expect(header.count == 64)
        #expect(Array(header[..<digits.count]) == digits)
        #expect(header[digits.count...].allSatisfy { $0 == Self.space })
    }

    @Test func encoder_fillsPayloadInPlace_withPayloadLengthClosure() {
        let frame = FrameEncoder.frame(payloadLength: 5) { payload in
            #expect(payload.count == 5)
            for i in 0..<5 { payload[i] = UInt8(ascii: "a") + UInt8(i) }
        }
        #expect(frame.count == 69)
        #expect(frame.array == header("5") + Array("abcde".utf8))
    }

    @Test func encoder_buildsSameBytes_fromStringAndFromBytes() {
        for text in ["", "x", "NICK:bob", "日本語 ✓", String(repeating: "z", count: 1000)] {
            #expect(FrameEncoder.frame(text).array == FrameEncoder.frame(bytes: Array(text.utf8)).array)
            #expect(FrameEncoder.frame(text).array == FrameEncoder.frame(bytes: text.utf8).array)
        }
    }

    @Test func encoderOutput_roundTripsThroughDecoder() {
        let texts = ["NICK:alice", "", "hello, world", "ünïcödé ✓ 𝄞", "admin:s3cret", "!DC", "/kick bob",
                     String(repeating: "é", count: FrameFormat.defaultMaximumPayloadLength / 2)]
        let stream = texts.flatMap { FrameEncoder.frame($0).array }
        let result = decode([stream])
        #expect(result.failure == nil)
        #expect(result.frames.map { String(decoding: $0, as: UTF8.self) } == texts)
        #expect(decode(byteByByte(stream)).frames.map { String(decoding: $0, as: UTF8.self) } == texts)
    }

    @Test func sharedBytes_exposeCountAndStableContents() {
        let bytes = SharedBytes.copying([1, 2, 3] as [UInt8])
        #expect(bytes.count == 3)
        #expect(bytes.array == [1, 2, 3])
        #expect(bytes.withUnsafeBytes { Array($0) } == [1, 2, 3])
        #expect(bytes.baseAddress == bytes.baseAddress)
    }
}
