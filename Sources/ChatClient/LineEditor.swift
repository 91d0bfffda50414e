/// The line being typed in the interactive client: keystrokes in, edits and actions out.
/// Pure logic, so it is tested without a terminal.
public struct LineEditor: Sendable {
    public enum Action: Equatable, Sendable {
        /// The visible line changed and should be redrawn.
        case redraw
        /// Enter: the finished line.
        case submit(String)
        /// Ctrl-D on an empty line, or Ctrl-C.
        case quit
    }

    public private(set) var bytes: [UInt8] = []
    private var escape: EscapeState = .none

    private enum EscapeState: Sendable { case none, escape, csi }

    public init() {}

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Feeds one input byte; returns what the caller should do, if anything.
    public mutating func feed(_ byte: UInt8) -> Action? {
        // Arrow keys and other escape sequences: swallowed, since the editor appends only.
        switch escape {
        case .escape:
            // A second ESC (the Esc key, then an arrow) starts the sequence afresh.
            if byte == 0x1B { return nil }
            escape = byte == UInt8(ascii: "[") || byte == UInt8(ascii: "O") ? .csi : .none
            return nil
        case .csi:
            if byte >= 0x40 && byte <= 0x7E { escape = .none }
            return nil
        case .none:
            break
        }
        switch byte {
        case 0x1B:
            escape = .escape
            return nil
        case 0x0D, 0x0A:
            let line = text
            bytes.removeAll()
            return .submit(line)
        case 0x03:
            return .quit
        case 0x04:
            return bytes.isEmpty ? .quit : nil
        case 0x7F, 0x08:
            guard !bytes.isEmpty else { return nil }
            // Remove a whole UTF-8 character: continuation bytes, then its lead byte.
            while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
            if !bytes.isEmpty { bytes.removeLast() }
            return .redraw
        case 0x15:  // Ctrl-U
            bytes.removeAll()
            return .redraw
        case 0x17:  // Ctrl-W: the word before the cursor, and the spaces after it
            while bytes.last == UInt8(ascii: " ") { bytes.removeLast() }
            while let last = bytes.last, last != UInt8(ascii: " ") { bytes.removeLast() }
            return .redraw
        case 0x09:
            bytes.append(UInt8(ascii: " "))
            return .redraw
        case 0x00..<0x20:
            return nil
        default:
            bytes.append(byte)
            return .redraw
        }
    }
}
