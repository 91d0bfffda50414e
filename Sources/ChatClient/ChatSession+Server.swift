import ChatProtocol
import Glibc

/// What the server sends: frames shown (rendered, or skipped when a history replay
/// repeats them), consumed by the outbox or the client's own requests, and the end of a
/// connection, which either ends the session or starts a reconnect.
extension ChatSession {
    func readServer() -> Outcome? {
        guard let connection else { return nil }
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

    func received(_ frames: [String]) {
        guard !frames.isEmpty else { return }
        var shown: [String] = []
        var bell = false
        let now = Self.now()
        for frame in frames {
            lastFrame = frame
            if !joined && frame == ServerReply.connected {
                joined = true
                seen.beginReplay()
                if outage == nil {
                    outbox.joined = true
                } else {
                    replayHoldUntil = now + Self.replayHoldNanoseconds
                }
                // Ask for the limits to pace by; the answer is consumed by the outbox.
                if connection?.send(ServerLimits.request) == true { awaitingLimits = true }
            }
            // A server without /limits (the seed's) relays it as chat: hide that once.
            if awaitingLimits && (ServerLimits(parsing: frame) != nil || frame == ServerReply.chatLine(outbox.nick, ServerLimits.request)) {
                awaitingLimits = false
                if replayHoldUntil != nil {
                    // Everything the join sent (the replay included) came before this answer.
                    show(shown, bell: bell)
                    (shown, bell) = ([], false)
                    report(endReplay())
                }
                if ServerLimits(parsing: frame) == nil { continue }
            }
            var replayEvents: [Outbox.Event] = []
            if let isRepeat = seen.isRepeat(historyFrame: frame) {
                if isRepeat { continue }
                if let (_, text) = SeenLines.parseHistory(frame), let line = outbox.replayed(text) {
                    replayEvents.append(.delivered(line))
                }
            } else if NickBook.speaker(of: frame) != nil {
                seen.saw(frame, unixSeconds: Int64(time(nil)))
            }
            var (consumed, events) = outbox.received(frame, now: now)
            events += replayEvents
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

    func closed() -> Outcome? {
        connection = nil
        let dismissed = lastFrame.map(ServerReply.isDismissal) ?? false
        if canReconnect && !dismissed && (joined || outage != nil) {
            return joined ? connectionLost() : rejoinFailed(lastFrame)
        }
        if !joined {
            let text = lastFrame ?? "the connection closed before the join was answered"
            let nickProblem = Self.isNickProblem(text)
            // On a terminal the user picks another nickname and what they typed stays queued.
            if !(nickProblem && options.interactive) {
                let lost = outbox.abandonAll()
                // Lines typed before a drop were promised delivery: name them.
                if outage != nil { for line in lost { report("chatroom: not delivered: \(line.label): the connection closed") } }
            }
            return .joinRefused(text, nickProblem: nickProblem)
        }
        for line in outbox.abandonAll() { report("chatroom: not delivered: \(line.label): the connection closed") }
        return .closedByServer
    }
}
