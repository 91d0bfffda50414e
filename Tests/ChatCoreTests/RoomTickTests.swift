import ChatCore
import Testing

/// `tick(now:)`: the handshake deadline, and which clock each rule reads.
@Suite("Room: the tick")
struct RoomTickTests {
    static let timedOut = "Timed out waiting for NICK:<nickname> or admin:<password>."

    static func room(handshakeTimeout: Double = 10) -> RoomDriver {
        RoomDriver(configuration: RoomDriver.configuration(handshakeTimeoutSeconds: handshakeTimeout), now: RoomDriver.wallStart)
    }

    @Test func greeterWithoutAGreeting_isClosedAtTheDeadline() throws {
        let room = Self.room()
        room.join("alice")
        room.open("greeter")
        room.advance(9.999)
        #expect(room.tick() == [])
        room.advance(0.001)
        #expect(room.tick() == [.send(Self.timedOut, to: "greeter"), .close("greeter")])
        #expect(room.closeReasons == ["greeter": "handshake timed out"])
        let record = try #require(room.log("handshake-timeout"))
        #expect(record.level == .info)
        #expect(record.fields == ["chat_peer": "10.0.0.2:40002"])
        #expect(record.message == "Closed 10.0.0.2:40002: no NICK: or admin: within 10.0 s")
        #expect(room.tick() == [], "closed once")
        #expect(room.receive("greeter", "NICK:late") == [], "forgotten")
        #expect(room.closed("greeter") == [])
        #expect(room.memberNicks == ["alice"], "members are never timed out")
    }

    @Test func eachGreeter_hasItsOwnDeadline_andDueOnesCloseInConnectionOrder() {
        let room = Self.room(handshakeTimeout: 0.5)
        for n in 1...6 { room.open("early\(n)") }
        room.advance(0.25)
        room.open("late")
        room.join("joined")
        room.advance(0.25)
        #expect(room.tick() == (1...6).flatMap { [Out.send(Self.timedOut, to: "early\($0)"), .close("early\($0)")] })
        #expect(room.logEvents == Array(repeating: "handshake-timeout", count: 6))
        room.advance(0.25)
        #expect(room.tick() == [.send(Self.timedOut, to: "late"), .close("late")])
        #expect(room.memberNicks == ["joined"])
    }

    @Test func greeterRefusedForABadGreeting_isNotTimedOutLater() {
        let room = Self.room()
        room.open("rude")
        #expect(room.receive("rude", "hello?") == [
            .send("Expected NICK:<nickname> or admin:<password> as the first message.", to: "rude"),
            .close("rude"),
        ])
        room.advance(60)
        #expect(room.tick() == [])
    }

    @Test func oneTick_expiresSanctionsFirst_thenClosesLateGreeters() {
        let room = Self.room()
        room.joinAdmin()
        room.receive("admin", "/ban 198.51.100.0/24 10s")
        room.open("greeter")
        room.advance(10)
        #expect(room.tick() == [
            .broadcast("The ban on 198.51.100.0/24 has expired.", to: ["admin"]),
            .saveState,
            .send(Self.timedOut, to: "greeter"),
            .close("greeter"),
        ])
        #expect(room.logEvents == ["ban-expired", "handshake-timeout"])
    }

    /// Deadlines and rates follow the monotonic clock; sanction expiry the wall clock.
    @Test func handshakeDeadline_followsTheMonotonicClock_expiryTheWallClock() {
        let room = Self.room()
        room.joinAdmin()
        room.join("bob")
        room.receive("admin", "/mute bob 1m")
        room.open("greeter")
        // The wall clock jumps a day ahead; the monotonic one does not move.
        let start = room.now
        room.now = RoomTime(nanoseconds: start.nanoseconds, unixNanoseconds: start.unixNanoseconds + 86_400_000_000_000)
        #expect(room.tick() == [.broadcast("bob's mute has expired.", to: ["admin", "bob"]), .saveState])
        // The monotonic clock moves 10 s; the wall clock stands still (set back to where it was).
        room.receive("admin", "/mute bob 1m")
        room.now = RoomTime(nanoseconds: start.nanoseconds + 10_000_000_000, unixNanoseconds: room.now.unixNanoseconds)
        #expect(room.tick() == [.send(Self.timedOut, to: "greeter"), .close("greeter")])
        #expect(room.receive("bob", "hi") == [.send("You are muted for 1m.", to: "bob")])
    }
}
