import ChatCore
import Testing

@Suite("Room: /kick and /ban")
struct RoomCommandTests {
    /// The admin, alice and bob, each on an address of its own.
    static func room() -> RoomDriver {
        let room = RoomDriver()
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        return room
    }

    @Test func kick_byAdmin_tellsTarget_closesIt_andTellsTheRest() {
        let room = Self.room()
        #expect(room.receive("admin", "/kick alice") == [
            .send("You have been kicked by an admin.", to: "alice"),
            .close("alice"),
            .broadcast("alice has been kicked from the server.", to: ["admin", "bob"]),
        ])
        #expect(room.closeReasons == ["alice": "kicked by admin"])
        #expect(room.memberNicks == ["admin", "bob"])
        #expect(room.room.banCount == 0)
        // The daemon's later close report must not add a leave message.
        #expect(room.closed("alice") == [])
        #expect(room.receive("alice", "still here?") == [])
    }

    @Test func kickedUser_mayRejoinFromTheSameAddress() {
        let room = Self.room()
        let address = room.address("alice")
        room.receive("admin", "/kick alice")
        #expect(room.open("alice", address: address) == [])
        #expect(room.receive("alice", "NICK:alice") == [
            .send("Connected to the server", to: "alice"),
            .broadcast("alice has joined the chat!", to: ["admin", "alice", "bob"]),
        ])
    }

    @Test func ban_byAdmin_savesTheBanList_tellsTarget_closesIt_andTellsTheRest() {
        let room = Self.room()
        #expect(room.receive("admin", "/ban alice") == [
            .saveState,
            .send("You have been banned by an admin.", to: "alice"),
            .close("alice"),
            .broadcast("alice has been banned from the server.", to: ["admin", "bob"]),
        ])
        #expect(room.closeReasons == ["alice": "banned by admin"])
        #expect(room.memberNicks == ["admin", "bob"])
        #expect(room.closed("alice") == [])
    }

    @Test func ban_blocksTheTargetsAddress_notTheAdmins() {
        let room = Self.room()
        room.receive("admin", "/ban alice")
        #expect(room.room.banCount == 1)
        #expect(room.isBanned(room.address("alice")))
        #expect(!room.isBanned(room.address("admin")))
        #expect(!room.isBanned(room.address("bob")))

        #expect(room.open("alice", address: room.address("alice")) == [
            .send("You are banned from this server.", to: "alice"),
            .close("alice"),
        ])
        // Someone else, from another address, still gets in, and the admin keeps chatting.
        #expect(room.join("carol") == [
            .send("Connected to the server", to: "carol"),
            .broadcast("carol has joined the chat!", to: ["admin", "bob", "carol"]),
        ])
        #expect(room.receive("admin", "order restored") == [
            .broadcast("admin: order restored", to: ["admin", "bob", "carol"]),
        ])
    }

    @Test func ban_ofIPv4Address_alsoRefusesItsIPv4MappedIPv6Form() {
        let room = RoomDriver()
        room.joinAdmin()
        room.join("alice", address: IPAddress(v4: 192, 0, 2, 7))
        room.receive("admin", "/ban alice")
        let mapped = IPAddress(ipv6Bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 7])
        #expect(room.open("sneaky", address: mapped) == [
            .send("You are banned from this server.", to: "sneaky"),
            .close("sneaky"),
        ])
    }

    @Test(arguments: ["/kick ALICE", "/KICK alice", "/Kick   Alice  ", "/kick\talice"])
    func kick_findsTargetIgnoringCaseAndSpacing(command: String) {
        let room = Self.room()
        #expect(room.receive("admin", command) == [
            .send("You have been kicked by an admin.", to: "alice"),
            .close("alice"),
            .broadcast("alice has been kicked from the server.", to: ["admin", "bob"]),
        ])
    }

    static let adminMistakes: [(String, String)] = [
        ("/kick", "Usage: /kick <nick> [reason]"),
        ("/ban", "Usage: /ban <nick|address|cidr> [duration] [--purge] [reason]"),
        ("/kick    ", "Usage: /kick <nick> [reason]"),
        ("/kick nobody", "No member is called nobody."),
        ("/ban nobody", "nobody is neither a member's nickname nor an IP address or CIDR range."),
        ("/ban 10.0.0.300", "10.0.0.300 is neither a member's nickname nor an IP address or CIDR range."),
        ("/kick greeter", "No member is called greeter."),
        ("/kick admin", "You cannot /kick yourself."),
        ("/ban ADMIN", "You cannot /ban yourself."),
        ("/foo", "Unknown command /foo. Type /help for the list."),
        ("/quit", "Unknown command /quit. Type /help for the list."),
    ]

    @Test(arguments: adminMistakes)
    func adminCommandMistake_repliesOnlyToTheAdmin_andChangesNothing(command: String, reply: String) {
        let room = Self.room()
        room.open("greeter")
        #expect(room.receive("admin", command) == [.send(reply, to: "admin")])
        #expect(room.memberNicks == ["admin", "alice", "bob"])
        #expect(room.room.banCount == 0)
        #expect(room.logs.isEmpty)
    }

    static let memberAttempts: [(String, String)] = [
        ("/kick bob", "Only an admin can use /kick."),
        ("/ban bob", "Only an admin can use /ban."),
        ("/KICK admin", "Only an admin can use /kick."),
        ("/kick", "Only an admin can use /kick."),
        ("/ban alice", "Only an admin can use /ban."),
        ("/mute bob", "Only an admin can use /mute."),
        ("/slowmode 5", "Only an admin can use /slowmode."),
        ("/bans", "Only an admin can use /bans."),
        ("/frobnicate", "Unknown command /frobnicate. Type /help for the list."),
    ]

    @Test(arguments: memberAttempts)
    func nonAdminCommand_isRefusedToTheSenderOnly(command: String, reply: String) {
        let room = Self.room()
        #expect(room.receive("alice", command) == [.send(reply, to: "alice")])
        #expect(room.memberNicks == ["admin", "alice", "bob"])
        #expect(room.room.banCount == 0)
    }

    @Test func nickNamedLikeACommand_cannotGainAdminRights() {
        let room = RoomDriver()
        room.join("alice")
        room.join("bob", nick: "Admin_")
        #expect(room.receive("bob", "/kick alice") == [.send("Only an admin can use /kick.", to: "bob")])
    }

    @Test func ban_ofSomeoneOnTheAdminsOwnAddress_isRefused() {
        let room = RoomDriver()
        let shared = IPAddress(v4: 203, 0, 113, 9)
        room.joinAdmin(address: shared)
        room.join("alice", address: shared)
        room.join("bob")
        #expect(room.receive("admin", "/ban alice") == [
            .send("alice connects from your own address; banning it would lock you out too.", to: "admin"),
        ])
        #expect(room.room.banCount == 0)
        #expect(room.memberNicks == ["admin", "alice", "bob"])
        // Kicking from a shared address is fine: nobody is locked out.
        #expect(room.receive("admin", "/kick alice") == [
            .send("You have been kicked by an admin.", to: "alice"),
            .close("alice"),
            .broadcast("alice has been kicked from the server.", to: ["admin", "bob"]),
        ])
    }

    @Test func kickAndBan_logTargetAdminAndAddress() {
        let room = Self.room()
        room.receive("admin", "/kick alice")
        #expect(room.logs.count == 1)
        let kick = room.logs[0]
        #expect(kick.event == "kick")
        #expect(kick.level == .notice)
        #expect(kick.fields == ["chat_target": "alice", "chat_by": "admin", "chat_peer": "10.0.0.2:40002"])

        room.receive("admin", "/ban bob")
        #expect(room.logs.count == 1)
        let ban = room.logs[0]
        #expect(ban.event == "ban")
        #expect(ban.level == .notice)
        #expect(ban.fields == ["chat_target": "bob", "chat_by": "admin", "chat_peer": "10.0.0.3:40003",
                               "chat_address": "10.0.0.3", "chat_kind": "ban", "chat_duration": "permanent"])
        #expect(ban.message == "bob (10.0.0.3) was banned by admin")
    }

    @Test func refusedBan_doesNotAskForTheBanListToBeSaved() {
        let room = Self.room()
        for command in ["/ban", "/ban nobody", "/ban admin"] {
            #expect(!room.receive("admin", command).contains(.saveState), "\(command)")
        }
        #expect(!room.receive("alice", "/ban bob").contains(.saveState))
        #expect(!room.receive("admin", "/kick bob").contains(.saveState))
    }

    @Test func bansRestoredAtStart_refuseThoseAddresses() {
        let banned = IPAddress(v4: 198, 51, 100, 1)
        let room = RoomDriver(bannedAddresses: [banned])
        #expect(room.room.banCount == 1)
        #expect(room.isBanned(banned))
        #expect(room.open("returning", address: banned) == [
            .send("You are banned from this server.", to: "returning"),
            .close("returning"),
        ])
        #expect(room.join("fresh", address: IPAddress(v4: 198, 51, 100, 2)) == [
            .send("Connected to the server", to: "fresh"),
            .broadcast("fresh has joined the chat!", to: ["fresh"]),
        ])
    }

    @Test func bans_areListedInTheOrderTheyWereSet() {
        let room = Self.room()
        room.join("carol")
        room.receive("admin", "/ban bob")
        room.receive("admin", "/ban alice")
        #expect(room.room.bans.map(\.range) == [IPRange(room.address("bob")), IPRange(room.address("alice"))])
        #expect(room.room.bans.map(\.nick) == ["bob", "alice"])
    }
}
