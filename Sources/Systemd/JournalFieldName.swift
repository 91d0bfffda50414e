/// Journal field names must match `[A-Z0-9_]+`, not start with `_` or a digit, and be
/// at most 64 bytes; journald silently drops anything else. Metadata keys such as
/// `chat.nick` or `chat-nick` become `CHAT_NICK`.
public enum JournalFieldName {
    public static func sanitize(_ key: String) -> String {
        var bytes: [UInt8] = []
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(byte - 32)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): bytes.append(byte)
            default: bytes.append(UInt8(ascii: "_"))
            }
        }
        while bytes.first == UInt8(ascii: "_") { bytes.removeFirst() }
        if let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            bytes.insert(contentsOf: Array("F_".utf8), at: 0)
        }
        if bytes.isEmpty { return "FIELD" }
        return String(decoding: bytes.prefix(64), as: UTF8.self)
    }
}
