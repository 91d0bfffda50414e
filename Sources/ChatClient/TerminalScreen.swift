import Glibc

/// The interactive client's screen: received lines scroll above, the line being typed
/// stays on the bottom row after the prompt. Everything is written with `\r` and
/// erase-line, never absolute positions, so it works wherever the cursor started.
struct TerminalScreen {
    private var output = StandardOutput()

    /// Prints `lines` above the input row, then redraws the input row.
    mutating func show(_ lines: [String], prompt: String, view: InputLineView, bell: Bool = false) {
        output.write("\r\u{1B}[K")
        for line in lines { output.write(line + "\r\n") }
        if bell { output.write("\u{07}") }
        drawInput(prompt: prompt, view: view)
    }

    mutating func drawInput(prompt: String, view: InputLineView) {
        output.write("\r\u{1B}[K" + prompt + view.text)
        let column = DisplayWidth.of(prompt) + view.cursorColumn
        output.write(column > 0 ? "\r\u{1B}[\(column)C" : "\r")
        output.flush()
    }

    mutating func clear(prompt: String, view: InputLineView) {
        output.write("\u{1B}[H\u{1B}[2J")
        drawInput(prompt: prompt, view: view)
    }

    /// Erases the input row (before leaving or suspending).
    mutating func eraseInput() {
        output.write("\r\u{1B}[K")
        output.flush()
    }

    static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}

/// Buffered writes to stdout with `write(2)`, flushed explicitly once per batch.
struct StandardOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ text: String) { buffer.append(contentsOf: text.utf8) }

    mutating func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Glibc.write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue } else { break } }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
