import ChatCore
import Testing

/// `/topic`: shown to joiners after the greeting, set by admins and the operator,
/// announced, saved, and refused to everyone else.
@Suite("Room: the topic")
struct RoomTopicTests {
    static func room(topic: Topic? = nil) -> RoomDriver {
        let room = RoomDriver(configuration: RoomDriver.configuration(), topic: topic, now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        return room
    }

    static let everyone = ["admin", "alice"]

    @Test func noTopic_isSaid_andJoinersSeeNoTopicLine() {
        let room = Self.room()
        #expect(room.receive("alice", "/topic") == [.send("No topic is set.", to: "alice")])
        #expect(room.join("bob") == [
            .send("Connected to the server", to: "bob"),
            .broadcast("bob has joined the chat!", to: ["admin", "alice", "bob"]),
        ])
    }

    @Test func adminSetsTheTopic_everyoneIsTold_itIsSaved_andJoinersSeeIt() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/topic  Release day: be kind  ") == [
            .broadcast("admin set the topic: Release day: be kind", to: Self.everyone),
            .saveState,
        ])
        #expect(room.room.topic == Topic(text: "Release day: be kind", setBy: "admin", setAt: RoomDriver.wallStart.unixSeconds))
        #expect(try #require(room.log("topic")).fields == ["chat_by": "admin", "chat_topic": "Release day: be kind"])
        #expect(room.receive("alice", "/topic") == [.send("Topic: Release day: be kind", to: "alice")])
        #expect(room.join("bob") == [
            .send("Connected to the server", to: "bob"),
            .send("Topic: Release day: be kind", to: "bob"),
            .broadcast("bob has joined the chat!", to: ["admin", "alice", "bob"]),
        ])
    }

    @Test func aMember_cannotChangeIt() {
        let room = Self.room()
        #expect(room.receive("alice", "/topic mine now") == [.send("Only an admin can change the topic.", to: "alice")])
        #expect(room.receive("alice", "/topic --clear") == [.send("Only an admin can change the topic.", to: "alice")])
        #expect(room.room.topic == nil)
        #expect(room.logs.isEmpty)
    }

    @Test func clear_removesIt_andClearingNothingIsRefused() {
        let room = Self.room(topic: Topic(text: "old", setBy: "admin", setAt: 1))
        #expect(room.receive("admin", "/topic --clear") == [.broadcast("admin cleared the topic.", to: Self.everyone), .saveState])
        #expect(room.room.topic == nil)
        #expect(room.receive("admin", "/topic --clear") == [.send("No topic is set.", to: "admin")])
    }

    @Test func tooLong_isRefused_andTheOldTopicStays() {
        let room = Self.room(topic: Topic(text: "old", setBy: "admin", setAt: 1))
        let long = String(repeating: "é", count: Topic.maximumCharacters + 1)
        #expect(room.receive("admin", "/topic " + long) == [.send("The topic is too long (at most 300 characters).", to: "admin")])
        #expect(room.room.topic?.text == "old")
        #expect(room.receive("admin", "/topic " + String(long.dropLast())).first?.text.hasSuffix("set the topic: " + String(long.dropLast())) == true)
    }

    @Test func theOperator_setsIt_andIsToldItWasDone() {
        let room = Self.room()
        #expect(room.control("topic", "Maintenance at 18:00", actor: "chatroomctl:root") == [
            .broadcast("chatroomctl:root set the topic: Maintenance at 18:00", to: Self.everyone),
            .saveState,
        ])
        #expect(room.controlSucceeded)
        #expect(room.controlReplies == ["Topic set."])
        #expect(room.control("topic") == [])
        #expect(room.controlReplies == ["Topic: Maintenance at 18:00"])
    }

    @Test func restoredTopic_isShownToJoiners() {
        let room = Self.room(topic: Topic(text: "kept across restarts", setBy: "admin", setAt: 1))
        #expect(room.join("bob").contains(.send("Topic: kept across restarts", to: "bob")))
    }
}
