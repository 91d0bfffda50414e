/// Turns the bytes a terminal sends into keys: UTF-8 text (a run of it as one `.text`, so
/// a paste is inserted in one step), control keys, and the escape sequences of arrows,
/// Home/End/Delete and Alt-letter. A sequence or character split across reads is kept
/// until its end arrives.
public struct KeyDecoder: Sendable {
    public enum Key: Equatable, Sendable {
        case text(String)
        case enter, tab, backspace, delete
        case left, right, up, down, home, end
        case wordLeft, wordRight, deleteWordBefore, deleteWordAfter
        /// Ctrl and a letter not listed above (`a` for Ctrl-A).
        case control(Character)
    }

    private var pending: [UInt8] = []

    public init() {}

    public mutating func feed(_ input: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: input)
        var keys: [Key] = []
        var text: [UInt8] = []
        func flushText() {
            if !text.isEmpty { keys.append(.text(String(decoding: text, as: UTF8.self))); text.removeAll() }
        }
        var index = 0
        while index < pending.count {
            let byte = pending[index]
            if byte >= 0x80 {
                let length = Self.sequenceLength(byte)
                if index + length > pending.count { break }  // the rest arrives later
                text.append(contentsOf: pending[index..<index + length])
                index += length
                continue
            }
            if byte >= 0x20 && byte != 0x7F { text.append(byte); index += 1; continue }
            flushText()
            if byte == 0x1B {
                guard let (key, used) = Self.escape(pending[index...]) else { break }
                if let key { keys.append(key) }
                index += used
                continue
            }
            index += 1
            switch byte {
            case 0x0D, 0x0A: keys.append(.enter)
            case 0x09: keys.append(.tab)
            case 0x7F, 0x08: keys.append(.backspace)
            case 0x17: keys.append(.deleteWordBefore)
            default: keys.append(.control(Character(Unicode.Scalar(byte + 0x60))))
            }
        }
        flushText()
        pending.removeFirst(index)
        return keys
    }

    /// Bytes in the UTF-8 sequence `lead` starts; an invalid lead byte counts as one
    /// (decoded to U+FFFD).
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0xC2...0xDF: return 2
        case 0xE0...0xEF: return 3
        case 0xF0...0xF4: return 4
        default: return 1
        }
    }

    /// The key an escape sequence at the start of `bytes` stands for (nil key: an unknown
    /// sequence, skipped) and its length; nil when the sequence is still incomplete.
    static func escape(_ bytes: ArraySlice<UInt8>) -> (Key?, Int)? {
        let start = bytes.startIndex
        guard bytes.count >= 2 else { return nil }
        let second = bytes[start + 1]
        switch second {
        case UInt8(ascii: "["), UInt8(ascii: "O"):
            // CSI/SS3: parameters (digits and ';'), then one final byte.
            var end = start + 2
            while end < bytes.endIndex, (0x30...0x3F).contains(bytes[end]) { end += 1 }
            guard end < bytes.endIndex else { return nil }
            let parameters = String(decoding: bytes[(start + 2)..<end], as: UTF8.self)
            return (csiKey(final: bytes[end], parameters: parameters), end - start + 1)
        case UInt8(ascii: "b"), UInt8(ascii: "B"): return (.wordLeft, 2)
        case UInt8(ascii: "f"), UInt8(ascii: "F"): return (.wordRight, 2)
        case UInt8(ascii: "d"), UInt8(ascii: "D"): return (.deleteWordAfter, 2)
        case 0x7F, 0x08: return (.deleteWordBefore, 2)
        case 0x1B: return (nil, 1)  // Esc pressed, then another sequence
        default: return (nil, 2)
        }
    }

    static func csiKey(final: UInt8, parameters: String) -> Key? {
        // Ctrl- or Alt-arrows (`1;5C`, `1;3D`) move by word.
        let modified = parameters.hasSuffix(";5") || parameters.hasSuffix(";3")
        switch final {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return modified ? .wordRight : .right
        case UInt8(ascii: "D"): return modified ? .wordLeft : .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        case UInt8(ascii: "~"):
            switch parameters {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            default: return nil
            }
        default: return nil
        }
    }
}
