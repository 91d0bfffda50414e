import ChatClient
import ChatProtocol
import Testing

@Suite("Reconnect backoff")
struct ReconnectBackoffTests {
    @Test func nominalScheduleDoublesFromHalfASecondToThirtySeconds() {
        let schedule = (0..<10).map { ReconnectBackoff.nominalSeconds(attempt: $0) }
        #expect(schedule == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30])
        #expect(ReconnectBackoff.nominalSeconds(attempt: 10_000) == 30)
    }

    @Test func jitterStaysWithinAQuarterEitherWayAndUnderTheCap() {
        var low = ReconnectBackoff(), middle = ReconnectBackoff(), high = ReconnectBackoff()
        let lows = (0..<8).map { _ in low.nextDelaySeconds(random: 0) }
        let middles = (0..<8).map { _ in middle.nextDelaySeconds(random: 0.5) }
        let highs = (0..<8).map { _ in high.nextDelaySeconds(random: 0.999_999) }
        #expect(lows == [0.375, 0.75, 1.5, 3, 6, 12, 22.5, 22.5])
        #expect(middles == [0.5, 1, 2, 4, 8, 16, 30, 30])
        #expect(highs.prefix(6).enumerated().allSatisfy { abs($1 - 0.625 * Double(1 << $0)) < 1e-4 })
        #expect(highs.suffix(2).allSatisfy { $0 == 30 }, "jitter must not go past the cap")
        #expect(high.attempts == 8)
    }

    @Test func resetStartsAgainFromHalfASecond() {
        var backoff = ReconnectBackoff()
        for _ in 0..<5 { _ = backoff.nextDelaySeconds(random: 0.5) }
        backoff.reset()
        #expect(backoff.nextDelaySeconds(random: 0.5) == 0.5)
    }
}

@Suite("History de-duplication")
struct SeenLinesTests {
    /// 2026-01-01T14:05:33Z and the replay frame the server writes for a line at that second.
    static let t: Int64 = 1_767_276_333
    static func history(_ unix: Int64, _ text: String) -> String {
        let s = ((unix % 86_400) + 86_400) % 86_400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "[history \(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60))Z] \(text)"
    }

    @Test func parsesTheServersHistoryFrames() {
        #expect(SeenLines.parseHistory("[history 14:05:33Z] alice: hi")! == (50_733, "alice: hi"))
        #expect(SeenLines.parseHistory("[history 14:05:33Z] * bob waves")! == (50_733, "* bob waves"))
        #expect(SeenLines.parseHistory("alice: [history 14:05:33Z] x") == nil)
        #expect(SeenLines.parseHistory("[history 24:00:00Z] x") == nil)
        #expect(SeenLines.parseHistory("[history 1:05:33Z] x") == nil)
    }

    @Test func linesShownBeforeAreSkippedAndNewOnesShown() {
        var seen = SeenLines()
        seen.saw("alice: before", unixSeconds: Self.t)
        seen.saw("bob: me too", unixSeconds: Self.t + 1)
        seen.beginReplay()
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t, "alice: before")) == true)
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t, "bob: me too")) == true, "a second apart is the same line")
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t + 40, "bob: during the outage")) == false)
        #expect(seen.isRepeat(historyFrame: "bob: not history") == nil)
    }

    @Test func theSameTextLongAfterIsNew() {
        var seen = SeenLines()
        seen.saw("bob: ok", unixSeconds: Self.t)
        seen.beginReplay()
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t + Int64(SeenLines.toleranceSeconds) + 1, "bob: ok")) == false)
    }

    @Test func aLineSaidTwiceButSeenOnceIsShownOnce() {
        var seen = SeenLines()
        seen.saw("bob: ok", unixSeconds: Self.t)
        seen.beginReplay()
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t, "bob: ok")) == true)
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t + 1, "bob: ok")) == false)
    }

    @Test func aLaterReplaySkipsWhatAnEarlierReplayShowed() {
        var seen = SeenLines()
        seen.saw("alice: live", unixSeconds: Self.t)
        seen.beginReplay()
        let replay = [Self.history(Self.t, "alice: live"), Self.history(Self.t + 30, "bob: missed")]
        #expect(replay.map { seen.isRepeat(historyFrame: $0) } == [true, false])
        seen.beginReplay()
        #expect(replay.map { seen.isRepeat(historyFrame: $0) } == [true, true])
    }

    @Test func matchesAcrossMidnight() {
        var seen = SeenLines()
        let midnight: Int64 = 1_767_312_000  // 2026-01-02T00:00:00Z
        seen.saw("alice: late", unixSeconds: midnight + 1)
        seen.beginReplay()
        #expect(seen.isRepeat(historyFrame: Self.history(midnight - 1, "alice: late")) == true)
    }

    @Test func memoryIsBounded() {
        var seen = SeenLines()
        for i in 0..<(SeenLines.capacity + 10) { seen.saw("bob: \(i)", unixSeconds: Self.t) }
        #expect(seen.count == SeenLines.capacity)
        seen.beginReplay()
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t, "bob: 0")) == false, "the oldest line was forgotten")
        #expect(seen.isRepeat(historyFrame: Self.history(Self.t, "bob: \(SeenLines.capacity + 9)")) == true)
    }
}

@Suite("Outbox across a reconnect")
struct OutboxReconnectTests {
    static func outbox(_ lines: [String]) -> Outbox {
        var outbox = Outbox(nick: "bot", now: 0)
        outbox.joined = true
        for (index, text) in lines.enumerated() { #expect(outbox.enqueue(OutgoingLine(number: index + 1, text: text)) == nil) }
        return outbox
    }

    @Test func linesInFlightGoBackFirstAndAreResentInOrderAfterTheReplay() {
        var outbox = Self.outbox(["one", "two", "three"])
        #expect(outbox.linesToSend(now: 0).map(\.number) == [1, 2, 3])
        #expect(outbox.received("bot: one", now: 1).events == [.delivered(OutgoingLine(number: 1, text: "one"))])
        #expect(outbox.enqueue(OutgoingLine(number: 4, text: "four")) == nil)
        outbox.connectionLost()
        #expect(!outbox.joined)
        #expect(outbox.queued.map(\.number) == [2, 3, 4])
        #expect(outbox.linesToSend(now: 2).isEmpty, "nothing is sent before the rejoin")
        outbox.joined = true
        outbox.replayEnded()
        #expect(outbox.linesToSend(now: 3).map(\.number) == [2, 3, 4])
    }

    @Test func aLineTheReplayShowsArrivedIsNotResent() {
        var outbox = Self.outbox(["one", "two"])
        _ = outbox.linesToSend(now: 0)
        outbox.connectionLost()
        #expect(outbox.replayed("bot: one")?.number == 1)
        #expect(outbox.replayed("bot: one") == nil, "matched once")
        #expect(outbox.replayed("alice: two") == nil)
        outbox.joined = true
        outbox.replayEnded()
        #expect(outbox.linesToSend(now: 1).map(\.text) == ["two"])
    }

    @Test func aQueuedLineNeverSentIsNotTakenForAReplayedOne() {
        var outbox = Self.outbox(["one"])
        outbox.joined = false
        outbox.connectionLost()
        #expect(outbox.replayed("bot: one") == nil, "it was never sent, so the replayed line is an older one")
        #expect(outbox.queued.map(\.text) == ["one"])
    }

    @Test func theClientsOwnLinesAreDropped() {
        var outbox = Self.outbox([])
        #expect(outbox.enqueue(OutgoingLine(number: 0, text: "/who")) == nil)
        _ = outbox.linesToSend(now: 0)
        outbox.connectionLost()
        #expect(outbox.isIdle)
    }
}

@Suite("Dismissals")
struct DismissalTests {
    @Test func kicksAndBansEndTheSessionRestartsAndDropsDoNot() {
        #expect(ServerReply.isDismissal("You have been kicked by an admin."))
        #expect(ServerReply.isDismissal("You have been kicked by an admin. Reason: spam"))
        #expect(ServerReply.isDismissal("You have been banned by an admin for 10m."))
        #expect(ServerReply.isDismissal(ServerReply.addressBanned))
        #expect(!ServerReply.isDismissal(ServerReply.shuttingDown))
        #expect(!ServerReply.isDismissal("bob has been kicked from the server."))
        #expect(ServerReply.isServerLeaving(ServerReply.shuttingDown))
        #expect(ServerReply.isServerLeaving("Server is restarting."))
        #expect(ServerReply.tooManyJoinsWaitSeconds("Too many joins from your address; try again in 1m 5s.") == 65)
        #expect(ServerReply.tooManyJoinsWaitSeconds("Too many joins") == nil)
    }
}
