import ChatCore
import Testing

/// Flood control (a token bucket per member) and slowmode, alone and together.
@Suite("Room: flood control and slowmode")
struct RoomFloodTests {
    static let tooFast = "You are sending messages too fast; that one was not delivered."

    /// The admin, alice and bob; flood control at `rate` a second, bursts of `burst`,
    /// disconnect after `disconnectAfter` refusals in a row.
    static func room(rate: Double = 1, burst: Double = 3, disconnectAfter: Int = 3, slowmode: Int? = nil) -> RoomDriver {
        let room = RoomDriver(configuration: RoomDriver.configuration(floodRate: rate, floodBurst: burst,
                                                                      floodDisconnectAfter: disconnectAfter,
                                                                      slowmodeSeconds: slowmode),
                              now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        return room
    }

    static let everyone = ["admin", "alice", "bob"]

    // MARK: Flood control

    @Test func burst_thenRefusal_thenRefillWithTime() {
        let room = Self.room(disconnectAfter: 100)
        for n in 1...3 {
            #expect(room.receive("alice", "m\(n)") == [.broadcast("alice: m\(n)", to: Self.everyone)])
        }
        #expect(room.receive("alice", "m4") == [.send(Self.tooFast, to: "alice")])
        #expect(room.logs.isEmpty)
        room.advance(0.5)
        #expect(room.receive("alice", "m5") == [.send(Self.tooFast, to: "alice")])
        room.advance(0.5)
        #expect(room.receive("alice", "m6") == [.broadcast("alice: m6", to: Self.everyone)])
        #expect(room.receive("alice", "m7") == [.send(Self.tooFast, to: "alice")])
        // Each member has a bucket of its own.
        #expect(room.receive("bob", "unaffected") == [.broadcast("bob: unaffected", to: Self.everyone)])
        #expect(room.room.relayedMessageCount == 5)
        #expect(room.room.history.entries.map(\.text) == ["alice: m1", "alice: m2", "alice: m3", "alice: m6", "bob: unaffected"])
    }

    @Test func bucket_refillsFractionally_andNeverBeyondTheBurst() {
        let room = Self.room(rate: 2, burst: 3, disconnectAfter: 100)
        for n in 1...3 { room.receive("alice", "m\(n)") }
        room.advance(0.25)
        #expect(room.receive("alice", "quarter") == [.send(Self.tooFast, to: "alice")])
        room.advance(0.25)
        #expect(room.receive("alice", "half") == [.broadcast("alice: half", to: Self.everyone)])
        room.advance(3600)
        let outs = (1...5).flatMap { room.receive("alice", "after idle \($0)") }
        #expect(outs == (1...3).map { Out.broadcast("alice: after idle \($0)", to: Self.everyone) }
            + [.send(Self.tooFast, to: "alice"), .send(Self.tooFast, to: "alice")])
    }

    @Test func refusalsInARow_disconnectTheFlooder() throws {
        let room = Self.room()
        for n in 1...3 { room.receive("alice", "m\(n)") }
        #expect(room.receive("alice", "x") == [.send(Self.tooFast, to: "alice")])
        #expect(room.receive("alice", "x") == [.send(Self.tooFast, to: "alice")])
        #expect(room.receive("alice", "x") == [
            .send("You have been disconnected for flooding.", to: "alice"),
            .close("alice"),
            .broadcast("alice was disconnected for flooding.", to: ["admin", "bob"]),
        ])
        #expect(room.closeReasons == ["alice": "flooding"])
        let record = try #require(room.log("flood-disconnect"))
        #expect(record.level == .notice)
        #expect(record.message == "alice was disconnected for flooding")
        #expect(record.fields == ["chat_nick": "alice", "chat_peer": "10.0.0.2:40002", "chat_reason": "flooding"])
        #expect(room.memberNicks == ["admin", "bob"])
        #expect(room.receive("alice", "x") == [])
        #expect(room.closed("alice") == [], "no second leave notice")
        #expect(room.room.banCount == 0, "flooding is not a ban")
        #expect(room.join("alice", address: room.address("alice")).first == .send("Connected to the server", to: "alice"))
    }

    @Test func anAcceptedMessage_resetsTheRefusalCount() {
        let room = Self.room(rate: 1, burst: 1, disconnectAfter: 3)
        room.receive("alice", "m1")
        for _ in 1...2 { #expect(room.receive("alice", "x") == [.send(Self.tooFast, to: "alice")]) }
        room.advance(1)
        #expect(room.receive("alice", "m2") == [.broadcast("alice: m2", to: Self.everyone)])
        for _ in 1...2 { #expect(room.receive("alice", "x") == [.send(Self.tooFast, to: "alice")]) }
        #expect(room.memberNicks == ["admin", "alice", "bob"])
    }

    @Test(arguments: ["/who", "/help", "/msg bob hi", "/nick alicia", ""])
    func everyFrame_countsAgainstTheBucket(frame: String) {
        let room = Self.room(rate: 1, burst: 1, disconnectAfter: 100)
        room.receive("alice", "first")
        #expect(room.receive("alice", frame) == [.send(Self.tooFast, to: "alice")])
        #expect(room.memberNicks == ["admin", "alice", "bob"])
    }

    @Test func leaving_isAllowed_evenOutOfTokens() {
        let room = Self.room(rate: 1, burst: 1, disconnectAfter: 100)
        room.receive("alice", "first")
        #expect(room.receive("alice", "!DC") == [.close("alice"), .broadcast("[CLIENT DISCONNECT - alice]", to: ["admin", "bob"])])
    }

    @Test func admins_areExempt() {
        let room = Self.room(rate: 0.01, burst: 1, disconnectAfter: 1)
        let outs = (1...50).flatMap { room.receive("admin", "announcement \($0)") }
        #expect(outs == (1...50).map { Out.broadcast("admin: announcement \($0)", to: Self.everyone) })
    }

    @Test func aMemberWhoLogsIn_isExemptFromThen() {
        let accounts: [String: any PasswordVerifier] = ["mod": PlainPassword("modpw")]
        let room = RoomDriver(configuration: RoomDriver.configuration(accounts: accounts, floodRate: 0.01, floodBurst: 1,
                                                                      floodDisconnectAfter: 100),
                              now: RoomDriver.wallStart)
        room.join("alice")
        #expect(room.receive("alice", "/login mod modpw").first == .send("You are now an admin (account mod).", to: "alice"))
        let outs = (1...10).flatMap { room.receive("alice", "m\($0)") }
        #expect(outs == (1...10).map { Out.broadcast("alice: m\($0)", to: ["alice"]) })
    }

    // MARK: Slowmode

    @Test func slowmode_announced_logged_andEnforcedWithTheWait() throws {
        let room = Self.room(burst: 100, disconnectAfter: 100)
        #expect(room.receive("admin", "/slowmode 10") == [
            .broadcast("Slowmode is on: one message every 10s per member.", to: Self.everyone),
        ])
        let record = try #require(room.log("slowmode"))
        #expect(record.level == .notice)
        #expect(record.message == "Slowmode set to 10 s by admin")
        #expect(record.fields == ["chat_by": "admin", "chat_duration": "10"])
        #expect(room.room.slowmodeSeconds == 10)

        #expect(room.receive("alice", "one") == [.broadcast("alice: one", to: Self.everyone)])
        room.advance(3)
        #expect(room.receive("alice", "two") == [
            .send("Slowmode is on: you may send your next message in 7s.", to: "alice"),
        ])
        room.advance(6.5)
        #expect(room.receive("alice", "/me tries") == [
            .send("Slowmode is on: you may send your next message in 1s.", to: "alice"),
        ], "rounded up, and /me counts")
        // Refused messages do not restart the wait.
        room.advance(0.5)
        #expect(room.receive("alice", "two") == [.broadcast("alice: two", to: Self.everyone)])
        #expect(room.receive("alice", "three") == [
            .send("Slowmode is on: you may send your next message in 10s.", to: "alice"),
        ])
        // Each member has a clock of its own; commands and private messages are not held.
        #expect(room.receive("bob", "mine") == [.broadcast("bob: mine", to: Self.everyone)])
        #expect(room.receive("alice", "/who") == [.send("3 members: admin [admin], alice, bob", to: "alice")])
        #expect(room.receive("alice", "/msg bob psst") == [
            .send("[PM from alice] psst", to: "bob"), .send("[PM to bob] psst", to: "alice"),
        ])
        #expect(room.room.history.entries.map(\.text) == ["alice: one", "alice: two", "bob: mine"])
    }

    @Test func slowmode_doesNotApplyToAdmins() {
        let room = Self.room(burst: 100, slowmode: 60)
        #expect(room.receive("admin", "one") == [.broadcast("admin: one", to: Self.everyone)])
        #expect(room.receive("admin", "two") == [.broadcast("admin: two", to: Self.everyone)])
        #expect(room.receive("admin", "/me three") == [.broadcast("* admin three", to: Self.everyone)])
    }

    @Test func slowmodeFromTheConfiguration_appliesFromTheStart_silently() {
        let room = Self.room(burst: 100, slowmode: 5)
        #expect(room.room.slowmodeSeconds == 5)
        #expect(room.receive("alice", "one") == [.broadcast("alice: one", to: Self.everyone)])
        #expect(room.receive("alice", "two") == [
            .send("Slowmode is on: you may send your next message in 5s.", to: "alice"),
        ])
    }

    @Test func slowmodeTurnedOn_countsAMessageSentBeforeIt() {
        let room = Self.room(burst: 100)
        room.receive("alice", "before")
        room.advance(2)
        room.receive("admin", "/slowmode 10")
        room.advance(1)
        #expect(room.receive("alice", "after") == [
            .send("Slowmode is on: you may send your next message in 7s.", to: "alice"),
        ])
    }

    @Test(arguments: [
        ("30s", "Slowmode is on: one message every 30s per member.", "30"),
        ("90", "Slowmode is on: one message every 1m 30s per member.", "90"),
        ("1h30m", "Slowmode is on: one message every 1h 30m per member.", "5400"),
        ("1d", "Slowmode is on: one message every 1d per member.", "86400"),
        ("86400", "Slowmode is on: one message every 1d per member.", "86400"),
        ("off", "Slowmode is off.", "off"),
        ("OFF", "Slowmode is off.", "off"),
        ("0", "Slowmode is off.", "off"),
    ])
    func slowmode_readsSecondsDurationsAndOff(argument: String, announcement: String, duration: String) throws {
        let room = Self.room(slowmode: 5)
        #expect(room.receive("admin", "/slowmode \(argument)") == [.broadcast(announcement, to: Self.everyone)])
        #expect(try #require(room.log("slowmode")).fields == ["chat_by": "admin", "chat_duration": duration])
        #expect(room.room.slowmodeSeconds == Int(duration))
    }

    @Test func slowmodeOff_liftsTheWaitAtOnce() throws {
        let room = Self.room(burst: 100, slowmode: 60)
        room.receive("alice", "one")
        room.receive("admin", "/slowmode off")
        #expect(try #require(room.log("slowmode")).message == "Slowmode turned off by admin")
        #expect(room.receive("alice", "two") == [.broadcast("alice: two", to: Self.everyone)])
    }

    @Test(arguments: [
        ("/slowmode", "Usage: /slowmode <seconds|off>"),
        ("/slowmode 10 20", "Usage: /slowmode <seconds|off>"),
        ("/slowmode 2d", "Usage: /slowmode <seconds|off> (at most one day)"),
        ("/slowmode 86401", "Usage: /slowmode <seconds|off> (at most one day)"),
        ("/slowmode fast", "Usage: /slowmode <seconds|off> (at most one day)"),
        ("/slowmode -5", "Usage: /slowmode <seconds|off> (at most one day)"),
        ("/slowmode 10x", "Usage: /slowmode <seconds|off> (at most one day)"),
    ])
    func slowmodeMistake_isToldToTheAdminOnly_andChangesNothing(command: String, reply: String) {
        let room = Self.room(slowmode: 5)
        #expect(room.receive("admin", command) == [.send(reply, to: "admin")])
        #expect(room.logs.isEmpty)
        #expect(room.room.slowmodeSeconds == 5)
    }

    @Test func slowmode_fromTheOperator_isConfirmed() throws {
        let room = Self.room()
        #expect(room.control("slowmode", "10") == [
            .broadcast("Slowmode is on: one message every 10s per member.", to: Self.everyone),
        ])
        #expect(room.controlReplies == ["Slowmode is on (10 s)."])
        #expect(try #require(room.log("slowmode")).fields == ["chat_by": "chatroomctl:root", "chat_duration": "10"])
        #expect(room.control("slowmode", "off") == [.broadcast("Slowmode is off.", to: Self.everyone)])
        #expect(room.controlReplies == ["Slowmode is off."])
    }

    @Test func applySlowmode_fromAReload_announcesOnlyAChange() throws {
        let room = Self.room()
        #expect(room.applySlowmode(15) == [
            .broadcast("Slowmode is on: one message every 15s per member.", to: Self.everyone),
        ])
        let record = try #require(room.log("slowmode"))
        #expect(record.message == "Slowmode set to 15 s by configuration")
        #expect(record.fields == ["chat_by": "configuration", "chat_duration": "15"])
        #expect(room.applySlowmode(15) == [])
        #expect(room.logs.isEmpty)
        #expect(room.applySlowmode(nil) == [.broadcast("Slowmode is off.", to: Self.everyone)])
        #expect(try #require(room.log("slowmode")).fields == ["chat_by": "configuration", "chat_duration": "off"])
        #expect(room.room.slowmodeSeconds == nil)
    }

    @Test func applySlowmode_toAnEmptyRoom_isLoggedOnly() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        #expect(room.applySlowmode(30) == [])
        #expect(try #require(room.log("slowmode")).fields == ["chat_by": "configuration", "chat_duration": "30"])
    }

    // MARK: Both

    /// Slowmode refusals still spend flood tokens: a member who keeps retrying during
    /// slowmode runs out of tokens, then is disconnected for flooding.
    @Test func floodAndSlowmode_stack() {
        let room = Self.room(rate: 0.1, burst: 2, disconnectAfter: 3, slowmode: 10)
        #expect(room.receive("alice", "one") == [.broadcast("alice: one", to: Self.everyone)])
        room.advance(1)
        #expect(room.receive("alice", "two") == [
            .send("Slowmode is on: you may send your next message in 9s.", to: "alice"),
        ])
        room.advance(1)
        #expect(room.receive("alice", "three") == [.send(Self.tooFast, to: "alice")])
        room.advance(1)
        #expect(room.receive("alice", "four") == [.send(Self.tooFast, to: "alice")])
        room.advance(1)
        #expect(room.receive("alice", "five") == [
            .send("You have been disconnected for flooding.", to: "alice"),
            .close("alice"),
            .broadcast("alice was disconnected for flooding.", to: ["admin", "bob"]),
        ])
    }

    @Test func floodAndSlowmode_bothPassed_relaysTheLine() {
        let room = Self.room(rate: 0.1, burst: 2, disconnectAfter: 3, slowmode: 10)
        room.receive("alice", "one")
        room.advance(1)
        room.receive("alice", "too soon")     // slowmode; spends the second token
        room.advance(10)                       // 1.1 tokens again, slowmode over
        #expect(room.receive("alice", "two") == [.broadcast("alice: two", to: Self.everyone)])
    }
}
