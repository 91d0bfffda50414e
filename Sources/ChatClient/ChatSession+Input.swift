import ChatProtocol
import Glibc
import Terminal

extension ChatSession {
    /// Reads what standard input has: keys on a terminal, lines from a pipe.
    func readInput() -> Outcome? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return nil }
        if n <= 0 { return endOfInput() }
        if options.interactive { return keys(buffer[..<n]) }
        for byte in buffer[..<n] {
            guard byte == UInt8(ascii: "\n") else { pipeLine.append(byte); continue }
            if pipeLine.last == UInt8(ascii: "\r") { pipeLine.removeLast() }
            let line = String(decoding: pipeLine, as: UTF8.self)
            pipeLine.removeAll()
            submitPiped(line)
            if inputClosed { return nil }
        }
        return nil
    }

    private func endOfInput() -> Outcome? {
        if options.interactive { return quitNow() }
        if !pipeLine.isEmpty {
            submitPiped(String(decoding: pipeLine, as: UTF8.self))
            pipeLine.removeAll()
        }
        inputClosed = true
        return nil
    }

    /// In a pipe, `/quit` and `!DC` end the input like end-of-file: what came before
    /// is still delivered. Empty lines are skipped; everything else is sent as written.
    private func submitPiped(_ line: String) {
        lineNumber += 1
        if line == Self.quitCommand || line == ClientRequest.disconnectText {
            inputClosed = true
            return
        }
        guard !line.isEmpty else { return }
        enqueue(line)
    }

    private func enqueue(_ line: String) {
        let outgoing = OutgoingLine(number: lineNumber, text: line)
        if let problem = outbox.enqueue(outgoing) {
            undelivered = true
            report("chatroom: not sent: \(outgoing.label): \(problem)")
        }
        sendDue()
    }

    // MARK: Terminal

    private func keys(_ bytes: ArraySlice<UInt8>) -> Outcome? {
        var dirty = false
        for action in editor.feed(bytes) {
            switch action {
            case .redraw:
                dirty = true
            case let .submit(line):
                if let outcome = submitTyped(line) { return outcome }
                dirty = true
            case .quit:
                return quitNow()
            case .complete:
                complete()
                dirty = true
            case .clearScreen:
                screen.clear(prompt: prompt, view: inputView)
                dirty = false
            case .suspend:
                suspend()
                dirty = true
            }
        }
        if dirty { redraw() }
        return nil
    }

    private func submitTyped(_ line: String) -> Outcome? {
        if line == Self.quitCommand || line == ClientRequest.disconnectText {
            guard outbox.isIdle else {
                leaving = true
                inputClosed = true
                report("chatroom: leaving once the \(outbox.pendingCount) queued lines are delivered (Ctrl-C leaves now)")
                return nil
            }
            connection?.send(ClientRequest.disconnectText)
            return .quit
        }
        guard !line.isEmpty else { return nil }
        if let command = CommandLookalike.command(in: line), confirming != line {
            confirming = line
            editor.replace(with: line)
            report("chatroom: this looks like /\(command) without its slash. Press Enter again to send it as a message, or edit it.")
            return nil
        }
        confirming = nil
        lineNumber += 1
        enqueue(line)
        return nil
    }

    /// Ctrl-C, Ctrl-D on an empty line, or end of input on a terminal: leave at once.
    private func quitNow() -> Outcome {
        let lost = outbox.abandonAll()
        if !lost.isEmpty { report("chatroom: \(lost.count) queued line\(lost.count == 1 ? " was" : "s were") not sent") }
        connection?.send(ClientRequest.disconnectText)
        return .quit
    }

    private func complete() {
        let (word, atLineStart) = editor.wordBeforeCursor
        switch Completion.complete(word, atLineStart: atLineStart, nicks: nicks) {
        case let .replace(text):
            editor.replaceWordBeforeCursor(length: word.count, with: text)
        case let .candidates(names):
            show([names.joined(separator: "  ")])
        case .none:
            break
        }
    }

    /// Ctrl-Z: give the terminal back in its original mode, stop, and take it again when
    /// the shell continues the client (`fg`).
    private func suspend() {
        screen.eraseInput()
        terminal?.restore()
        kill(getpid(), SIGTSTP)
        terminal = TerminalMode.rawInput()
    }
}
