import ChatProtocol

/// Delivers typed lines in order without losing any: paced to the server's flood limit,
/// and sent again, in order, when the server refuses one for flood control or slowmode.
///
/// The server handles one member's frames in order and answers each at once, so the
/// answers to the lines in flight arrive in the order the lines were sent: the first
/// answer that is an echo or a refusal belongs to the oldest line in flight. Chat and
/// `/me` lines come back as their echo. Other commands have no fixed answer, so one is
/// sent only when nothing else is in flight, and counts as delivered unless refused
/// within `commandGrace`. Pure logic over a clock the caller passes in.
public struct Outbox: Sendable {
    public enum Event: Equatable, Sendable {
        case delivered(OutgoingLine)
        /// Refused for flood control or slowmode: queued again, to be sent after a wait.
        case willRetry(OutgoingLine, afterNanoseconds: UInt64)
        /// Never delivered: the server refused it for good, or never answered.
        case failed(OutgoingLine, reason: String)
    }

    struct Flight: Sendable {
        var line: OutgoingLine
        var echo: String?
        var sentAt: UInt64
    }

    public static let defaultLimits = ServerLimits(maximumLineBytes: FrameFormat.defaultMaximumPayloadLength,
                                                   linesPerSecond: 10, burst: 20)
    /// A line refused this many times is given up.
    public static let maximumRefusals = 20

    public private(set) var limits: ServerLimits
    /// True once the server has said its limits: a refusal is then a timing accident,
    /// not a sign that the limits are lower than assumed.
    public private(set) var limitsAnnounced = false
    public var nick: String
    /// Nothing is sent before the server has accepted the join.
    public var joined = false
    public private(set) var queued: [OutgoingLine] = []
    private(set) var inFlight: [Flight] = []
    /// Numbers of queued lines that were in flight when the connection dropped.
    private var maybeDelivered: Set<Int> = []
    private var rate: Double
    private var tokens: Double
    private var tokensAt: UInt64
    private var notBefore: UInt64 = 0
    private var lastRefusalAt: UInt64? = nil
    /// After a refusal, one line at a time: nothing is sent behind a line that may come back.
    private var cautious = false
    private let answerTimeout: UInt64
    private let commandGrace: UInt64

    public init(nick: String, limits: ServerLimits = Outbox.defaultLimits, now: UInt64,
                answerTimeoutSeconds: Double = 10, commandGraceSeconds: Double = 0.25) {
        self.nick = nick
        self.limits = limits
        self.rate = limits.linesPerSecond
        self.tokens = Double(Self.capacity(limits))
        self.tokensAt = now
        self.answerTimeout = UInt64(answerTimeoutSeconds * 1e9)
        self.commandGrace = UInt64(commandGraceSeconds * 1e9)
    }

    /// One token short of the server's burst, so that frames bunched up on the way
    /// (sent apart, arriving together) still fit.
    static func capacity(_ limits: ServerLimits) -> Int { max(limits.burst - 1, 1) }

    public var pendingCount: Int { queued.count + inFlight.count }
    public var isIdle: Bool { queued.isEmpty && inFlight.isEmpty }

    /// Queues a line; returns why not if it can never be sent.
    public mutating func enqueue(_ line: OutgoingLine) -> String? {
        if let problem = tooLong(line) { return problem }
        queued.append(line)
        return nil
    }

    func tooLong(_ line: OutgoingLine) -> String? {
        let bytes = line.text.utf8.count
        guard bytes > limits.maximumLineBytes else { return nil }
        return "\(bytes) bytes is longer than the \(limits.maximumLineBytes) the server accepts"
    }

    /// The lines to send now, in order (moved to in flight).
    public mutating func linesToSend(now: UInt64) -> [OutgoingLine] {
        refill(now: now)
        var lines: [OutgoingLine] = []
        while joined, let next = queued.first, now >= notBefore {
            let isCommand = next.echo(nick: nick) == nil
            if (isCommand || cautious) && !inFlight.isEmpty { break }
            if let last = inFlight.last, last.echo == nil { break }
            if rate > 0 && tokens < 1 { break }
            queued.removeFirst()
            if rate > 0 { tokens -= 1 }
            inFlight.append(Flight(line: next, echo: next.echo(nick: nick), sentAt: now))
            lines.append(next)
        }
        return lines
    }

    /// When `linesToSend` or `expire` next has something to do; nil if nothing waits on time.
    public func nextWake(now: UInt64) -> UInt64? {
        var wake: UInt64? = nil
        func consider(_ time: UInt64) { wake = min(wake ?? time, time) }
        if let head = inFlight.first { consider(head.sentAt + (head.echo == nil ? commandGrace : answerTimeout)) }
        if joined && !queued.isEmpty {
            var ready = notBefore
            if rate > 0 && tokens < 1 { ready = max(ready, tokensAt + UInt64((1 - tokens) / rate * 1e9) + 1) }
            consider(max(ready, now))
        }
        return wake
    }

    /// Lines in flight whose answer is overdue: a command nobody refused is delivered,
    /// a chat line never echoed is reported.
    public mutating func expire(now: UInt64) -> [Event] {
        var events: [Event] = []
        while let head = inFlight.first {
            if head.echo == nil && now >= head.sentAt + commandGrace {
                inFlight.removeFirst()
                events.append(.delivered(head.line))
            } else if head.echo != nil && now >= head.sentAt + answerTimeout {
                inFlight.removeFirst()
                events.append(.failed(head.line, reason: "the server did not relay it within \(answerTimeout / 1_000_000_000) s"))
            } else {
                break
            }
        }
        return events
    }

    /// A frame from the server. `consumed` is true for what only the client needs
    /// (the limits line, flood refusals); everything else is shown.
    public mutating func received(_ frame: String, now: UInt64) -> (consumed: Bool, events: [Event]) {
        if let announced = ServerLimits(parsing: frame) {
            limits = announced
            limitsAnnounced = true
            rate = announced.linesPerSecond
            tokens = min(tokens, Double(Self.capacity(announced)))
            return (true, [])
        }
        if let change = ServerReply.nickChange(frame), change.old == nick {
            nick = change.new
            for index in inFlight.indices { inFlight[index].echo = inFlight[index].line.echo(nick: nick) }
        }
        guard let head = inFlight.first else { return (frame == ServerReply.tooFast, []) }
        if let echo = head.echo, frame == echo {
            inFlight.removeFirst()
            // Delivered: creep back up towards the assumed rate (additive increase,
            // multiplicative decrease, as TCP finds a link's capacity).
            if !limitsAnnounced && rate > 0 { rate = min(rate + 0.1 * rate, limits.linesPerSecond) }
            return (false, [.delivered(head.line)])
        }
        if frame == ServerReply.tooFast {
            // The server's bucket is empty. Unless it said its rate, it is lower than assumed:
            // halve the assumed rate once for each line sent after the previous refusal
            // (the lines already on their way when it came are refused by the same shortage).
            let sentSinceLastRefusal = lastRefusalAt.map { head.sentAt > $0 } ?? true
            if !limitsAnnounced && rate > 0 && sentSinceLastRefusal { rate = max(rate / 2, 0.2) }
            lastRefusalAt = now
            tokens = 0
            tokensAt = now
            return (true, [refused(head, wait: rate > 0 ? UInt64(1e9 / rate) : 100_000_000, now: now)])
        }
        if let seconds = ServerReply.slowmodeWaitSeconds(frame) {
            return (false, [refused(head, wait: UInt64(seconds) * 1_000_000_000, now: now)])
        }
        if frame.hasPrefix(ServerReply.mutedPrefix) {
            inFlight.removeFirst()
            return (false, [.failed(head.line, reason: frame)])
        }
        return (false, [])
    }

    /// Every line not yet delivered, oldest first (when the connection is lost).
    public mutating func abandonAll() -> [OutgoingLine] {
        let lines = inFlight.map(\.line) + queued
        inFlight.removeAll()
        queued.removeAll()
        return lines
    }

    /// Puts back lines that were never answered (a new connection after a refused join).
    public mutating func requeueInFlight() {
        queued.insert(contentsOf: inFlight.map(\.line), at: 0)
        inFlight.removeAll()
    }

    /// The connection dropped: the lines in flight go back to the head of the queue, to be
    /// sent again after the rejoin unless the history replay shows that the server relayed
    /// them (their echo was lost with the connection, not the line). The client's own
    /// lines (number 0) are dropped: it asks again after the rejoin.
    public mutating func connectionLost() {
        let lines = inFlight.map(\.line).filter { $0.number != 0 }
        maybeDelivered.formUnion(lines.map(\.number))
        queued.removeAll { $0.number == 0 }
        queued.insert(contentsOf: lines, at: 0)
        inFlight.removeAll()
        joined = false
    }

    /// A line of the history replay: if it is the echo of a line that was in flight when
    /// the connection dropped, that line was delivered and is not sent again.
    public mutating func replayed(_ text: String) -> OutgoingLine? {
        guard !maybeDelivered.isEmpty,
              let index = queued.firstIndex(where: { maybeDelivered.contains($0.number) && $0.echo(nick: nick) == text })
        else { return nil }
        maybeDelivered.remove(queued[index].number)
        return queued.remove(at: index)
    }

    /// The replay is over: the lines still waiting are sent again.
    public mutating func replayEnded() { maybeDelivered.removeAll() }

    private mutating func refused(_ head: Flight, wait: UInt64, now: UInt64) -> Event {
        inFlight.removeFirst()
        var line = head.line
        line.refusals += 1
        guard line.refusals < Self.maximumRefusals else {
            return .failed(line, reason: "refused \(line.refusals) times by the server's flood control or slowmode")
        }
        cautious = true
        notBefore = max(notBefore, now + wait)
        // Back in its place: before every line queued after it.
        let index = queued.firstIndex { $0.number > line.number } ?? queued.count
        queued.insert(line, at: index)
        return .willRetry(line, afterNanoseconds: wait)
    }

    private mutating func refill(now: UInt64) {
        guard now > tokensAt else { return }
        let capacity = Double(cautious ? 1 : Self.capacity(limits))
        tokens = min(capacity, tokens + Double(now - tokensAt) / 1e9 * rate)
        tokensAt = now
    }
}
