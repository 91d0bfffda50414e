import Glibc

/// Switches a terminal into a mode and restores the original on `restore()`.
/// Used for reading a password without echo, and for the client's line editor.
public final class TerminalMode {
    private let fd: Int32
    private var original = termios()
    private var active = false

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    private init(fd: Int32) { self.fd = fd }

    /// Echo off, line editing kept: for secrets typed at a prompt.
    public static func noEcho(fd: Int32 = STDIN_FILENO) -> TerminalMode? {
        change(fd) { $0.c_lflag &= ~tcflag_t(ECHO) }
    }

    /// Byte-at-a-time input without echo, line editing or signal keys: the client draws
    /// the line being typed itself and treats Ctrl-C as a clean quit, so the terminal is
    /// always restored.
    public static func rawInput(fd: Int32 = STDIN_FILENO) -> TerminalMode? {
        change(fd) { settings in
            settings.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
            settings.c_iflag &= ~tcflag_t(IXON | ICRNL)
            withUnsafeMutableBytes(of: &settings.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
        }
    }

    private static func change(_ fd: Int32, _ edit: (inout termios) -> Void) -> TerminalMode? {
        let mode = TerminalMode(fd: fd)
        guard tcgetattr(fd, &mode.original) == 0 else { return nil }
        var settings = mode.original
        edit(&settings)
        guard tcsetattr(fd, TCSAFLUSH, &settings) == 0 else { return nil }
        mode.active = true
        return mode
    }

    public func restore() {
        guard active else { return }
        tcsetattr(fd, TCSAFLUSH, &original)
        active = false
    }

    deinit { restore() }
}

/// Reads a secret: from the terminal without echo after a prompt on stderr, or as the
/// first line of a pipe. Returns nil at end of input. Reads byte by byte from the
/// descriptor so that nothing after the line is swallowed into a stdio buffer.
public func readSecret(prompt: String, fd: Int32 = STDIN_FILENO) -> String? {
    guard TerminalMode.isTerminal(fd) else { return readLineUnbuffered(fd: fd) }
    writeStandardError(prompt)
    let mode = TerminalMode.noEcho(fd: fd)
    defer {
        mode?.restore()
        writeStandardError("\n")
    }
    return readLineUnbuffered(fd: fd)
}

/// One line from `fd`, without the newline (a trailing CR is dropped too); nil at end
/// of input before any byte.
public func readLineUnbuffered(fd: Int32 = STDIN_FILENO) -> String? {
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while true {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
        if byte == UInt8(ascii: "\n") { break }
        bytes.append(byte)
    }
    if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
    return String(decoding: bytes, as: UTF8.self)
}

public func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 { if errno == EINTR { continue } else { return } }
            offset += n
        }
    }
}
