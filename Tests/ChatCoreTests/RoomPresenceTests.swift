import ChatCore
import Testing

/// Join and leave notices under churn: a per-address join limit, muted members unannounced,
/// and past a rate one summary line a tick.
@Suite("Room: join and leave notices under churn")
struct RoomPresenceTests {
    static func configuration(joinsPerMinute: Int = 0, rate: Double = 0, burst: Int = 10) -> Room.Configuration {
        var configuration = RoomDriver.configuration()
        configuration.joinsPerAddressPerMinute = joinsPerMinute
        configuration.presenceRate = rate
        configuration.presenceBurst = burst
        return configuration
    }

    @Test func joinsFromOneAddress_areLimitedPerMinute_andOtherAddressesAreNot() {
        let room = RoomDriver(configuration: Self.configuration(joinsPerMinute: 3), now: RoomDriver.wallStart)
        let churner = IPAddress(v4: 203, 0, 113, 9)
        for index in 0..<3 {
            #expect(room.join("c\(index)", address: churner).first == .send("Connected to the server", to: "c\(index)"))
            room.closed("c\(index)")
        }
        #expect(room.join("c3", address: churner) == [.send("Too many joins from your address; try again in 20s.", to: "c3"), .close("c3")])
        #expect(room.log("join-refused")?.fields["chat_reason"] == "too many joins from its address")
        #expect(room.join("other", address: IPAddress(v4: 198, 51, 100, 1)).first == .send("Connected to the server", to: "other"))
        room.advance(20)
        #expect(room.join("c4", address: churner).first == .send("Connected to the server", to: "c4"), "one join back every 20 s")
    }

    @Test func pastTheRate_noticesAreHeld_thenSummedUpOnTheTick_inOrder() {
        let room = RoomDriver(configuration: Self.configuration(rate: 1, burst: 2), now: RoomDriver.wallStart)
        #expect(room.join("ann").last == .broadcast("ann has joined the chat!", to: ["ann"]))
        #expect(room.join("bob").last == .broadcast("bob has joined the chat!", to: ["ann", "bob"]))
        // The burst is spent: the joiner still gets its own line, nobody else does yet.
        #expect(room.join("cy").last == .send("cy has joined the chat!", to: "cy"))
        #expect(room.join("dee").last == .send("dee has joined the chat!", to: "dee"))
        #expect(room.closed("ann") == [])
        #expect(room.tick() == [.broadcast("2 members joined: cy, dee; 1 member left: ann.", to: ["bob", "cy", "dee"])])
        #expect(room.tick() == [], "nothing held, nothing said")
        room.advance(1)
        #expect(room.join("eve").last == .broadcast("eve has joined the chat!", to: ["bob", "cy", "dee", "eve"]), "the rate refilled")
    }

    @Test func aSummary_namesTenAndCountsTheRest() {
        let room = RoomDriver(configuration: Self.configuration(rate: 1, burst: 1), now: RoomDriver.wallStart)
        room.join("first")
        for index in 0..<15 { room.join("n\(index)") }
        let summary = room.tick()
        #expect(summary.count == 1)
        #expect(summary.first?.text == "15 members joined: n0, n1, n2, n3, n4, n5, n6, n7, n8, n9 and 5 more.")
    }

    @Test func aMutedMember_comesAndGoesUnannounced() {
        let room = RoomDriver(configuration: Self.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("spam", address: IPAddress(v4: 203, 0, 113, 66))
        room.receive("admin", "/mute spam 1h")
        #expect(room.closed("spam") == [])
        #expect(room.join("spam2", address: IPAddress(v4: 203, 0, 113, 66)) == [
            .send("Connected to the server", to: "spam2"),
            .send("spam2 has joined the chat!", to: "spam2"),
        ])
        #expect(room.closed("spam2") == [])
    }

    @Test func adminJoins_areNeverHeld() {
        let room = RoomDriver(configuration: Self.configuration(rate: 1, burst: 1), now: RoomDriver.wallStart)
        room.join("ann")
        #expect(room.join("bob").last == .send("bob has joined the chat!", to: "bob"))
        #expect(room.joinAdmin().last == .broadcast("An admin has joined the chat!", to: ["admin", "ann", "bob"]))
    }
}
