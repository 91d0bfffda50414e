import ChatCore
import Testing

@Suite("Room: joining")
struct RoomJoinTests {
    static let connected = "Connected to the server"

    @Test func join_greetsNewcomer_andAnnouncesToEveryoneIncludingNewcomer() {
        let room = RoomDriver()
        #expect(room.open("alice") == [])
        #expect(room.receive("alice", "NICK:alice") == [
            .send(Self.connected, to: "alice"),
            .broadcast("alice has joined the chat!", to: ["alice"]),
        ])
        #expect(room.join("bob") == [
            .send(Self.connected, to: "bob"),
            .broadcast("bob has joined the chat!", to: ["alice", "bob"]),
        ])
        #expect(room.join("carol", nick: "Zoë") == [
            .send(Self.connected, to: "carol"),
            .broadcast("Zoë has joined the chat!", to: ["alice", "bob", "carol"]),
        ])
        #expect(room.memberNicks == ["Zoë", "alice", "bob"])
        #expect(room.room.memberCount == 3)
        #expect(room.room.nick(of: room.id("carol")) == "Zoë")
    }

    @Test func greetingConnection_isNotAMember_andHearsNoBroadcasts() {
        let room = RoomDriver()
        room.join("alice")
        room.open("lurker")
        #expect(room.room.nick(of: room.id("lurker")) == nil)
        #expect(room.receive("alice", "hi") == [.broadcast("alice: hi", to: ["alice"])])
        // What the lurker missed reaches it as history once it joins, not live.
        #expect(room.join("bob") == [
            .send(Self.connected, to: "bob"),
            .send("[history 00:00:00Z] alice: hi", to: "bob"),
            .broadcast("bob has joined the chat!", to: ["alice", "bob"]),
        ])
    }

    @Test func nickOfExactlyThirtyTwoBytes_isAccepted() {
        let room = RoomDriver()
        let nick = String(repeating: "n", count: 32)
        #expect(room.join("long", nick: nick) == [
            .send(Self.connected, to: "long"),
            .broadcast("\(nick) has joined the chat!", to: ["long"]),
        ])
    }

    @Test func adminLogin_withRightPassword_joinsAsAdminAndAnnouncesAnonymously() {
        let room = RoomDriver()
        room.join("alice")
        #expect(room.joinAdmin() == [
            .send(Self.connected, to: "admin"),
            .broadcast("An admin has joined the chat!", to: ["admin", "alice"]),
        ])
        #expect(room.room.nick(of: room.id("admin")) == "admin")
        #expect(room.receive("admin", "hello all") == [.broadcast("admin: hello all", to: ["admin", "alice"])])
    }

    @Test func adminLogin_withWrongPassword_isRefusedAndClosed() {
        let room = RoomDriver()
        room.join("alice")
        #expect(room.joinAdmin("mallory", password: "guess") == [
            .send("Incorrect password.", to: "mallory"),
            .close("mallory"),
        ])
        #expect(room.memberNicks == ["alice"])
        // The refused connection is forgotten: nothing it does afterwards has any effect.
        #expect(room.receive("mallory", "admin:secret") == [])
        #expect(room.closed("mallory") == [])
    }

    @Test(arguments: ["", "SECRET", "secret ", " secret", "secret\n"])
    func adminLogin_refusesNearMissPasswords(password: String) {
        let room = RoomDriver()
        #expect(room.joinAdmin("mallory", password: password) == [
            .send("Incorrect password.", to: "mallory"), .close("mallory"),
        ])
    }

    @Test(arguments: ["secret", "", "anything"])
    func adminLogin_withoutConfiguredHash_isDisabled(password: String) {
        let room = RoomDriver(adminPassword: nil)
        room.join("alice")
        #expect(room.joinAdmin(password: password) == [
            .send("Admin login is disabled on this server (no admin password hash is configured).", to: "admin"),
            .close("admin"),
        ])
        #expect(room.memberNicks == ["alice"])
    }

    @Test func secondAdminLogin_isRefusedBecauseTheNickIsTaken() {
        let room = RoomDriver()
        room.joinAdmin()
        #expect(room.joinAdmin("admin2") == [
            .send("The nickname admin is already in use. Choose another one.", to: "admin2"),
            .close("admin2"),
        ])
        #expect(room.memberNicks == ["admin"])
    }

    @Test(arguments: ["Alice", "alice", "ALICE", "aLiCe"])
    func duplicateNick_isRefusedIgnoringCase(nick: String) {
        let room = RoomDriver()
        room.join("alice", nick: "alice")
        #expect(room.join("other", nick: nick) == [
            .send("The nickname \(nick) is already in use. Choose another one.", to: "other"),
            .close("other"),
        ])
        #expect(room.memberNicks == ["alice"])
        #expect(room.receive("alice", "still here") == [.broadcast("alice: still here", to: ["alice"])])
    }

    @Test func nick_becomesFreeAgain_onceItsOwnerLeaves() {
        let room = RoomDriver()
        room.join("alice")
        room.receive("alice", "!DC")
        #expect(room.join("again", nick: "Alice") == [
            .send(Self.connected, to: "again"),
            .broadcast("Alice has joined the chat!", to: ["again"]),
        ])
    }

    static let invalidNickTail = ". Use up to 32 bytes with at least one letter or digit, and no spaces."

    static let refusedGreetings: [(String, String)] = [
        ("NICK:", "Invalid nickname: it is empty" + invalidNickTail),
        ("NICK:" + String(repeating: "a", count: 33), "Invalid nickname: it is longer than 32 bytes" + invalidNickTail),
        ("NICK:" + String(repeating: "é", count: 17), "Invalid nickname: it is longer than 32 bytes" + invalidNickTail),
        ("NICK:a b", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("NICK: alice", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("NICK:a\tb", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("NICK:a\u{1B}[31mb", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("NICK:a\u{0}b", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("NICK:bob\n", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("NICK:!!!", "Invalid nickname: it needs at least one letter or digit" + invalidNickTail),
        ("NICK:admin", "The nickname admin is reserved. Log in with admin:<password> instead."),
        ("NICK:ADMIN", "The nickname admin is reserved. Log in with admin:<password> instead."),
        ("NICK:Admin", "The nickname admin is reserved. Log in with admin:<password> instead."),
        ("hello", "Expected NICK:<nickname> or admin:<password> as the first message."),
        ("", "Expected NICK:<nickname> or admin:<password> as the first message."),
        ("nick:bob", "Expected NICK:<nickname> or admin:<password> as the first message."),
        ("NICK bob", "Expected NICK:<nickname> or admin:<password> as the first message."),
        ("Admin:secret", "Expected NICK:<nickname> or admin:<password> as the first message."),
        ("!DC", "Expected NICK:<nickname> or admin:<password> as the first message."),
        ("/kick alice", "Expected NICK:<nickname> or admin:<password> as the first message."),
    ]

    @Test(arguments: refusedGreetings)
    func badGreeting_isRefusedWithExplanation_andClosed_withoutDisturbingTheRoom(greeting: String, reply: String) {
        let room = RoomDriver()
        room.join("alice")
        room.open("x")
        #expect(room.receive("x", greeting) == [.send(reply, to: "x"), .close("x")])
        #expect(room.logs.map(\.event) == ["join-refused"])
        #expect(room.memberNicks == ["alice"])
        #expect(room.receive("x", "NICK:bob") == [], "a refused connection is forgotten")
        #expect(room.closed("x") == [])
    }

    @Test func connectionFromBannedAddress_isToldAndClosed_beforeItCanGreet() {
        let room = RoomDriver()
        room.joinAdmin()
        room.join("bob")
        room.receive("admin", "/ban bob")
        #expect(room.open("bob-again", address: room.address("bob")) == [
            .send("You are banned from this server.", to: "bob-again"),
            .close("bob-again"),
        ])
        #expect(room.logs.map(\.event) == ["banned-connection-refused"])
        #expect(room.receive("bob-again", "NICK:bob") == [])
        #expect(room.closed("bob-again") == [])
        #expect(room.memberNicks == ["admin"])
    }
}
