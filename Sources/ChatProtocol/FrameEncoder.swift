import Bytes

/// Builds encoded frames: header and payload in one `SharedBytes`, ready to be queued
/// for any number of recipients without further copying.
public enum FrameEncoder {
    /// Allocates one frame with room for `payloadLength` bytes, writes the header, and
    /// lets `fillPayload` write the payload in place (so a broadcast such as
    /// `nick: text` is assembled straight from its parts with a single allocation).
    public static func frame(
        payloadLength: Int,
        _ fillPayload: (UnsafeMutableRawBufferPointer) -> Void
    ) -> SharedBytes {
        precondition(payloadLength >= 0)
        return SharedBytes.make(count: FrameFormat.headerLength + payloadLength) { buffer in
            writeHeader(length: payloadLength, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<FrameFormat.headerLength]))
            fillPayload(UnsafeMutableRawBufferPointer(rebasing: buffer[FrameFormat.headerLength...]))
        }
    }

    public static func frame(_ text: String) -> SharedBytes {
        var text = text
        return text.withUTF8 { utf8 in
            frame(payloadLength: utf8.count) { payload in
                payload.copyMemory(from: UnsafeRawBufferPointer(utf8))
            }
        }
    }

    public static func frame(bytes: some Collection<UInt8>) -> SharedBytes {
        frame(payloadLength: bytes.count) { payload in
            _ = payload.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    /// Writes `length` as ASCII decimal followed by spaces, exactly `headerLength` bytes.
    public static func writeHeader(length: Int, into header: UnsafeMutableRawBufferPointer) {
        precondition(header.count == FrameFormat.headerLength)
        // Count the digits first so they can be written left to right with no temporary.
        var digitCount = 0
        var value = UInt64(length)
        repeat { digitCount += 1; value /= 10 } while value > 0
        value = UInt64(length)
        var index = digitCount - 1
        repeat {
            header[index] = FrameFormat.zero + UInt8(value % 10)
            value /= 10
            index -= 1
        } while value > 0
        for i in digitCount..<FrameFormat.headerLength { header[i] = FrameFormat.space }
    }
}
