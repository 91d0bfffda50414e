import ChatCore
import Testing

/// The commands every member has: `/help`, `/who`, `/msg`, `/me`, `/nick`.
@Suite("Room: member commands")
struct RoomMemberCommandTests {
    /// alice, bob and carol, at `RoomDriver.wallStart`.
    static func room(_ configuration: Room.Configuration = RoomDriver.configuration()) -> RoomDriver {
        let room = RoomDriver(configuration: configuration, now: RoomDriver.wallStart)
        room.join("alice")
        room.join("bob")
        room.join("carol")
        return room
    }

    static let everyoneHelp = [
        "Commands:",
        "  /help                     this list",
        "  /who                      who is here ([admin], [muted] marked)",
        "  /msg <nick> <text>        a private message",
        "  /me <action>              * you do something",
        "  /nick <new>               change your nickname",
        "  /login <account> <password>   become an admin",
        "  /limits                   how long and how fast your lines may be",
        "  /topic [<text>|--clear]   show the topic; admins set or clear it",
        "  !DC                       leave",
    ]
    static let adminHelp = [
        "Admin commands:",
        "  /kick <nick> [reason]     disconnect a member",
        "  /ban <nick|address|cidr> [duration] [--purge] [reason]   ban and disconnect; durations 30s 10m 2h 7d, none = permanent",
        "  /unban <address|cidr|nick>   lift a ban",
        "  /bans                     bans and mutes with time left",
        "  /mute <nick> [duration] [reason]   silence a member",
        "  /unmute <nick>            lift a mute",
        "  /slowmode <seconds|off>   one message per member per interval",
        "  /say <text>               a server notice to the room",
    ]

    // MARK: /help

    @Test(arguments: ["/help", "/HELP", "/help ban", "/Help  me please"])
    func help_listsTheCommandsOneLineAFrame_toTheAskerOnly(command: String) {
        let room = Self.room()
        #expect(room.receive("alice", command) == Self.everyoneHelp.map { Out.send($0, to: "alice") })
        #expect(room.logs.isEmpty)
    }

    @Test func help_forAnAdmin_addsTheAdminCommands() {
        let room = Self.room()
        room.joinAdmin()
        #expect(room.receive("admin", "/help") == (Self.everyoneHelp + Self.adminHelp).map { Out.send($0, to: "admin") })
    }

    // MARK: /who

    @Test func who_listsMembersSortedIgnoringCase_markingAdminsAndMutes() {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.join("zed", nick: "Zed")
        room.join("bob")
        room.joinAdmin()
        room.join("alice", nick: "Alice")
        room.join("emile", nick: "émile")
        room.open("greeter")
        room.receive("admin", "/mute bob 5m")
        #expect(room.receive("alice", "/who") == [
            .send("5 members: admin [admin], Alice, bob [muted], Zed, émile", to: "alice"),
        ])
        room.control("mute", "admin")
        #expect(room.receive("zed", "/WHO anything") == [
            .send("5 members: admin [admin] [muted], Alice, bob [muted], Zed, émile", to: "zed"),
        ])
        #expect(room.logs.isEmpty)
    }

    @Test func who_aloneInTheRoom_countsOneMember() {
        let room = RoomDriver()
        room.join("alice")
        #expect(room.receive("alice", "/who") == [.send("1 member: alice", to: "alice")])
    }

    // MARK: /msg

    @Test func msg_goesToTheTargetOnly_withAnEchoToTheSender() {
        let room = Self.room()
        #expect(room.receive("alice", "/msg bob hello there") == [
            .send("[PM from alice] hello there", to: "bob"),
            .send("[PM to bob] hello there", to: "alice"),
        ])
        #expect(room.logs.isEmpty, "private messages are not logged")
        #expect(room.room.relayedMessageCount == 0)
        #expect(room.room.history.count == 0, "nor kept as history")
    }

    @Test func msg_findsTheTargetIgnoringCase_andKeepsTheTextAsTyped() {
        let room = Self.room()
        #expect(room.receive("alice", "/MSG   BOB  hi   there  ") == [
            .send("[PM from alice] hi   there  ", to: "bob"),
            .send("[PM to bob] hi   there  ", to: "alice"),
        ])
    }

    @Test(arguments: [
        ("/msg", "Usage: /msg <nick> <text>"),
        ("/msg bob", "Usage: /msg <nick> <text>"),
        ("/msg bob    ", "Usage: /msg <nick> <text>"),
        ("/msg nobody hi", "No member is called nobody."),
        ("/msg greeter hi", "No member is called greeter."),
        ("/msg alice hi", "You cannot send a private message to yourself."),
        ("/msg ALICE hi", "You cannot send a private message to yourself."),
    ])
    func msgMistake_isToldToTheSenderOnly(command: String, reply: String) {
        let room = Self.room()
        room.open("greeter")
        #expect(room.receive("alice", command) == [.send(reply, to: "alice")])
    }

    @Test func msg_whileMuted_isRefused_butAMutedMemberStillReceives() {
        let room = Self.room()
        room.control("mute", "alice 5m")
        #expect(room.receive("alice", "/msg bob psst") == [.send("You are muted for 5m.", to: "alice")])
        #expect(room.receive("alice", "/msg nobody psst") == [.send("You are muted for 5m.", to: "alice")])
        #expect(room.receive("alice", "/msg bob") == [.send("Usage: /msg <nick> <text>", to: "alice")], "usage is checked first")
        #expect(room.receive("bob", "/msg alice are you ok?") == [
            .send("[PM from bob] are you ok?", to: "alice"),
            .send("[PM to alice] are you ok?", to: "bob"),
        ])
    }

    // MARK: /me

    @Test func me_broadcastsAnAction_andKeepsItAsHistory() {
        let room = Self.room()
        #expect(room.receive("alice", "/me waves") == [.broadcast("* alice waves", to: ["alice", "bob", "carol"])])
        #expect(room.receive("bob", "/ME  waves  back ") == [.broadcast("* bob waves  back ", to: ["alice", "bob", "carol"])])
        #expect(room.room.relayedMessageCount == 2)
        #expect(room.room.history.entries.map(\.text) == ["* alice waves", "* bob waves  back "])
    }

    @Test(arguments: ["/me", "/me   ", "/ME\t"])
    func me_withoutAnAction_isAUsageError(command: String) {
        let room = Self.room()
        #expect(room.receive("alice", command) == [.send("Usage: /me <action>", to: "alice")])
        #expect(room.room.relayedMessageCount == 0)
    }

    @Test func me_isLoggedAtDebug_onlyWhenBodiesAreLogged() throws {
        let room = RoomDriver(logMessageBodies: true)
        room.join("alice")
        room.receive("alice", "/me waves")
        let record = try #require(room.log("message"))
        #expect(record.level == .debug)
        #expect(record.message == "* alice waves")
        #expect(record.fields == ["chat_nick": "alice", "chat_peer": "10.0.0.1:40001"])
    }

    // MARK: /nick

    @Test func nick_renames_announcesToEveryone_logs_andFreesTheOldNick() throws {
        let room = Self.room()
        #expect(room.receive("alice", "/nick   alicia  ") == [
            .broadcast("alice is now known as alicia.", to: ["alice", "bob", "carol"]),
        ])
        let record = try #require(room.log("nick"))
        #expect(record.level == .info)
        #expect(record.message == "alice is now known as alicia")
        #expect(record.fields == ["chat_nick": "alicia", "chat_old_nick": "alice", "chat_peer": "10.0.0.1:40001"])
        #expect(room.memberNicks == ["alicia", "bob", "carol"])
        #expect(room.receive("alice", "hi") == [.broadcast("alicia: hi", to: ["alice", "bob", "carol"])])
        #expect(room.receive("bob", "/msg Alicia yo") == [
            .send("[PM from bob] yo", to: "alice"), .send("[PM to alicia] yo", to: "bob"),
        ])
        #expect(room.receive("bob", "/msg alice yo") == [.send("No member is called alice.", to: "bob")])
        #expect(room.join("newAlice", nick: "alice") == [
            .send("Connected to the server", to: "newAlice"),
            .send("[history 22:13:20Z] alicia: hi", to: "newAlice"),
            .broadcast("alice has joined the chat!", to: ["alice", "bob", "carol", "newAlice"]),
        ])
        #expect(room.receive("alice", "/nick alice") == [
            .send("The nickname alice is already in use. Choose another one.", to: "alice"),
        ])
    }

    static let invalidNickTail = ". Use up to 32 bytes with at least one letter or digit, and no spaces."

    static let refusedNicks: [(String, String)] = [
        ("/nick", "Usage: /nick <new>"),
        ("/nick    ", "Usage: /nick <new>"),
        ("/nick bob", "The nickname bob is already in use. Choose another one."),
        ("/nick BOB", "The nickname BOB is already in use. Choose another one."),
        ("/nick admin", "The nickname admin is reserved. Log in with admin:<password> instead."),
        ("/nick ADMIN", "The nickname admin is reserved. Log in with admin:<password> instead."),
        ("/nick a b", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("/nick a\u{200B}b", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("/nick a\u{1B}[31mb", "Invalid nickname: it contains spaces or control characters" + invalidNickTail),
        ("/nick !!!", "Invalid nickname: it needs at least one letter or digit" + invalidNickTail),
        ("/nick " + String(repeating: "x", count: 33), "Invalid nickname: it is longer than 32 bytes" + invalidNickTail),
        ("/nick " + String(repeating: "é", count: 17), "Invalid nickname: it is longer than 32 bytes" + invalidNickTail),
    ]

    @Test(arguments: refusedNicks)
    func nick_refusedLikeAJoinNick_toTheSenderOnly(command: String, reply: String) {
        let room = Self.room()
        #expect(room.receive("alice", command) == [.send(reply, to: "alice")])
        #expect(room.logs.isEmpty)
        #expect(room.memberNicks == ["alice", "bob", "carol"])
    }

    @Test func nick_toTheAdminNick_isRefusedEvenWhenTheAdminIsAway_butInUseWhenPresent() {
        let room = Self.room()
        #expect(room.receive("alice", "/nick Admin") == [
            .send("The nickname admin is reserved. Log in with admin:<password> instead.", to: "alice"),
        ])
        room.joinAdmin()
        #expect(room.receive("alice", "/nick admin") == [
            .send("The nickname admin is reserved. Log in with admin:<password> instead.", to: "alice"),
        ])
    }

    @Test func nick_changingOnlyTheCase_isAllowed_andTheSameNickDoesNothing() {
        let room = Self.room()
        #expect(room.receive("alice", "/nick ALICE") == [
            .broadcast("alice is now known as ALICE.", to: ["alice", "bob", "carol"]),
        ])
        #expect(room.receive("alice", "/nick ALICE") == [])
        #expect(room.logs.isEmpty)
        #expect(room.memberNicks == ["ALICE", "bob", "carol"])
    }

    @Test func admin_mayRename_andTheAdminNickIsThenFreeForAnotherAdminLogin() {
        let room = Self.room()
        room.joinAdmin()
        #expect(room.receive("admin", "/nick boss") == [
            .broadcast("admin is now known as boss.", to: ["admin", "alice", "bob", "carol"]),
        ])
        #expect(room.receive("admin", "/who") == [.send("4 members: alice, bob, boss [admin], carol", to: "admin")])
        #expect(room.receive("admin", "/kick carol") == [
            .send("You have been kicked by an admin.", to: "carol"),
            .close("carol"),
            .broadcast("carol has been kicked from the server.", to: ["admin", "alice", "bob"]),
        ])
        #expect(room.join("impostor", nick: "admin") == [
            .send("The nickname admin is reserved. Log in with admin:<password> instead.", to: "impostor"),
            .close("impostor"),
        ])
        #expect(room.joinAdmin("admin2") == [
            .send("Connected to the server", to: "admin2"),
            .broadcast("An admin has joined the chat!", to: ["admin", "admin2", "alice", "bob"]),
        ])
        #expect(room.receive("admin", "/nick admin") == [
            .send("The nickname admin is already in use. Choose another one.", to: "admin"),
        ])
    }
}
