import ChatProtocol
import Glibc

/// Reconnecting: when a joined connection drops (a restart, a network change), the session
/// keeps reading input, counts down to the next attempt in the prompt, rejoins under its
/// nick, lets the history replay fill the gap (only lines not shown before, see
/// `SeenLines`), and then sends what was queued, in order, a line whose echo was lost
/// included unless the replay shows it arrived. A kick or a ban ends the session instead
/// (`ServerReply.isDismissal`).
extension ChatSession {
    struct Outage {
        /// When the connection was lost (for the reconnect timeout).
        var since: UInt64
        var backoff = ReconnectBackoff()
        /// The next attempt; nil while one is connected and waiting for the join.
        var nextAttemptAt: UInt64? = nil
        /// Since when rejoins have found the nick taken (its own ghost, perhaps).
        var nickTakenSince: UInt64? = nil
        /// Why the last attempt failed, for the final report.
        var problem: String
    }

    /// How long a rejoin retries a taken nick (the old connection may not be gone yet on
    /// the server's side) before asking for another one, or failing in a pipe.
    static let nickRetryNanoseconds: UInt64 = 60_000_000_000
    /// How long a rejoin waits for the end of the history replay before sending anyway.
    static let replayHoldNanoseconds: UInt64 = 2_000_000_000

    var canReconnect: Bool { options.reconnect && dialer != nil }

    /// True between a lost connection and the end of the rejoin.
    public var isReconnecting: Bool { outage != nil }

    /// A joined connection closed (not a kick or ban): start reconnecting.
    func connectionLost() -> Outcome? {
        let now = Self.now()
        let wasRejoining = outage != nil
        joined = false
        replayHoldUntil = nil
        awaitingLimits = false
        awaitingHiddenWho = false
        outbox.connectionLost()
        if !wasRejoining {
            let why: String
            if let last = lastFrame, last.hasPrefix(ServerReply.restartingPrefix) {
                why = "server restarting"
            } else if lastFrame == ServerReply.shuttingDown {
                why = "server shut down"
            } else {
                why = "disconnected"
            }
            outage = Outage(since: now, problem: why)
            report("chatroom: \(why), reconnecting…")
        }
        return scheduleAttempt(now: now)
    }

    /// A rejoin attempt was refused or closed before joining (`text`: the server's reason).
    func rejoinFailed(_ text: String?) -> Outcome? {
        let now = Self.now()
        connection = nil
        joined = false
        guard var outage else { return nil }
        outage.problem = text ?? "the connection closed before the join was answered"
        if let text, Self.isNickProblem(text) {
            let takenSince = outage.nickTakenSince ?? now
            if text.hasSuffix(ServerReply.nickInUseSuffix) && now - takenSince < Self.nickRetryNanoseconds {
                if outage.nickTakenSince == nil {
                    report("chatroom: the nickname \(outbox.nick) is still taken (by this session's old connection?); trying again for up to \(Self.nickRetryNanoseconds / 1_000_000_000) s")
                }
                outage.nickTakenSince = takenSince
                self.outage = outage
                return scheduleAttempt(now: now)
            }
            // Taken for too long, or no longer acceptable: a person picks another; a pipe stops.
            outage.nickTakenSince = nil
            self.outage = outage
            if !options.interactive {
                for line in outbox.abandonAll() { report("chatroom: not delivered: \(line.label): the nickname was refused") }
            }
            return .joinRefused(text, nickProblem: true)
        }
        self.outage = outage
        let wait = text.flatMap(ServerReply.tooManyJoinsWaitSeconds).map(Double.init) ?? 0
        return scheduleAttempt(now: now, atLeastSeconds: wait)
    }

    /// Plans the next attempt after the backoff, or gives up past the reconnect timeout.
    func scheduleAttempt(now: UInt64, atLeastSeconds: Double = 0) -> Outcome? {
        guard var outage else { return nil }
        if let limit = options.reconnectTimeoutSeconds, Double(now - outage.since) / 1e9 >= limit {
            for line in outbox.abandonAll() { report("chatroom: not delivered: \(line.label): could not reconnect") }
            report("chatroom: could not reconnect within \(Int(limit)) s (\(outage.problem))")
            return .gaveUp
        }
        let delay = max(outage.backoff.nextDelaySeconds(random: Double.random(in: 0..<1)), atLeastSeconds)
        outage.nextAttemptAt = now + UInt64(delay * 1e9)
        self.outage = outage
        redraw()
        return nil
    }

    /// Connects again when the attempt is due.
    func reconnectIfDue() -> Outcome? {
        let now = Self.now()
        guard connection == nil, var outage, let at = outage.nextAttemptAt, now >= at, let dialer else { return nil }
        outage.nextAttemptAt = nil
        self.outage = outage
        redraw()
        do {
            connection = try dialer.dial(nick: outbox.nick)
            connectedAt = Self.now()
            joined = false
            lastFrame = nil
            redraw()
            return nil
        } catch {
            self.outage?.problem = "\(error)"
            return scheduleAttempt(now: Self.now())
        }
    }

    /// The history replay of a rejoin is over: send what waits, and say so.
    func endReplay() -> String {
        replayHoldUntil = nil
        outbox.joined = true
        outbox.replayEnded()
        outage = nil
        redraw()
        return "chatroom: reconnected as \(outbox.nick)"
    }

    /// When the loop must wake for the next attempt or the next second of the countdown.
    func reconnectWake(now: UInt64) -> UInt64? {
        guard connection == nil, let at = outage?.nextAttemptAt else { return nil }
        guard at > now else { return now }
        let second: UInt64 = 1_000_000_000
        let rest = (at - now) % second
        return options.interactive ? now + (rest == 0 ? second : rest) : at
    }

    /// The prompt's state while reconnecting: `reconnecting in 4s`, or `reconnecting…`
    /// while an attempt waits for the server.
    func reconnectState(now: UInt64) -> String? {
        guard let outage else { return nil }
        guard connection == nil, let at = outage.nextAttemptAt else { return "reconnecting…" }
        let seconds = at > now ? (at - now + 999_999_999) / 1_000_000_000 : 0
        return "reconnecting in \(seconds)s"
    }

    static func isNickProblem(_ text: String) -> Bool {
        text.hasSuffix(ServerReply.nickInUseSuffix) || text.hasPrefix(ServerReply.invalidNickPrefix)
            || text.hasPrefix(ServerReply.adminNickReservedPrefix)
    }
}
