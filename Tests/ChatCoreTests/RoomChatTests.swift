import ChatCore
import Testing

@Suite("Room: chat and leaving")
struct RoomChatTests {
    static func roomWithAliceBobCarol() -> RoomDriver {
        let room = RoomDriver()
        room.join("alice")
        room.join("bob")
        room.join("carol")
        return room
    }

    @Test func chat_goesToEveryMemberIncludingSender_prefixedWithNick() {
        let room = Self.roomWithAliceBobCarol()
        #expect(room.receive("bob", "hello everyone") == [
            .broadcast("bob: hello everyone", to: ["alice", "bob", "carol"]),
        ])
    }

    @Test func chat_keepsOrderAcrossSeveralMessagesAndSenders() {
        let room = Self.roomWithAliceBobCarol()
        let script = [("alice", "one"), ("bob", "two"), ("alice", "three"), ("carol", "four"), ("alice", "five")]
        let outs = script.flatMap { room.receive($0.0, $0.1) }
        let everyone = ["alice", "bob", "carol"]
        #expect(outs == [
            .broadcast("alice: one", to: everyone),
            .broadcast("bob: two", to: everyone),
            .broadcast("alice: three", to: everyone),
            .broadcast("carol: four", to: everyone),
            .broadcast("alice: five", to: everyone),
        ])
    }

    @Test(arguments: [
        "héllo wörld 🌍 日本語",
        "/",                       // a lone slash is chat
        "/ not a command",         // so is a slash followed by a space
        "/\u{A0}nbsp",             // ...or by any other whitespace
        "!DC please",              // only exactly !DC leaves
        "!dc",
        " !DC",
        "NICK:mallory",            // greetings mean nothing once joined
        "admin:secret",
        "a\tb",
        String(repeating: "z", count: 5000),
    ])
    func chat_relaysAnyOtherTextVerbatim(text: String) {
        let room = RoomDriver()
        room.join("alice")
        room.join("bob")
        #expect(room.receive("alice", text) == [.broadcast("alice: \(text)", to: ["alice", "bob"])])
        #expect(room.memberNicks == ["alice", "bob"])
    }

    @Test func emptyChatFrame_isIgnored() {
        let room = RoomDriver()
        room.join("alice")
        #expect(room.receive("alice", "") == [])
        #expect(room.memberNicks == ["alice"])
    }

    @Test func disconnectCommand_closesSender_andTellsTheRest() {
        let room = Self.roomWithAliceBobCarol()
        #expect(room.receive("alice", "!DC") == [
            .close("alice"),
            .broadcast("[CLIENT DISCONNECT - alice]", to: ["bob", "carol"]),
        ])
        #expect(room.closeReasons == ["alice": "left with !DC"])
        #expect(room.memberNicks == ["bob", "carol"])
        // The daemon reports the close afterwards: that must not announce a second leave.
        #expect(room.closed("alice") == [])
        #expect(room.receive("alice", "ghost") == [])
        #expect(room.receive("bob", "hi") == [.broadcast("bob: hi", to: ["bob", "carol"])])
    }

    @Test func lastMemberLeaving_broadcastsToNobody() {
        let room = RoomDriver()
        room.join("alice")
        #expect(room.receive("alice", "!DC") == [.close("alice")])
        #expect(room.room.memberCount == 0)
    }

    @Test func closedConnection_announcesLeaveToTheRest_once() {
        let room = Self.roomWithAliceBobCarol()
        #expect(room.closed("bob") == [.broadcast("[CLIENT DISCONNECT - bob]", to: ["alice", "carol"])])
        #expect(room.closed("bob") == [], "closing is idempotent")
        #expect(room.memberNicks == ["alice", "carol"])
    }

    @Test func closedConnection_thatNeverJoined_producesNothing() {
        let room = RoomDriver()
        room.join("alice")
        room.open("greeter")
        #expect(room.closed("greeter") == [])
        #expect(room.logs.isEmpty)
        #expect(room.memberNicks == ["alice"])
        // The greeter is forgotten: shutdown has no connection of its left to close.
        #expect(room.shutdown() == [.broadcast("Server is shutting down.", to: ["alice"]), .close("alice")])
        // A connection the Room never saw at all is ignored too.
        var effects: [RoomEffect] = []
        room.room.connectionClosed(ClientID(999), reason: "x", now: .zero, effects: &effects)
        room.room.protocolViolation(ClientID(999), description: "x", now: .zero, effects: &effects)
        #expect(effects.isEmpty)
    }

    @Test func membership_staysConsistent_throughManyJoinsAndLeavesInAnyOrder() {
        // Members leave from the middle of the broadcast list (which the Room compacts by
        // swapping); every broadcast must still reach exactly the members present.
        let room = RoomDriver()
        room.joinAdmin()
        var present: Set<String> = ["admin"]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        let names = (0..<10).map { "user\($0)" }
        for step in 0..<300 {
            let name = names[next(names.count)]
            if present.contains(name) {
                switch next(3) {
                case 0: room.receive(name, "!DC")
                case 1: room.closed(name)
                default: room.receive("admin", "/kick \(name)")
                }
                present.remove(name)
            } else {
                room.join(name)
                present.insert(name)
            }
            #expect(room.memberLabels == present.sorted(), "step \(step)")
            let speaker = present.sorted()[next(present.count)]
            #expect(room.receive(speaker, "step \(step)") == [
                .broadcast("\(speaker): step \(step)", to: present.sorted()),
            ], "step \(step)")
        }
    }

    @Test func relayedMessageCount_countsEachRelayedLineOnce() {
        let room = RoomDriver()
        #expect(room.room.relayedMessageCount == 0)
        room.join("alice")
        room.join("bob")
        room.receive("alice", "one")
        room.receive("bob", "two")
        room.receive("alice", "/\u{A0}three")
        #expect(room.room.relayedMessageCount == 3)
        // Joins, empty frames, commands and leaving are not chat lines.
        room.receive("alice", "")
        room.receive("alice", "/kick bob")
        room.receive("bob", "!DC")
        #expect(room.room.relayedMessageCount == 3)
    }
}
