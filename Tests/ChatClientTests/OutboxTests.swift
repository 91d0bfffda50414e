import ChatClient
import ChatProtocol
import Testing

@Suite("Outbox")
struct OutboxTests {
    static let second: UInt64 = 1_000_000_000

    static func outbox(limits: ServerLimits? = nil, lines: [String]) -> Outbox {
        var outbox = Outbox(nick: "bot", now: 0)
        outbox.joined = true
        if let limits { #expect(outbox.received(limits.text, now: 0).consumed) }
        for (index, text) in lines.enumerated() { #expect(outbox.enqueue(OutgoingLine(number: index + 1, text: text)) == nil) }
        return outbox
    }

    static func numbered(_ count: Int) -> [String] { (1...count).map { "line \($0)" } }

    @Test func nothingIsSentBeforeTheJoin() {
        var outbox = Self.outbox(lines: ["early"])
        outbox.joined = false
        #expect(outbox.linesToSend(now: 0).isEmpty)
        outbox.joined = true
        #expect(outbox.linesToSend(now: 0).map(\.text) == ["early"])
    }

    @Test func announcedLimits_pacesToOneShortOfTheBurstThenTheRate() {
        var outbox = Self.outbox(limits: ServerLimits(maximumLineBytes: 100, linesPerSecond: 2, burst: 5), lines: Self.numbered(10))
        #expect(outbox.linesToSend(now: 0).map(\.number) == [1, 2, 3, 4])
        let wake = outbox.nextWake(now: 0)!
        #expect(wake > Self.second / 2 - 1_000_000 && wake <= Self.second / 2 + 1_000_000)
        #expect(outbox.linesToSend(now: Self.second / 4).isEmpty)
        #expect(outbox.linesToSend(now: wake).map(\.number) == [5])
    }

    @Test func echoes_deliverTheOldestLineInFlight() {
        var outbox = Self.outbox(lines: ["hello", "/me waves"])
        #expect(outbox.linesToSend(now: 0).count == 2)
        #expect(outbox.received("alice: hello", now: 1).events.isEmpty)
        #expect(outbox.received("bot: hello", now: 1).events == [.delivered(OutgoingLine(number: 1, text: "hello"))])
        #expect(outbox.received("* bot waves", now: 1).events == [.delivered(OutgoingLine(number: 2, text: "/me waves"))])
        #expect(outbox.isIdle)
    }

    @Test func floodRefusals_areSentAgainInOrderOneAtATime() {
        var outbox = Self.outbox(lines: Self.numbered(6))
        #expect(outbox.linesToSend(now: 0).map(\.number) == [1, 2, 3, 4, 5, 6])
        _ = outbox.received("bot: line 1", now: 1)
        _ = outbox.received("bot: line 2", now: 1)
        for _ in 3...6 {
            let (consumed, events) = outbox.received(ServerReply.tooFast, now: 2)
            #expect(consumed)
            guard case .willRetry? = events.first else { Issue.record("not retried: \(events)"); return }
        }
        #expect(outbox.queued.map(\.number) == [3, 4, 5, 6])
        // The server's rate was unknown: halved once (10 -> 5/s), not once per refused line.
        #expect(outbox.linesToSend(now: 2).isEmpty)
        var now = outbox.nextWake(now: 2)!
        #expect(now - 2 >= Self.second / 5 && now - 2 <= Self.second / 5 + 1_000_000)
        var delivered: [Int] = []
        for _ in 0..<20 where !outbox.isIdle {
            let sent = outbox.linesToSend(now: now)
            #expect(sent.count <= 1, "one line at a time after a refusal")
            for line in sent { delivered += outbox.received("bot: \(line.text)", now: now).events.compactMap {
                if case let .delivered(line) = $0 { return line.number } else { return nil } } }
            now = outbox.nextWake(now: now) ?? now
        }
        #expect(delivered == [3, 4, 5, 6])
    }

    @Test func slowmode_waitsAsLongAsTheServerSays() {
        var outbox = Self.outbox(lines: ["a", "b"])
        _ = outbox.linesToSend(now: 0)
        let (consumed, events) = outbox.received(ServerReply.slowmodeWait(90), now: 10)
        #expect(!consumed, "the slowmode notice is shown")
        guard case let .willRetry(line, wait)? = events.first else { Issue.record("not retried: \(events)"); return }
        #expect(line.number == 1 && line.refusals == 1 && wait == 90 * Self.second)
        _ = outbox.received("bot: b", now: 10)
        #expect(outbox.linesToSend(now: 10 + 89 * Self.second).isEmpty)
        #expect(outbox.linesToSend(now: 10 + 90 * Self.second).map(\.text) == ["a"])
    }

    @Test func commands_goAloneAndCountAsDeliveredUnlessRefused() {
        var outbox = Self.outbox(lines: ["before", "/who", "after"])
        #expect(outbox.linesToSend(now: 0).map(\.text) == ["before"])
        #expect(outbox.linesToSend(now: 0).isEmpty, "the command waits for the line before it")
        _ = outbox.received("bot: before", now: 0)
        #expect(outbox.linesToSend(now: 0).map(\.text) == ["/who"])
        #expect(outbox.linesToSend(now: 0).isEmpty, "nothing goes behind a command")
        _ = outbox.received(ServerReply.tooFast, now: 1)
        let retry = outbox.nextWake(now: 1)!
        #expect(outbox.linesToSend(now: retry).map(\.text) == ["/who"])
        let grace = retry + Self.second / 4
        #expect(outbox.expire(now: grace).count == 1)
        #expect(outbox.linesToSend(now: grace).map(\.text) == ["after"])
    }

    @Test func tooLongLines_areRefusedBeforeSending() {
        var outbox = Self.outbox(limits: ServerLimits(maximumLineBytes: 10, linesPerSecond: 0, burst: 0), lines: [])
        #expect(outbox.enqueue(OutgoingLine(number: 1, text: String(repeating: "é", count: 6))) != nil)
        #expect(outbox.enqueue(OutgoingLine(number: 2, text: String(repeating: "e", count: 10))) == nil)
        var defaults = Outbox(nick: "x", now: 0)
        #expect(defaults.enqueue(OutgoingLine(number: 1, text: String(repeating: "x", count: 70_000)))?.contains("65536") == true)
    }

    @Test func muted_failsTheLineWithoutRetrying() {
        var outbox = Self.outbox(lines: ["hi"])
        _ = outbox.linesToSend(now: 0)
        #expect(outbox.received("You are muted for 5m.", now: 1).events == [.failed(OutgoingLine(number: 1, text: "hi"), reason: "You are muted for 5m.")])
        #expect(outbox.isIdle)
    }

    @Test func unansweredChat_failsAfterTheTimeout() {
        var outbox = Self.outbox(lines: ["hi"])
        _ = outbox.linesToSend(now: 0)
        #expect(outbox.expire(now: 9 * Self.second).isEmpty)
        guard case .failed? = outbox.expire(now: 10 * Self.second).first else { Issue.record("not failed"); return }
    }

    @Test func aRename_changesTheEchoAwaited() {
        var outbox = Self.outbox(lines: ["/nick robot", "hi"])
        _ = outbox.linesToSend(now: 0)
        _ = outbox.received("bot is now known as robot.", now: 1)
        _ = outbox.expire(now: Self.second)
        _ = outbox.linesToSend(now: Self.second)
        #expect(outbox.received("robot: hi", now: Self.second).events.count == 1)
        #expect(outbox.nick == "robot")
    }

    @Test func refusedTooOften_isGivenUp() {
        var outbox = Self.outbox(lines: ["x"])
        var now: UInt64 = 0
        var last: [Outbox.Event] = []
        for _ in 0..<Outbox.maximumRefusals {
            now = max(now, outbox.nextWake(now: now) ?? now)
            #expect(outbox.linesToSend(now: now).count == 1)
            last = outbox.received(ServerReply.tooFast, now: now).events
        }
        guard case .failed? = last.first else { Issue.record("not given up: \(last)"); return }
        #expect(outbox.isIdle)
    }
}

