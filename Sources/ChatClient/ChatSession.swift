import ChatProtocol
import Glibc
import Terminal

/// The client's main loop: one `poll` over standard input and the server socket.
///
/// On a terminal, input is read a key at a time and the line being typed is redrawn
/// below every incoming message, so arriving chat never garbles what is being typed.
/// From a pipe, each input line is sent as a frame; at end of input the client waits
/// until its last message has come back from the server, then leaves with `!DC`.
public final class ChatSession {
    public enum Outcome: Equatable {
        /// The user quit (`/quit`, Ctrl-D, end of piped input): exit 0.
        case quit
        /// The server closed the connection: exit non-zero.
        case closedByServer
        /// The pipe's last message never came back in time.
        case echoTimedOut
    }

    public static let quitCommand = "/quit"
    static let prompt = "> "

    private let connection: ServerConnection
    private let nick: String
    private let interactive: Bool
    private let echoTimeoutMilliseconds: Int32
    private var editor = LineEditor()
    private var pendingLine: [UInt8] = []
    private var inputClosed = false
    /// Piped input may end before the server has answered the join; wait for that answer
    /// so a refused join is reported (and exits non-zero) rather than passing silently.
    private var awaitingJoin = true
    /// In pipe mode: the broadcast that proves our last message went through.
    private var awaitedEcho: String? = nil
    private var output = StandardOutput()

    public init(connection: ServerConnection, nick: String, interactive: Bool, echoTimeoutSeconds: Double = 10) {
        self.connection = connection
        self.nick = nick
        self.interactive = interactive
        self.echoTimeoutMilliseconds = Int32(echoTimeoutSeconds * 1000)
    }

    public func run() -> Outcome {
        var terminal: TerminalMode? = nil
        if interactive {
            terminal = TerminalMode.rawInput()
            drawInputLine()
        }
        defer {
            if interactive { output.write("\r\u{1B}[K") ; output.flush() }
            terminal?.restore()
        }
        var fds = [pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)]
        while true {
            if inputClosed && !awaitingJoin && awaitedEcho == nil {
                connection.send(ClientRequest.disconnectText)
                return .quit
            }
            let watchInput = !inputClosed
            let count = watchInput ? 2 : 1
            let timeout: Int32 = inputClosed ? echoTimeoutMilliseconds : -1
            let ready = poll(&fds, nfds_t(count), timeout)
            if ready < 0 { if errno == EINTR { continue } else { return .closedByServer } }
            if ready == 0 {
                report(awaitingJoin ? "chatroom: the server did not answer the join within \(echoTimeoutMilliseconds / 1000) s" : "chatroom: the server did not echo the last message within \(echoTimeoutMilliseconds / 1000) s")
                connection.send(ClientRequest.disconnectText)
                return .echoTimedOut
            }
            if fds[0].revents != 0 {
                switch connection.readFrames() {
                case let .frames(frames):
                    show(frames)
                case let .closed(frames):
                    show(frames)
                    return .closedByServer
                case let .protocolError(description):
                    report("chatroom: \(description)")
                    return .closedByServer
                }
            }
            if watchInput && fds[1].revents != 0 {
                if let outcome = readInput() { return outcome }
            }
        }
    }

    // MARK: Input

    private func readInput() -> Outcome? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if n < 0 { return errno == EINTR || errno == EAGAIN ? nil : endOfInput() }
        if n == 0 { return endOfInput() }
        for byte in buffer[..<n] {
            if interactive {
                switch editor.feed(byte) {
                case .redraw?: drawInputLine()
                case let .submit(line)?:
                    if let outcome = submit(line) { return outcome }
                    drawInputLine()
                case .quit?: return quit()
                case nil: break
                }
            } else if byte == UInt8(ascii: "\n") {
                if pendingLine.last == UInt8(ascii: "\r") { pendingLine.removeLast() }
                let line = String(decoding: pendingLine, as: UTF8.self)
                pendingLine.removeAll()
                if let outcome = submit(line) { return outcome }
                if inputClosed { return nil }
            } else {
                pendingLine.append(byte)
            }
        }
        return nil
    }

    private func endOfInput() -> Outcome? {
        if !pendingLine.isEmpty {
            let line = String(decoding: pendingLine, as: UTF8.self)
            pendingLine.removeAll()
            if let outcome = submit(line) { return outcome }
        }
        if interactive { return quit() }
        inputClosed = true
        return nil
    }

    private func submit(_ line: String) -> Outcome? {
        if line == Self.quitCommand {
            guard interactive else {
                // In a script, /quit ends the input: what was sent still gets its answer.
                inputClosed = true
                return nil
            }
            return quit()
        }
        guard !line.isEmpty else { return nil }
        guard connection.send(line) else { return .closedByServer }
        if !interactive && !line.hasPrefix("/") && line != ClientRequest.disconnectText {
            awaitedEcho = "\(nick): \(line)"
        }
        return nil
    }

    private func quit() -> Outcome {
        connection.send(ClientRequest.disconnectText)
        return .quit
    }

    // MARK: Output

    private func show(_ frames: [String]) {
        guard !frames.isEmpty else { return }
        if interactive { output.write("\r\u{1B}[K") }
        for frame in frames {
            if frame == awaitedEcho { awaitedEcho = nil }
            if frame == ServerReply.connected { awaitingJoin = false }
            output.write(TextSanitizer.printable(frame))
            output.write(interactive ? "\r\n" : "\n")
        }
        if interactive { drawInputLine() } else { output.flush() }
    }

    /// Redraws the prompt and as much of the typed line's end as fits on one row, so the
    /// row never wraps and `\r` + erase-line always clears it completely.
    private func drawInputLine() {
        let width = max(Self.terminalColumns() - Self.prompt.count - 1, 8)
        var visible = editor.text
        let scalars = visible.unicodeScalars
        if scalars.count > width {
            visible = String(String.UnicodeScalarView(scalars.suffix(width)))
        }
        output.write("\r\u{1B}[K" + Self.prompt + TextSanitizer.printable(visible))
        output.flush()
    }

    private func report(_ text: String) {
        if interactive { output.write("\r\u{1B}[K"); output.flush() }
        writeStandardError(text + "\n")
    }

    private static func terminalColumns() -> Int {
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
