import CLinux
import ChatProtocol
import Glibc
import Terminal

/// The client's main loop: one `poll` over standard input, the server socket and (on a
/// terminal) window resizes, waking also when the outbox may send or a line is overdue.
///
/// On a terminal, input is edited a key at a time and the line being typed is redrawn
/// below every incoming message. From a pipe, each input line is queued; at end of input
/// (or `/quit`, `!DC`) the client waits until every line is delivered, then leaves.
/// The session outlives one connection: after a refused nickname the caller connects
/// again and everything typed so far is still queued.
public final class ChatSession {
    public enum Outcome: Equatable {
        /// The user left (`/quit`, `!DC`, Ctrl-D, Ctrl-C, end of piped input): exit 0.
        case quit
        /// Left, but some piped lines could not be delivered (each named on stderr).
        case undelivered
        /// The server closed the connection.
        case closedByServer
        /// The server refused the join with this text; `nickProblem` when another
        /// nickname could succeed.
        case joinRefused(String, nickProblem: Bool)
        /// In a pipe, the server did not answer the join in time.
        case joinTimedOut
    }

    public struct Options: Sendable {
        public var interactive: Bool
        public var style: LineStyle
        /// In a pipe: how long to wait for the join's answer and each line's echo.
        public var answerTimeoutSeconds: Double

        public init(interactive: Bool, style: LineStyle, answerTimeoutSeconds: Double = 10) {
            self.interactive = interactive
            self.style = style
            self.answerTimeoutSeconds = answerTimeoutSeconds
        }
    }

    public static let quitCommand = "/quit"

    let options: Options
    var outbox: Outbox
    var editor = LineEditor()
    var nicks = NickBook()
    var screen = TerminalScreen()
    var terminal: TerminalMode? = nil
    var connection: ServerConnection! = nil
    var pipeLine: [UInt8] = []
    var lineNumber = 0
    var inputClosed = false
    var leaving = false
    var joined = false
    var lastFrame: String? = nil
    var undelivered = false
    /// A line that looks like a slash-less command, shown once; Enter again sends it.
    var confirming: String? = nil
    /// The answer to the /who sent after joining, to be learned from and not shown.
    var awaitingHiddenWho = false
    /// `/limits` was sent after joining and its answer has not come yet.
    var awaitingLimits = false

    public init(nick: String, options: Options) {
        self.options = options
        self.outbox = Outbox(nick: nick, now: Self.now(), answerTimeoutSeconds: options.answerTimeoutSeconds)
    }

    public var nick: String { outbox.nick }

    /// A new nickname after a refused join, for the next `run`.
    public func rename(_ nick: String) { outbox.nick = nick }

    public func run(connection: ServerConnection) -> Outcome {
        self.connection = connection
        joined = false
        outbox.joined = false
        outbox.requeueInFlight()
        lastFrame = nil
        let resize = options.interactive ? ResizeSignal() : nil
        if options.interactive {
            terminal = TerminalMode.rawInput()
            redraw()
        }
        defer {
            if options.interactive { screen.eraseInput() }
            terminal?.restore()
            terminal = nil
        }
        let startedAt = Self.now()
        while true {
            if let outcome = leaveIfDone() { return outcome }
            sendDue()
            var fds = [pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inputClosed ? -1 : STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: resize?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
            var wake = outbox.nextWake(now: Self.now())
            let joinDeadline = startedAt + UInt64(options.answerTimeoutSeconds * 1e9)
            if !options.interactive && !joined { wake = min(wake ?? joinDeadline, joinDeadline) }
            let ready = poll(&fds, nfds_t(fds.count), Self.timeout(until: wake))
            if ready < 0 && errno != EINTR { return .closedByServer }
            let now = Self.now()
            if !options.interactive && !joined && now >= joinDeadline {
                report("chatroom: the server did not answer the join within \(Int(options.answerTimeoutSeconds)) s")
                return .joinTimedOut
            }
            handle(outbox.expire(now: now))
            if ready <= 0 { continue }
            if fds[0].revents != 0, let outcome = readServer() { return outcome }
            if fds[1].revents != 0, let outcome = readInput() { return outcome }
            if fds[2].revents != 0, resize?.drain() == true { redraw() }
        }
    }

    // MARK: Server

    private func readServer() -> Outcome? {
        switch connection.readFrames() {
        case let .frames(frames):
            received(frames)
            return nil
        case let .closed(frames):
            received(frames)
            return closed()
        case let .protocolError(description):
            report("chatroom: \(description)")
            return closed()
        }
    }

    private func received(_ frames: [String]) {
        guard !frames.isEmpty else { return }
        var shown: [String] = []
        var bell = false
        let now = Self.now()
        for frame in frames {
            lastFrame = frame
            if !joined && frame == ServerReply.connected {
                joined = true
                outbox.joined = true
                // Ask for the limits to pace by; the answer is consumed by the outbox.
                if connection.send(ServerLimits.request) { awaitingLimits = true }
            }
            // A server without /limits (the seed's) relays it as chat: hide that once.
            if awaitingLimits && (ServerLimits(parsing: frame) != nil || frame == ServerReply.chatLine(outbox.nick, ServerLimits.request)) {
                awaitingLimits = false
                if ServerLimits(parsing: frame) == nil { continue }
            }
            var (consumed, events) = outbox.received(frame, now: now)
            nicks.learn(from: frame)
            if consumed && ServerLimits(parsing: frame) != nil && options.interactive {
                // Only chatroomd answers /limits, and it knows /who: ask who is here, for
                // Tab, without showing the answer. (Sent to a seed server it would be chat.)
                if outbox.enqueue(OutgoingLine(number: 0, text: "/who")) == nil { awaitingHiddenWho = true }
            } else if awaitingHiddenWho && ServerReply.whoMembers(frame) != nil {
                awaitingHiddenWho = false
                consumed = true
            }
            if !consumed {
                let rendered = options.style.render(frame, me: outbox.nick, clock: LineStyle.clock())
                shown.append(rendered.text)
                bell = bell || !options.style.bellText(for: rendered).isEmpty
            }
            shown += messages(for: events)
        }
        show(shown, bell: bell)
    }

    private func closed() -> Outcome {
        if !joined {
            let text = lastFrame ?? "the connection closed before the join was answered"
            let nickProblem = text.hasSuffix(ServerReply.nickInUseSuffix) || text.hasPrefix(ServerReply.invalidNickPrefix)
                || text.hasPrefix(ServerReply.adminNickReservedPrefix)
            // On a terminal the user picks another nickname and what they typed stays queued.
            if !(nickProblem && options.interactive) { _ = outbox.abandonAll() }
            return .joinRefused(text, nickProblem: nickProblem)
        }
        for line in outbox.abandonAll() { report("chatroom: not delivered: \(line.label): the connection closed") }
        return .closedByServer
    }

    /// Sends every line the outbox allows now.
    func sendDue() {
        let before = outbox.queued.count
        for line in outbox.linesToSend(now: Self.now()) {
            guard connection.send(line.text) else { return }
        }
        if outbox.queued.count != before && options.interactive { redraw() }
    }

    /// Leaves once input has ended (or `/quit`) and every queued line is answered.
    private func leaveIfDone() -> Outcome? {
        guard (inputClosed || leaving) && joined && outbox.isIdle else { return nil }
        connection.send(ClientRequest.disconnectText)
        drainUntilClosed()
        return undelivered ? .undelivered : .quit
    }

    /// After `!DC` the server answers what came before it and closes: show those answers.
    private func drainUntilClosed() {
        let deadline = Self.now() + 2_000_000_000
        while Self.now() < deadline {
            var fd = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&fd, 1, Self.timeout(until: deadline)) > 0 else { continue }
            switch connection.readFrames() {
            case let .frames(frames): received(frames)
            case let .closed(frames): received(frames); return
            case .protocolError: return
            }
        }
    }

    // MARK: Output

    func messages(for events: [Outbox.Event]) -> [String] {
        events.compactMap { event in
            guard case let .failed(line, reason) = event else { return nil }
            undelivered = true
            let text = "chatroom: not delivered: \(line.label): \(reason)"
            if options.interactive { return text }
            writeStandardError(text + "\n")
            return nil
        }
    }

    func handle(_ events: [Outbox.Event]) { show(messages(for: events)) }

    func show(_ lines: [String], bell: Bool = false) {
        if options.interactive {
            guard !lines.isEmpty || bell else { return }
            screen.show(lines, prompt: prompt, view: inputView, bell: bell)
        } else {
            var output = StandardOutput()
            for line in lines { output.write(line + "\n") }
            output.flush()
        }
    }

    /// A note from the client itself: above the input line on a terminal, on stderr otherwise.
    func report(_ text: String) {
        if options.interactive { show([text]) } else { writeStandardError(text + "\n") }
    }

    var prompt: String {
        let waiting = outbox.queued.count
        return waiting > 0 ? "[\(waiting) queued] > " : "> "
    }

    var inputView: InputLineView {
        InputLineView(characters: editor.characters, cursor: editor.cursor,
                      width: TerminalScreen.columns() - DisplayWidth.of(prompt) - 1)
    }

    func redraw() {
        guard options.interactive else { return }
        screen.drawInput(prompt: prompt, view: inputView)
    }

    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    static func timeout(until wake: UInt64?) -> Int32 {
        guard let wake else { return -1 }
        let now = now()
        guard wake > now else { return 0 }
        return Int32(min((wake - now + 999_999) / 1_000_000, 60_000))
    }
}
