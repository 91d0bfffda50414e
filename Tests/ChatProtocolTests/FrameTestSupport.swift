import Bytes
import ChatProtocol
import Testing

/// A 64-byte header holding `text` left-aligned and padded with spaces, for
/// hand-made (often deliberately malformed) frames.
func header(_ text: String) -> [UInt8] {
    let bytes = Array(text.utf8)
    precondition(bytes.count <= FrameFormat.headerLength)
    return bytes + Array(repeating: UInt8(ascii: " "), count: FrameFormat.headerLength - bytes.count)
}

/// A complete frame as the encoder builds it.
func encoded(_ payload: [UInt8]) -> [UInt8] {
    FrameEncoder.frame(bytes: payload).array
}

func encoded(_ text: String) -> [UInt8] {
    FrameEncoder.frame(text).array
}

/// What a decoder made of a sequence of reads: the frames it handed out, in order, and
/// the failure it threw, if any.
struct DecodeResult: Equatable, CustomStringConvertible {
    var frames: [[UInt8]] = []
    var failure: FrameDecoder.Failure? = nil
    var bufferedByteCount = 0

    var description: String {
        "\(frames.count) frames \(frames.map(\.count)), failure: \(failure.map { "\($0)" } ?? "none"), buffered: \(bufferedByteCount)"
    }
}

/// Feeds `reads` one after another to a fresh decoder and collects everything it does.
func decode(
    _ reads: [[UInt8]],
    maximumPayloadLength: Int = FrameFormat.defaultMaximumPayloadLength
) -> DecodeResult {
    var decoder = FrameDecoder(maximumPayloadLength: maximumPayloadLength)
    var result = DecodeResult()
    do {
        for read in reads {
            try read.withUnsafeBytes { bytes in
                try decoder.feed(bytes) { payload in
                    result.frames.append(Array(payload))
                    return true
                }
            }
        }
    } catch let failure as FrameDecoder.Failure {
        result.failure = failure
    } catch {
        Issue.record("unexpected error type: \(error)")
    }
    result.bufferedByteCount = decoder.bufferedByteCount
    return result
}

/// The ways of cutting one byte stream into reads that every test of the decoder uses.
func byteByByte(_ stream: [UInt8]) -> [[UInt8]] {
    stream.map { [$0] }
}

func split(_ stream: [UInt8], at position: Int) -> [[UInt8]] {
    [Array(stream[..<position]), Array(stream[position...])]
}
