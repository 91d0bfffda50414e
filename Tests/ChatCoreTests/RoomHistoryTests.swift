import ChatCore
import Testing

/// History: what is kept, how it is replayed on join, its bound, and purging by `/ban --purge`.
@Suite("Room: history")
struct RoomHistoryTests {
    static let connected = "Connected to the server"

    @Test func join_replaysHistoryWithUTCTimes_betweenTheGreetingAndTheJoinAnnouncement() {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        room.receive("alice", "hi")                       // 22:13:20Z
        room.advance(65)
        room.receive("bob", "/me waves")                  // 22:14:25Z
        room.receive("alice", "/msg bob secret")          // private: not history
        room.receive("admin", "/say server notice")       // a notice: not history
        room.receive("alice", "/who")                     // a command: not history
        room.receive("alice", "")                         // nothing at all
        room.advance(3600)
        room.receive("admin", "back in an hour")          // 23:14:25Z
        room.receive("bob", "/nick robert")
        room.receive("bob", "renamed")                    // old lines keep the old nick
        room.advance(3600)
        #expect(room.join("carol") == [
            .send(Self.connected, to: "carol"),
            .send("[history 22:13:20Z] alice: hi", to: "carol"),
            .send("[history 22:14:25Z] * bob waves", to: "carol"),
            .send("[history 23:14:25Z] admin: back in an hour", to: "carol"),
            .send("[history 23:14:25Z] robert: renamed", to: "carol"),
            .broadcast("carol has joined the chat!", to: ["admin", "alice", "bob", "carol"]),
        ])
        #expect(room.room.history.entries.map(\.unixSeconds) == [1_700_000_000, 1_700_000_065, 1_700_003_665, 1_700_003_665])
        // An admin who joins gets the same replay.
        #expect(room.receive("admin", "!DC").count == 2)
        #expect(room.joinAdmin("admin2").count == 6)
    }

    @Test(arguments: [(3, 5), (3, 3), (1, 4), (50, 2)] as [(Int, Int)])
    func history_isBoundedByTheLimit_keepingTheNewest(limit: Int, sent: Int) {
        let room = RoomDriver(configuration: RoomDriver.configuration(historyLimit: limit), now: RoomDriver.wallStart)
        room.join("alice")
        for n in 1...sent { room.receive("alice", "line \(n)") }
        let kept = (max(1, sent - limit + 1)...sent).map { Out.send("[history 22:13:20Z] alice: line \($0)", to: "bob") }
        #expect(room.join("bob") == [.send(Self.connected, to: "bob")] + kept
            + [.broadcast("bob has joined the chat!", to: ["alice", "bob"])])
        #expect(room.room.history.count == min(limit, sent))
    }

    @Test func historyLimitZero_replaysNothing() {
        let room = RoomDriver(configuration: RoomDriver.configuration(historyLimit: 0), now: RoomDriver.wallStart)
        room.join("alice")
        room.receive("alice", "hello")
        room.receive("alice", "/me waves")
        #expect(room.room.history.count == 0)
        #expect(room.join("bob") == [
            .send(Self.connected, to: "bob"),
            .broadcast("bob has joined the chat!", to: ["alice", "bob"]),
        ])
    }

    @Test func shrinkingTheLimitWhileRunning_dropsTheOldestLines() {
        let room = RoomDriver(configuration: RoomDriver.configuration(historyLimit: 10), now: RoomDriver.wallStart)
        room.join("alice")
        for n in 1...4 { room.receive("alice", "line \(n)") }
        room.room.configuration.historyLimit = 2
        #expect(room.room.history.entries.map(\.text) == ["alice: line 3", "alice: line 4"])
        room.room.configuration.historyLimit = 0
        #expect(room.room.history.count == 0)
    }

    @Test func historyRestoredAtStart_isReplayed_withinTheLimit() {
        let entries = (1...4).map { History.Entry(unixSeconds: 1_699_999_000 + Int64($0), text: "old \($0)", address: ip("192.0.2.1")) }
        let room = RoomDriver(configuration: RoomDriver.configuration(historyLimit: 3), history: entries, now: RoomDriver.wallStart)
        #expect(room.join("alice") == [
            .send(Self.connected, to: "alice"),
            .send("[history 21:56:42Z] old 2", to: "alice"),
            .send("[history 21:56:43Z] old 3", to: "alice"),
            .send("[history 21:56:44Z] old 4", to: "alice"),
            .broadcast("alice has joined the chat!", to: ["alice"]),
        ])
    }

    @Test func banWithPurge_removesTheTargetsLines_andCountsThem() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        room.receive("alice", "spam 1")
        room.receive("bob", "hello")
        room.receive("alice", "/me spams")
        room.receive("admin", "stop it")
        #expect(room.receive("admin", "/ban alice 1h --purge spam") == [
            .saveState,
            .send("You have been banned by an admin for 1h. Reason: spam", to: "alice"),
            .close("alice"),
            .broadcast("alice has been banned from the server for 1h. Reason: spam", to: ["admin", "bob"]),
        ])
        let record = try #require(room.log("ban"))
        #expect(record.fields["chat_purged"] == "2")
        #expect(room.room.history.entries.map(\.text) == ["bob: hello", "admin: stop it"])
        #expect(room.join("carol") == [
            .send(Self.connected, to: "carol"),
            .send("[history 22:13:20Z] bob: hello", to: "carol"),
            .send("[history 22:13:20Z] admin: stop it", to: "carol"),
            .broadcast("carol has joined the chat!", to: ["admin", "bob", "carol"]),
        ])
    }

    @Test func banWithoutPurge_keepsTheLines() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.receive("alice", "spam")
        room.receive("admin", "/ban alice")
        #expect(try #require(room.log("ban")).fields["chat_purged"] == nil)
        #expect(room.room.history.entries.map(\.text) == ["alice: spam"])
    }

    @Test func purge_followsTheAddress_soLinesOfMembersWhoLeftGoToo() {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice", address: ip("198.51.100.7"))
        room.receive("alice", "one")
        room.receive("alice", "/nick alicia")
        room.receive("alice", "two")
        room.receive("alice", "!DC")
        room.join("bob")
        room.receive("bob", "three")
        #expect(room.receive("admin", "/ban 198.51.100.0/24 --purge") == [
            .saveState,
            .send("Banned 198.51.100.0/24. Purged 2 history line(s).", to: "admin"),
        ])
        #expect(room.room.history.entries.map(\.text) == ["bob: three"])
    }

    @Test func ipv6RangeBanWithPurge_byTheOperator_reportsTheCount() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.join("v6a", address: ip("2001:db8::1"))
        room.join("carol", address: ip("192.0.2.5"))
        room.join("v6b", address: ip("2001:db8:1::2"))
        room.receive("v6a", "a")
        room.receive("carol", "c")
        room.receive("v6b", "b")
        room.receive("v6a", "/me a again")
        room.control("ban", "2001:db8::/32 --purge 1d")
        #expect(room.controlReplies == ["Banned 2001:db8::/32 for 1d; disconnected v6a, v6b. Purged 3 history line(s)."])
        #expect(try #require(room.log("ban")).fields["chat_purged"] == "3")
        #expect(room.room.history.entries.map(\.text) == ["carol: c"])
    }

    @Test func refusedLines_areNotHistory() {
        let room = RoomDriver(configuration: RoomDriver.configuration(floodBurst: 1, slowmodeSeconds: 60),
                              now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        room.receive("admin", "/mute bob")
        room.receive("bob", "muted line")
        room.receive("alice", "first")
        room.advance(1)
        room.receive("alice", "slowmode line")   // slowmode refuses it
        room.receive("alice", "flood line")      // flood control refuses it
        #expect(room.room.history.entries.map(\.text) == ["alice: first"])
    }
}
