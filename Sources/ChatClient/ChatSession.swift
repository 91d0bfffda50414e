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
/// again and everything typed so far is still queued; when a joined connection drops, the
/// session reconnects by itself (ChatSession+Reconnect.swift).
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
        /// The connection dropped and could not be rejoined within the reconnect timeout.
        case gaveUp
    }

    public struct Options: Sendable {
        public var interactive: Bool
        public var style: LineStyle
        /// In a pipe: how long to wait for the join's answer and each line's echo.
        public var answerTimeoutSeconds: Double
        /// Reconnect when a joined connection drops (needs `ChatSession.dialer`).
        public var reconnect: Bool
        /// Give up reconnecting after this long without a connection; nil: never.
        public var reconnectTimeoutSeconds: Double?

        public init(interactive: Bool, style: LineStyle, answerTimeoutSeconds: Double = 10,
                    reconnect: Bool = true, reconnectTimeoutSeconds: Double? = nil) {
            self.interactive = interactive
            self.style = style
            self.answerTimeoutSeconds = answerTimeoutSeconds
            self.reconnect = reconnect
            self.reconnectTimeoutSeconds = reconnectTimeoutSeconds
        }
    }

    public static let quitCommand = "/quit"

    let options: Options
    var outbox: Outbox
    var editor = LineEditor()
    var nicks = NickBook()
    var screen = TerminalScreen()
    var terminal: TerminalMode? = nil
    var connection: ServerConnection? = nil
    /// How to connect again; nil: the session never reconnects.
    public var dialer: ServerDialer? = nil
    /// While the connection is lost and not yet rejoined.
    var outage: Outage? = nil
    /// After a rejoin's `Connected to the server`: sending waits until the history replay
    /// is over (the answer to `/limits`, or this deadline), so that a line whose echo was
    /// lost is not sent again when the replay shows it arrived.
    var replayHoldUntil: UInt64? = nil
    /// When the current connection was made (for its join deadline).
    var connectedAt: UInt64 = 0
    /// Chat lines shown, so a replay after a reconnect shows only what was missed.
    var seen = SeenLines()
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

    /// Runs until the user leaves or the connection ends for good. `connecting` makes the
    /// connection (nil when it could not while the session is reconnecting); the session
    /// holds the only reference, so a dropped connection's socket is closed at once.
    public func run(connecting: () throws -> ServerConnection?) rethrows -> Outcome {
        connection = try connecting()
        joined = false
        outbox.joined = false
        outbox.requeueInFlight()
        lastFrame = nil
        connectedAt = Self.now()
        if connection == nil {
            if outage == nil { outage = Outage(since: connectedAt, problem: "cannot connect") }
            if let outcome = scheduleAttempt(now: connectedAt) { return outcome }
        }
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
        while true {
            if let outcome = leaveIfDone() { return outcome }
            if let outcome = reconnectIfDue() { return outcome }
            sendDue()
            var fds = [pollfd(fd: connection?.fd ?? -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: inputClosed ? -1 : STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: resize?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
            let before = Self.now()
            var wake = outbox.nextWake(now: before)
            func consider(_ time: UInt64?) { if let time { wake = min(wake ?? time, time) } }
            // A pipe waits for the join's answer for a while; so does every rejoin attempt.
            let awaitsJoin = connection != nil && !joined && (!options.interactive || outage != nil)
            let joinDeadline = connectedAt + UInt64(options.answerTimeoutSeconds * 1e9)
            if awaitsJoin { consider(joinDeadline) }
            consider(replayHoldUntil)
            consider(reconnectWake(now: before))
            let ready = poll(&fds, nfds_t(fds.count), Self.timeout(until: wake))
            if ready < 0 && errno != EINTR { return .closedByServer }
            let now = Self.now()
            if awaitsJoin && !joined && now >= joinDeadline {
                let problem = "the server did not answer the join within \(Int(options.answerTimeoutSeconds)) s"
                if outage == nil {
                    report("chatroom: " + problem)
                    return .joinTimedOut
                }
                self.connection = nil
                if let outcome = rejoinFailed(problem) { return outcome }
                continue
            }
            if let hold = replayHoldUntil, now >= hold { report(endReplay()) }
            handle(outbox.expire(now: now))
            if outage != nil { redraw() }  // the countdown in the prompt
            if ready <= 0 { continue }
            if fds[0].revents != 0, let outcome = readServer() { return outcome }
            if fds[1].revents != 0, let outcome = readInput() { return outcome }
            if fds[2].revents != 0, resize?.drain() == true { redraw() }
        }
    }

    /// Sends every line the outbox allows now.
    func sendDue() {
        guard let connection else { return }
        let before = outbox.queued.count
        for line in outbox.linesToSend(now: Self.now()) {
            guard connection.send(line.text) else { return }
        }
        if outbox.queued.count != before && options.interactive { redraw() }
    }

    /// Leaves once input has ended (or `/quit`) and every queued line is answered.
    private func leaveIfDone() -> Outcome? {
        guard (inputClosed || leaving) && outbox.isIdle else { return nil }
        // Disconnected with nothing left to deliver: nobody to say goodbye to.
        if outage != nil && !joined { return undelivered ? .undelivered : .quit }
        guard joined, let connection else { return nil }
        connection.send(ClientRequest.disconnectText)
        drainUntilClosed()
        return undelivered ? .undelivered : .quit
    }

    /// After `!DC` the server answers what came before it and closes: show those answers.
    private func drainUntilClosed() {
        guard let connection else { return }
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
        var states: [String] = []
        if let state = reconnectState(now: Self.now()) { states.append(state) }
        let waiting = outbox.queued.count
        if waiting > 0 { states.append("\(waiting) queued") }
        return states.isEmpty ? "> " : "[" + states.joined(separator: ", ") + "] > "
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
