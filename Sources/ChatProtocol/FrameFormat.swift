/// The wire format of the original chat room, kept byte for byte.
///
/// Every frame, in both directions, is a 64-byte header holding the payload length in
/// bytes as ASCII decimal, right-padded with spaces, followed by that many payload bytes
/// of UTF-8. `"NICK:alice"` travels as `"10"` + 62 spaces + `"NICK:alice"`.
public enum FrameFormat {
    public static let headerLength = 64
    /// The largest payload accepted by default; a header claiming more is refused before
    /// any payload is read.
    public static let defaultMaximumPayloadLength = 64 * 1024

    static let space = UInt8(ascii: " ")
    static let zero = UInt8(ascii: "0")
}
