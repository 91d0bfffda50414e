import ChatCore
import Testing

/// Bans, mutes, their expiry, `/bans`, `/unban`, `/unmute`, `/kick` with reasons, `/say`,
/// and the same commands from the operator (`Room.control`).
@Suite("Room: sanctions")
struct RoomSanctionTests {
    /// The wall clock at the start of every test here.
    static let t0: Int64 = 1_700_000_000

    /// The admin (10.0.0.1), alice (10.0.0.2) and bob (10.0.0.3), at `RoomDriver.wallStart`.
    static func room(_ configuration: Room.Configuration = RoomDriver.configuration()) -> RoomDriver {
        let room = RoomDriver(configuration: configuration, now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        return room
    }

    // MARK: Bans

    @Test func timedBan_ofAMember_disconnectsIt_refusesItsAddress_andExpiresOnTick() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/ban alice 10m spamming links") == [
            .saveState,
            .send("You have been banned by an admin for 10m. Reason: spamming links", to: "alice"),
            .close("alice"),
            .broadcast("alice has been banned from the server for 10m. Reason: spamming links", to: ["admin", "bob"]),
        ])
        #expect(room.closeReasons == ["alice": "banned by admin: spamming links"])
        #expect(room.logEvents == ["ban"])
        let ban = try #require(room.log("ban"))
        #expect(ban.level == .notice)
        #expect(ban.message == "alice (10.0.0.2) was banned by admin for 10m: spamming links")
        #expect(ban.fields == [
            "chat_by": "admin", "chat_target": "alice", "chat_address": "10.0.0.2", "chat_kind": "ban",
            "chat_reason": "spamming links", "chat_duration": "600", "chat_expires": "\(Self.t0 + 600)",
            "chat_peer": "10.0.0.2:40002",
        ])
        #expect(room.memberNicks == ["admin", "bob"])
        #expect(room.closed("alice") == [], "the daemon's close report adds nothing")

        // One second before expiry: still refused, and the tick has nothing to do.
        room.advance(599)
        #expect(room.open("alice", address: ip("10.0.0.2")) == [
            .send("You are banned from this server.", to: "alice"),
            .close("alice"),
        ])
        #expect(room.closeReasons == ["alice": "address is banned"])
        let refused = try #require(room.log("banned-connection-refused"))
        #expect(refused.fields == ["chat_peer": room.peer("alice"), "chat_address": "10.0.0.2"])
        #expect(room.tick() == [])
        #expect(room.logs.isEmpty)

        // At expiry: announced to the room, logged, saved.
        room.advance(1)
        #expect(room.tick() == [
            .broadcast("The ban on alice has expired.", to: ["admin", "bob"]),
            .saveState,
        ])
        let expired = try #require(room.log("ban-expired"))
        #expect(expired.level == .notice)
        #expect(expired.message == "The ban on alice (10.0.0.2) expired")
        #expect(expired.fields == [
            "chat_by": "expiry", "chat_target": "alice", "chat_address": "10.0.0.2", "chat_kind": "ban",
            "chat_reason": "spamming links", "chat_duration": "600", "chat_expires": "\(Self.t0 + 600)",
        ])
        #expect(room.room.banCount == 0)
        #expect(room.tick() == [], "expiry is announced once")
        #expect(room.join("alice", address: ip("10.0.0.2")) == [
            .send("Connected to the server", to: "alice"),
            .broadcast("alice has joined the chat!", to: ["admin", "alice", "bob"]),
        ])
    }

    @Test func expiredBan_admitsTheAddress_evenBeforeTheTickAnnouncesIt() {
        let room = Self.room()
        room.receive("admin", "/ban alice 30s")
        room.advance(30)
        #expect(room.join("alice", address: ip("10.0.0.2")) == [
            .send("Connected to the server", to: "alice"),
            .broadcast("alice has joined the chat!", to: ["admin", "alice", "bob"]),
        ])
        #expect(room.tick() == [
            .broadcast("The ban on alice has expired.", to: ["admin", "alice", "bob"]),
            .saveState,
        ])
    }

    /// `/ban alice <rest>`: what alice is told, what the room is told, and the log's
    /// duration, reason and purge count.
    static let banArguments: [(String, String, String, String, String?, String?)] = [
        ("", "You have been banned by an admin.", "alice has been banned from the server.", "permanent", nil, nil),
        (" 30s", "You have been banned by an admin for 30s.", "alice has been banned from the server for 30s.", "30", nil, nil),
        (" 90", "You have been banned by an admin for 1m 30s.", "alice has been banned from the server for 1m 30s.", "90", nil, nil),
        (" 1h30m", "You have been banned by an admin for 1h 30m.", "alice has been banned from the server for 1h 30m.", "5400", nil, nil),
        (" 7d", "You have been banned by an admin for 7d.", "alice has been banned from the server for 7d.", "604800", nil, nil),
        (" spam", "You have been banned by an admin. Reason: spam", "alice has been banned from the server. Reason: spam",
         "permanent", "spam", nil),
        (" 2h  too   many\tlinks", "You have been banned by an admin for 2h. Reason: too many links",
         "alice has been banned from the server for 2h. Reason: too many links", "7200", "too many links", nil),
        (" --purge", "You have been banned by an admin.", "alice has been banned from the server.", "permanent", nil, "0"),
        (" --purge 2h spam", "You have been banned by an admin for 2h. Reason: spam",
         "alice has been banned from the server for 2h. Reason: spam", "7200", "spam", "0"),
        (" 2h --purge spam", "You have been banned by an admin for 2h. Reason: spam",
         "alice has been banned from the server for 2h. Reason: spam", "7200", "spam", "0"),
        // Options come before the reason: later ones are words of the reason.
        (" spam --purge", "You have been banned by an admin. Reason: spam --purge",
         "alice has been banned from the server. Reason: spam --purge", "permanent", "spam --purge", nil),
        (" 2h 3h", "You have been banned by an admin for 2h. Reason: 3h",
         "alice has been banned from the server for 2h. Reason: 3h", "7200", "3h", nil),
        // What is not a duration is the start of the reason, so a typo bans for good.
        (" 10x", "You have been banned by an admin. Reason: 10x", "alice has been banned from the server. Reason: 10x",
         "permanent", "10x", nil),
        (" 0", "You have been banned by an admin. Reason: 0", "alice has been banned from the server. Reason: 0",
         "permanent", "0", nil),
        (" -5", "You have been banned by an admin. Reason: -5", "alice has been banned from the server. Reason: -5",
         "permanent", "-5", nil),
    ]

    @Test(arguments: banArguments)
    func ban_readsDurationPurgeAndReason(rest: String, toTarget: String, toRoom: String, duration: String,
                                        reason: String?, purged: String?) throws {
        let room = Self.room()
        #expect(room.receive("admin", "/ban alice" + rest) == [
            .saveState,
            .send(toTarget, to: "alice"),
            .close("alice"),
            .broadcast(toRoom, to: ["admin", "bob"]),
        ])
        #expect(room.closeReasons == ["alice": "banned by admin" + (reason.map { ": \($0)" } ?? "")])
        let record = try #require(room.log("ban"))
        #expect(record.fields["chat_duration"] == duration)
        #expect(record.fields["chat_expires"] == Int64(duration).map { "\(Self.t0 + $0)" })
        #expect(record.fields["chat_reason"] == reason)
        #expect(record.fields["chat_purged"] == purged)
        #expect(record.fields["chat_by"] == "admin")
        #expect(record.fields["chat_target"] == "alice")
        #expect(record.fields["chat_address"] == "10.0.0.2")
        let ban = try #require(room.room.bans.first)
        #expect(ban.expiresAt == Int64(duration).map { Self.t0 + $0 })
        #expect(ban.reason == reason)
        #expect(ban.setBy == "admin")
        #expect(ban.nick == "alice")
    }

    @Test func ipv6CidrBan_disconnectsEveryMemberAndGreeterInside_andRefusesTheRangeLater() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin(address: ip("192.0.2.1"))
        room.join("v6a", address: ip("2001:db8::1"))
        room.join("v4", address: ip("10.0.0.9"))
        room.join("v6b", address: ip("2001:db8:ffff:1::2"))
        room.join("outside", address: ip("2001:db9::1"))
        room.open("greeter", address: ip("2001:db8::99"))
        room.open("greeterOutside", address: ip("2001:db7:ffff::1"))
        #expect(room.receive("admin", "/ban 2001:db8::/32 1h abuse") == [
            .saveState,
            .send("You have been banned by an admin for 1h. Reason: abuse", to: "v6a"),
            .close("v6a"),
            .broadcast("v6a has been banned from the server for 1h. Reason: abuse", to: ["admin", "outside", "v4", "v6b"]),
            .send("You have been banned by an admin for 1h. Reason: abuse", to: "v6b"),
            .close("v6b"),
            .broadcast("v6b has been banned from the server for 1h. Reason: abuse", to: ["admin", "outside", "v4"]),
            .send("You are banned from this server.", to: "greeter"),
            .close("greeter"),
        ])
        #expect(room.closeReasons == ["v6a": "banned by admin: abuse", "v6b": "banned by admin: abuse", "greeter": "address banned"])
        #expect(room.memberNicks == ["admin", "outside", "v4"])
        #expect(room.logEvents == ["ban"])
        #expect(try #require(room.log("ban")).fields == [
            "chat_by": "admin", "chat_target": "2001:db8::/32", "chat_address": "2001:db8::/32", "chat_kind": "ban",
            "chat_reason": "abuse", "chat_duration": "3600", "chat_expires": "\(Self.t0 + 3600)",
        ])
        #expect(try #require(room.log("ban")).message == "2001:db8::/32 was banned by admin for 1h: abuse")

        #expect(room.open("back", address: ip("2001:db8:1234::1")) == [
            .send("You are banned from this server.", to: "back"), .close("back"),
        ])
        #expect(try #require(room.log("banned-connection-refused")).fields["chat_address"] == "2001:db8:1234::1")
        #expect(room.join("neighbour", address: ip("2001:db9::2")).first == .send("Connected to the server", to: "neighbour"))
        #expect(room.receive("greeterOutside", "NICK:late").first == .send("Connected to the server", to: "greeterOutside"))
        #expect(room.receive("greeter", "NICK:ghost") == [], "the banned greeter is gone")
        #expect(room.isBanned(ip("2001:db8::5")))
        #expect(!room.isBanned(ip("2001:db9::5")))
        #expect(!room.isBanned(ip("10.0.0.9")))
    }

    @Test func ipv4CidrBan_byTheOperator_disconnectsEveryoneInside_andReportsWho() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.join("alice", address: ip("10.0.0.2"))
        room.join("carol", address: ip("192.0.2.5"))
        room.join("bob", address: ip("10.0.0.200"))
        #expect(room.control("ban", "10.0.0.0/24 2h botnet") == [
            .saveState,
            .send("You have been banned by an admin for 2h. Reason: botnet", to: "alice"),
            .close("alice"),
            .broadcast("alice has been banned from the server for 2h. Reason: botnet", to: ["bob", "carol"]),
            .send("You have been banned by an admin for 2h. Reason: botnet", to: "bob"),
            .close("bob"),
            .broadcast("bob has been banned from the server for 2h. Reason: botnet", to: ["carol"]),
        ])
        #expect(room.controlReplies == ["Banned 10.0.0.0/24 for 2h; disconnected alice, bob."])
        #expect(room.closeReasons == ["alice": "banned by chatroomctl:root: botnet", "bob": "banned by chatroomctl:root: botnet"])
        #expect(try #require(room.log("ban")).fields == [
            "chat_by": "chatroomctl:root", "chat_target": "10.0.0.0/24", "chat_address": "10.0.0.0/24", "chat_kind": "ban",
            "chat_reason": "botnet", "chat_duration": "7200", "chat_expires": "\(Self.t0 + 7200)",
        ])
        #expect(room.memberNicks == ["carol"])
    }

    @Test func rangeBan_withNobodyInside_isConfirmedToTheAdmin() {
        let room = Self.room()
        #expect(room.receive("admin", "/ban 198.51.100.0/24") == [
            .saveState, .send("Banned 198.51.100.0/24.", to: "admin"),
        ])
        #expect(room.receive("admin", "/ban 2001:db8::/48 1d --purge") == [
            .saveState, .send("Banned 2001:db8::/48 for 1d. Purged 0 history line(s).", to: "admin"),
        ])
        #expect(room.memberNicks == ["admin", "alice", "bob"])
    }

    @Test func ban_ofAnIPv4Range_catchesMembersOnIPv4MappedAddresses() throws {
        let room = Self.room()
        let mapped = IPAddress(ipv6Bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 7])
        room.join("mapped", address: mapped)
        #expect(room.peer("mapped") == "192.0.2.7:40004")
        #expect(room.receive("admin", "/ban 192.0.2.0/24") == [
            .saveState,
            .send("You have been banned by an admin.", to: "mapped"),
            .close("mapped"),
            .broadcast("mapped has been banned from the server.", to: ["admin", "alice", "bob"]),
        ])
        // A ban typed in mapped form is the IPv4 ban, and catches both forms.
        #expect(room.receive("admin", "/ban ::ffff:198.51.100.8") == [
            .saveState, .send("Banned 198.51.100.8.", to: "admin"),
        ])
        #expect(try #require(room.log("ban")).fields["chat_address"] == "198.51.100.8")
        #expect(room.open("plain", address: ip("198.51.100.8")) == [
            .send("You are banned from this server.", to: "plain"), .close("plain"),
        ])
        #expect(room.open("wrapped", address: ip("::ffff:198.51.100.8")) == [
            .send("You are banned from this server.", to: "wrapped"), .close("wrapped"),
        ])
    }

    static let ownAddressRefusals: [(String, String)] = [
        ("/ban admin", "You cannot /ban yourself."),
        ("/ban sharer", "sharer connects from your own address; banning it would lock you out too."),
        ("/ban 10.0.0.1", "10.0.0.1 includes your own address; banning it would lock you out too."),
        ("/ban ::ffff:10.0.0.1", "10.0.0.1 includes your own address; banning it would lock you out too."),
        ("/ban 10.0.0.0/24 1h --purge", "10.0.0.0/24 includes your own address; banning it would lock you out too."),
        ("/ban 10.1.2.3/8", "10.0.0.0/8 includes your own address; banning it would lock you out too."),
        ("/ban 0.0.0.0/0", "0.0.0.0/0 includes your own address; banning it would lock you out too."),
    ]

    @Test(arguments: ownAddressRefusals)
    func ban_thatWouldLockTheAdminOut_isRefused_andChangesNothing(command: String, reply: String) {
        let room = Self.room()
        room.join("sharer", address: room.address("admin"))
        #expect(room.receive("admin", command) == [.send(reply, to: "admin")])
        #expect(room.logs.isEmpty)
        #expect(room.room.banCount == 0)
        #expect(room.memberNicks == ["admin", "alice", "bob", "sharer"])
    }

    @Test(arguments: [
        ("/ban 2001:db8::/32", "2001:db8::/32 includes your own address; banning it would lock you out too."),
        ("/ban ::/0", "::/0 includes your own address; banning it would lock you out too."),
        ("/ban 2001:db8::1", "2001:db8::1 includes your own address; banning it would lock you out too."),
    ])
    func ban_thatWouldLockAnIPv6AdminOut_isRefused(command: String, reply: String) {
        let room = RoomDriver(configuration: RoomDriver.configuration(), now: RoomDriver.wallStart)
        room.joinAdmin(address: ip("2001:db8::1"))
        #expect(room.receive("admin", command) == [.send(reply, to: "admin")])
        #expect(room.room.banCount == 0)
        // An IPv4 range does not hold an IPv6 address.
        #expect(room.receive("admin", "/ban 0.0.0.0/0") == [.saveState, .send("Banned 0.0.0.0/0.", to: "admin")])
    }

    @Test func banningTheSameRangeAgain_replacesTheEarlierBan() throws {
        let room = Self.room()
        room.receive("admin", "/ban 198.51.100.0/24 1h first")
        #expect(room.receive("admin", "/ban 198.51.100.7/24 second") == [
            .saveState, .send("Banned 198.51.100.0/24.", to: "admin"),
        ])
        #expect(room.room.banCount == 1)
        let ban = try #require(room.room.bans.first)
        #expect(ban.reason == "second")
        #expect(ban.expiresAt == nil)
        room.advance(3600)
        #expect(room.tick() == [], "the replaced timed ban does not expire")
    }

    @Test func hugeDuration_doesNotOverflowTheExpiry() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/ban alice 9223372036854775807").first == .saveState)
        #expect(try #require(room.room.bans.first).expiresAt == Int64.max)
        #expect(room.receive("admin", "/mute bob 9223372036854775807s").first == .saveState)
        #expect(try #require(room.room.mutes.first).expiresAt == Int64.max)
        #expect(room.receive("bob", "hi") == [.send("You are muted for 106751991147624d 17h.", to: "bob")])
        room.advance(86_400 * 365)
        #expect(room.tick() == [])
    }

    // MARK: Unban

    /// Bans on alice (by nick, 10.0.0.2, 1h), 198.51.100.0/24 and 2001:db8::/32.
    static func roomWithBans() -> RoomDriver {
        let room = Self.room()
        room.receive("admin", "/ban alice 1h spam")
        room.receive("admin", "/ban 198.51.100.0/24")
        room.receive("admin", "/ban 2001:db8::/32 1d")
        return room
    }

    @Test(arguments: [
        ("alice", "alice"),
        ("ALICE", "alice"),
        ("10.0.0.2", "alice"),
        ("10.0.0.2/32", "alice"),
        ("::ffff:10.0.0.2", "alice"),
        ("198.51.100.0/24", "198.51.100.0/24"),
        ("198.51.100.1/24", "198.51.100.0/24"),
        ("198.51.100.77", "198.51.100.0/24"),     // an address inside lifts the ban that holds it
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:DB8:0:0::/32", "2001:db8::/32"),
        ("2001:db8:1::5", "2001:db8::/32"),
    ])
    func unban_liftsTheMatchingBan_announcesLogsAndSaves(target: String, lifted: String) throws {
        let room = Self.roomWithBans()
        #expect(room.receive("admin", "/unban \(target)") == [
            .broadcast("The ban on \(lifted) has been lifted by admin.", to: ["admin", "bob"]),
            .saveState,
        ])
        #expect(room.room.banCount == 2)
        let record = try #require(room.log("unban"))
        #expect(record.level == .notice)
        // The room hears the nick only; the log keeps the address too.
        #expect(record.message == "The ban on \(lifted == "alice" ? "alice (10.0.0.2)" : lifted) was lifted by admin")
        #expect(record.fields["chat_by"] == "admin")
        #expect(record.fields["chat_kind"] == "ban")
        switch lifted {
        case "alice":
            #expect(record.fields == ["chat_by": "admin", "chat_target": "alice", "chat_address": "10.0.0.2",
                                      "chat_kind": "ban", "chat_reason": "spam", "chat_duration": "3600",
                                      "chat_expires": "\(Self.t0 + 3600)"])
            #expect(room.join("alice", address: ip("10.0.0.2")).first == .send("Connected to the server", to: "alice"))
        case "198.51.100.0/24":
            #expect(record.fields == ["chat_by": "admin", "chat_target": "198.51.100.0/24", "chat_address": "198.51.100.0/24",
                                      "chat_kind": "ban", "chat_duration": "permanent"])
        default:
            #expect(record.fields == ["chat_by": "admin", "chat_target": "2001:db8::/32", "chat_address": "2001:db8::/32",
                                      "chat_kind": "ban", "chat_duration": "86400", "chat_expires": "\(Self.t0 + 86_400)"])
        }
    }

    @Test func unbanOfAnAddress_liftsEveryBanHoldingIt() {
        let room = Self.roomWithBans()
        room.receive("admin", "/ban 198.51.100.64/26")
        #expect(room.receive("admin", "/unban 198.51.100.70") == [
            .broadcast("The ban on 198.51.100.0/24 has been lifted by admin.", to: ["admin", "bob"]),
            .broadcast("The ban on 198.51.100.64/26 has been lifted by admin.", to: ["admin", "bob"]),
            .saveState,
        ])
        #expect(room.room.banCount == 2)
        #expect(room.logEvents == ["unban", "unban"])
    }

    @Test(arguments: [
        ("/unban", "Usage: /unban <address|cidr|nick>"),
        ("/unban   ", "Usage: /unban <address|cidr|nick>"),
        ("/unban alice bob", "Usage: /unban <address|cidr|nick>"),
        ("/unban nobody", "No ban matches nobody."),
        ("/unban bob", "No ban matches bob."),
        ("/unban 198.51.100.0/16", "No ban matches 198.51.100.0/16."),
        ("/unban 198.51.100.0/25", "No ban matches 198.51.100.0/25."),
        ("/unban 10.0.0.3", "No ban matches 10.0.0.3."),
        ("/unban 2001:db9::1", "No ban matches 2001:db9::1."),
    ])
    func unban_thatMatchesNothing_isRefusedToTheAdminOnly(command: String, reply: String) {
        let room = Self.roomWithBans()
        #expect(room.receive("admin", command) == [.send(reply, to: "admin")])
        #expect(room.logs.isEmpty)
        #expect(room.room.banCount == 3)
    }

    @Test func unban_byTheOperator_isConfirmed() throws {
        let room = Self.roomWithBans()
        #expect(room.control("unban", "198.51.100.0/24") == [
            .broadcast("The ban on 198.51.100.0/24 has been lifted by chatroomctl:root.", to: ["admin", "bob"]),
            .saveState,
        ])
        #expect(room.controlReplies == ["Lifted 1 ban(s)."])
        #expect(try #require(room.log("unban")).fields["chat_by"] == "chatroomctl:root")
        #expect(room.control("unban", "198.51.100.0/24") == [])
        #expect(room.controlReplies == ["No ban matches 198.51.100.0/24."])
    }

    // MARK: /bans

    @Test func bans_listsBansThenMutes_withTimeLeft_droppingWhatHasExpired() {
        let room = Self.room()
        #expect(room.receive("admin", "/bans") == [.send("No active bans or mutes.", to: "admin")])
        room.receive("admin", "/ban alice 10m spam")
        room.receive("admin", "/ban 198.51.100.0/24")
        room.receive("admin", "/mute bob 9m12s")
        room.advance(60)
        #expect(room.receive("admin", "/bans") == [
            .send("Bans (2):", to: "admin"),
            .send("  alice (10.0.0.2) by admin, 9m left: spam", to: "admin"),
            .send("  198.51.100.0/24 by admin, permanent", to: "admin"),
            .send("Mutes (1):", to: "admin"),
            .send("  bob (10.0.0.3) by admin, 8m 12s left", to: "admin"),
        ])
        #expect(room.logs.isEmpty)
        // Expired sanctions drop out of the list even before the tick removes them.
        room.advance(8 * 60 + 12)
        #expect(room.receive("admin", "/bans") == [
            .send("Bans (2):", to: "admin"),
            .send("  alice (10.0.0.2) by admin, 48s left: spam", to: "admin"),
            .send("  198.51.100.0/24 by admin, permanent", to: "admin"),
        ])
        room.advance(48)
        #expect(room.control("bans") == [])
        #expect(room.controlReplies == ["Bans (1):", "  198.51.100.0/24 by admin, permanent"])
        room.receive("admin", "/unban 198.51.100.0/24")
        #expect(room.receive("admin", "/bans") == [.send("No active bans or mutes.", to: "admin")])
    }

    // MARK: Mutes

    @Test func timedMute_refusesChatMeAndMsg_withTheTimeLeft_andExpiresOnTick() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/mute bob 9m12s flooding the room") == [
            .saveState,
            .send("You have been muted by an admin for 9m 12s. Reason: flooding the room", to: "bob"),
            .broadcast("bob has been muted for 9m 12s. Reason: flooding the room", to: ["admin", "alice"]),
        ])
        let mute = try #require(room.log("mute"))
        #expect(mute.level == .notice)
        #expect(mute.message == "bob was muted by admin for 9m 12s: flooding the room")
        #expect(mute.fields == [
            "chat_by": "admin", "chat_target": "bob", "chat_address": "10.0.0.3", "chat_kind": "mute",
            "chat_reason": "flooding the room", "chat_duration": "552", "chat_expires": "\(Self.t0 + 552)",
        ])
        #expect(room.memberNicks == ["admin", "alice", "bob"], "a mute disconnects nobody")

        for frame in ["hi", "/me waves", "/msg alice psst", "/msg nobody psst", "/ spaced"] {
            #expect(room.receive("bob", frame) == [.send("You are muted for 9m 12s.", to: "bob")], "\(frame)")
        }
        room.advance(10)
        #expect(room.receive("bob", "hi") == [.send("You are muted for 9m 2s.", to: "bob")])
        // Everything else still works.
        #expect(room.receive("bob", "/who") == [.send("3 members: admin [admin], alice, bob [muted]", to: "bob")])
        #expect(room.receive("alice", "hi bob") == [.broadcast("alice: hi bob", to: ["admin", "alice", "bob"])])
        #expect(room.room.relayedMessageCount == 1)
        #expect(room.room.history.entries.map(\.text) == ["alice: hi bob"], "refused lines are not history")

        room.advance(541)
        #expect(room.receive("bob", "hi") == [.send("You are muted for 1s.", to: "bob")])
        #expect(room.tick() == [])
        room.advance(1)
        #expect(room.tick() == [
            .broadcast("bob's mute has expired.", to: ["admin", "alice", "bob"]),
            .saveState,
        ])
        let expired = try #require(room.log("mute-expired"))
        #expect(expired.message == "The mute on bob (10.0.0.3) expired")
        #expect(expired.fields == [
            "chat_by": "expiry", "chat_target": "bob", "chat_address": "10.0.0.3", "chat_kind": "mute",
            "chat_reason": "flooding the room", "chat_duration": "552", "chat_expires": "\(Self.t0 + 552)",
        ])
        #expect(room.receive("bob", "finally") == [.broadcast("bob: finally", to: ["admin", "alice", "bob"])])
        #expect(room.receive("bob", "/who") == [.send("3 members: admin [admin], alice, bob", to: "bob")])
    }

    @Test func expiredMute_letsTheMemberSpeak_evenBeforeTheTick() {
        let room = Self.room()
        room.receive("admin", "/mute bob 30s")
        room.advance(30)
        #expect(room.receive("bob", "back") == [.broadcast("bob: back", to: ["admin", "alice", "bob"])])
    }

    @Test func permanentMute_saysSo_andNeverExpires() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/mute bob") == [
            .saveState,
            .send("You have been muted by an admin.", to: "bob"),
            .broadcast("bob has been muted.", to: ["admin", "alice"]),
        ])
        #expect(try #require(room.log("mute")).fields == [
            "chat_by": "admin", "chat_target": "bob", "chat_address": "10.0.0.3", "chat_kind": "mute",
            "chat_duration": "permanent",
        ])
        #expect(try #require(room.log("mute")).message == "bob was muted by admin")
        #expect(room.receive("bob", "hi") == [.send("You are muted.", to: "bob")])
        room.advance(86_400 * 365)
        #expect(room.tick() == [])
        #expect(room.receive("bob", "hi") == [.send("You are muted.", to: "bob")])
    }

    @Test(arguments: [
        (" 10m", "You have been muted by an admin for 10m.", "bob has been muted for 10m.", "600", nil),
        (" 1h30m too loud", "You have been muted by an admin for 1h 30m. Reason: too loud",
         "bob has been muted for 1h 30m. Reason: too loud", "5400", "too loud"),
        (" spam", "You have been muted by an admin. Reason: spam", "bob has been muted. Reason: spam", "permanent", "spam"),
        (" 10x", "You have been muted by an admin. Reason: 10x", "bob has been muted. Reason: 10x", "permanent", "10x"),
    ] as [(String, String, String, String, String?)])
    func mute_readsDurationAndReason(rest: String, toTarget: String, toRoom: String, duration: String, reason: String?) throws {
        let room = Self.room()
        #expect(room.receive("admin", "/mute BOB" + rest) == [
            .saveState, .send(toTarget, to: "bob"), .broadcast(toRoom, to: ["admin", "alice"]),
        ])
        let record = try #require(room.log("mute"))
        #expect(record.fields["chat_duration"] == duration)
        #expect(record.fields["chat_reason"] == reason)
        #expect(record.fields["chat_expires"] == Int64(duration).map { "\(Self.t0 + $0)" })
    }

    @Test func muteAgain_replacesTheEarlierMute() {
        let room = Self.room()
        room.receive("admin", "/mute bob 1h")
        room.receive("admin", "/mute Bob 5m")
        #expect(room.room.mutes.count == 1)
        #expect(room.receive("bob", "hi") == [.send("You are muted for 5m.", to: "bob")])
        room.advance(300)
        #expect(room.tick() == [.broadcast("bob's mute has expired.", to: ["admin", "alice", "bob"]), .saveState])
        room.advance(3600)
        #expect(room.tick() == [])
    }

    @Test func mute_followsTheAddress_toAReconnectUnderAnotherNick() {
        let room = Self.room()
        room.receive("admin", "/mute bob 10m")
        #expect(room.closed("bob") == [], "a muted member's leaving is not announced")
        room.advance(60)
        // Nor is its joining under a new nick: only the joiner sees its own join line.
        #expect(room.join("robert", address: ip("10.0.0.3")) == [
            .send("Connected to the server", to: "robert"),
            .send("robert has joined the chat!", to: "robert"),
        ])
        #expect(room.receive("robert", "it's me again") == [.send("You are muted for 9m.", to: "robert")])
        #expect(room.receive("robert", "/who") == [.send("3 members: admin [admin], alice, robert [muted]", to: "robert")])
        // Someone else, from another address, is not held.
        room.join("carol")
        #expect(room.receive("carol", "hi") == [.broadcast("carol: hi", to: ["admin", "alice", "carol", "robert"])])
    }

    @Test func mutedMember_cannotRename_sinceARenameIsAnnouncedToTheRoom() throws {
        let room = Self.room()
        room.receive("admin", "/mute bob 10m")
        #expect(room.receive("bob", "/nick robert") == [.send("You are muted for 10m.", to: "bob")])
        #expect(room.receive("admin", "/who") == [.send("3 members: admin [admin], alice, bob [muted]", to: "admin")])
        #expect(room.receive("admin", "/unmute bob") == [
            .broadcast("bob has been unmuted by admin.", to: ["admin", "alice", "bob"]),
            .saveState,
        ])
        let record = try #require(room.log("unmute"))
        #expect(record.message == "bob was unmuted by admin")
        #expect(room.receive("bob", "/nick robert") == [.broadcast("bob is now known as robert.", to: ["admin", "alice", "bob"])])
        #expect(room.receive("bob", "hi") == [.broadcast("robert: hi", to: ["admin", "alice", "bob"])])
    }

    @Test func mute_followsTheNick_toAnotherAddress() {
        let room = Self.room()
        room.receive("admin", "/mute bob 10m")
        room.closed("bob")
        room.join("bobAgain", nick: "Bob", address: ip("192.0.2.44"))
        #expect(room.receive("bobAgain", "new address") == [.send("You are muted for 10m.", to: "bobAgain")])
    }

    @Test func unmute_announcesToEveryone_logsAndSaves() throws {
        let room = Self.room()
        room.receive("admin", "/mute bob 10m spam")
        room.advance(5)
        #expect(room.receive("admin", "/unmute BOB") == [
            .broadcast("bob has been unmuted by admin.", to: ["admin", "alice", "bob"]),
            .saveState,
        ])
        let record = try #require(room.log("unmute"))
        #expect(record.level == .notice)
        #expect(record.message == "bob was unmuted by admin")
        #expect(record.fields == [
            "chat_by": "admin", "chat_target": "bob", "chat_address": "10.0.0.3", "chat_kind": "mute",
            "chat_reason": "spam", "chat_duration": "600", "chat_expires": "\(Self.t0 + 600)",
        ])
        #expect(room.room.mutes.isEmpty)
        #expect(room.receive("bob", "thanks") == [.broadcast("bob: thanks", to: ["admin", "alice", "bob"])])
        room.advance(600)
        #expect(room.tick() == [], "a lifted mute does not expire later")
    }

    @Test func unmute_ofAMemberWhoLeft_worksByNick() {
        let room = Self.room()
        room.receive("admin", "/mute bob 10m")
        room.closed("bob")
        #expect(room.receive("admin", "/unmute bob") == [
            .broadcast("bob has been unmuted by admin.", to: ["admin", "alice"]),
            .saveState,
        ])
        #expect(room.room.mutes.isEmpty)
    }

    @Test(arguments: [
        ("/mute", "Usage: /mute <nick> [duration] [reason]"),
        ("/mute   ", "Usage: /mute <nick> [duration] [reason]"),
        ("/mute nobody 10m", "No member is called nobody."),
        ("/mute greeter", "No member is called greeter."),
        ("/mute admin", "You cannot /mute yourself."),
        ("/mute sharer", "sharer connects from your own address; muting it would mute you too."),
        ("/unmute", "Usage: /unmute <nick>"),
        ("/unmute alice bob", "Usage: /unmute <nick>"),
        ("/unmute alice", "alice is not muted."),
        ("/unmute nobody", "nobody is not muted."),
    ])
    func muteMistake_isRefusedToTheAdminOnly_andChangesNothing(command: String, reply: String) {
        let room = Self.room()
        room.join("sharer", address: room.address("admin"))
        room.open("greeter")
        #expect(room.receive("admin", command) == [.send(reply, to: "admin")])
        #expect(room.logs.isEmpty)
        #expect(room.room.mutes.isEmpty)
        #expect(room.receive("admin", "still talking") == [
            .broadcast("admin: still talking", to: ["admin", "alice", "bob", "sharer"]),
        ])
    }

    @Test func mute_byTheOperator_isConfirmed_andLoggedWithTheOperator() throws {
        let room = Self.room()
        #expect(room.control("mute", "bob 10m spam") == [
            .saveState,
            .send("You have been muted by an admin for 10m. Reason: spam", to: "bob"),
            .broadcast("bob has been muted for 10m. Reason: spam", to: ["admin", "alice"]),
        ])
        #expect(room.controlReplies == ["Muted bob."])
        #expect(try #require(room.log("mute")).fields["chat_by"] == "chatroomctl:root")
        #expect(room.control("unmute", "bob") == [
            .broadcast("bob has been unmuted by chatroomctl:root.", to: ["admin", "alice", "bob"]),
            .saveState,
        ])
        #expect(room.controlReplies == ["Unmuted bob."])
        #expect(try #require(room.log("unmute")).fields["chat_by"] == "chatroomctl:root")
    }

    // MARK: Kick and say

    @Test func kick_withAReason_tellsEveryoneWhy() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/kick alice being   rude") == [
            .send("You have been kicked by an admin. Reason: being rude", to: "alice"),
            .close("alice"),
            .broadcast("alice has been kicked from the server. Reason: being rude", to: ["admin", "bob"]),
        ])
        #expect(room.closeReasons == ["alice": "kicked by admin: being rude"])
        let record = try #require(room.log("kick"))
        #expect(record.message == "alice was kicked by admin: being rude")
        #expect(record.fields == ["chat_by": "admin", "chat_target": "alice", "chat_reason": "being rude",
                                  "chat_peer": "10.0.0.2:40002"])
    }

    @Test func kick_byTheOperator_isConfirmed() throws {
        let room = Self.room()
        #expect(room.control("kick", "admin go home") == [
            .send("You have been kicked by an admin. Reason: go home", to: "admin"),
            .close("admin"),
            .broadcast("admin has been kicked from the server. Reason: go home", to: ["alice", "bob"]),
        ])
        #expect(room.controlReplies == ["Kicked admin."])
        #expect(try #require(room.log("kick")).fields["chat_by"] == "chatroomctl:root")
    }

    @Test func say_broadcastsAServerNotice_logsIt_andKeepsItOutOfHistory() throws {
        let room = Self.room()
        #expect(room.receive("admin", "/say   maintenance at noon  ") == [
            .broadcast("[server] maintenance at noon", to: ["admin", "alice", "bob"]),
        ])
        let record = try #require(room.log("say"))
        #expect(record.level == .notice)
        #expect(record.message == "admin said to the room: maintenance at noon")
        #expect(record.fields == ["chat_by": "admin"])
        #expect(room.room.history.count == 0)
        #expect(room.receive("admin", "/say") == [.send("Usage: /say <text>", to: "admin")])
        #expect(room.receive("admin", "/say    ") == [.send("Usage: /say <text>", to: "admin")])
        #expect(room.control("say", "restart in 5 minutes") == [
            .broadcast("[server] restart in 5 minutes", to: ["admin", "alice", "bob"]),
        ])
        #expect(room.controlReplies == ["Said to 3 member(s)."])
        #expect(try #require(room.log("say")).fields == ["chat_by": "chatroomctl:root"])
    }

    // MARK: The operator

    @Test(arguments: [
        ("kick", "", "Usage: /kick <nick> [reason]"),
        ("kick", "nobody", "No member is called nobody."),
        ("ban", "", "Usage: /ban <nick|address|cidr> [duration] [--purge] [reason]"),
        ("ban", "nobody", "nobody is neither a member's nickname nor an IP address or CIDR range."),
        ("mute", "nobody", "No member is called nobody."),
        ("unmute", "alice", "alice is not muted."),
        ("unban", "", "Usage: /unban <address|cidr|nick>"),
        ("slowmode", "", "Usage: /slowmode <seconds|off>"),
        ("slowmode", "2d", "Usage: /slowmode <seconds|off> (at most one day)"),
        ("say", "", "Usage: /say <text>"),
        ("bans", "", "No active bans or mutes."),
        ("topic", "", "No topic is set."),
    ])
    func operatorCommand_repliesToTheOperatorOnly(command: String, arguments: String, reply: String) {
        let room = Self.room()
        #expect(room.control(command, arguments) == [])
        #expect(room.controlReplies == [reply])
        #expect(room.controlSucceeded == (command == "bans" || command == "topic"))
        #expect(room.logs.isEmpty)
    }

    /// The operator may run exactly the table's commands marked for it; the rest (member-only
    /// commands and unknown ones) are refused with the list.
    @Test(arguments: ["who", "msg", "me", "nick", "login", "help", "limits", "frobnicate"])
    func operatorCommand_notForTheOperator_isRefusedWithTheList(command: String) {
        let room = Self.room()
        #expect(room.control(command, "x") == [])
        #expect(!room.controlSucceeded)
        #expect(room.controlReplies == ["Unknown command \(command); the operator's commands: topic, kick, ban, unban, bans, mute, unmute, slowmode, say."])
    }

    @Test func operator_mayBanAnAdminsAddress() {
        let room = Self.room()
        room.join("sharer", address: room.address("admin"))
        #expect(room.control("ban", "sharer") == [
            .saveState,
            .send("You have been banned by an admin.", to: "admin"),
            .close("admin"),
            .broadcast("admin has been banned from the server.", to: ["alice", "bob", "sharer"]),
            .send("You have been banned by an admin.", to: "sharer"),
            .close("sharer"),
            .broadcast("sharer has been banned from the server.", to: ["alice", "bob"]),
        ])
        #expect(room.controlReplies == ["Banned sharer (10.0.0.1); disconnected admin, sharer."])
    }

    // MARK: Restored sanctions

    @Test func sanctionsRestoredAtStart_holdAndStillExpireOnTick() throws {
        let t0 = Self.t0
        let restored = [
            Sanction(kind: .ban, range: try #require(IPRange(parsing: "198.51.100.0/24")), reason: "old",
                     setBy: "admin", setAt: t0 - 100, expiresAt: t0 + 30),
            Sanction(kind: .mute, range: IPRange(ip("10.0.0.3")), nick: "carol", setBy: "mod",
                     setAt: t0 - 10, expiresAt: t0 + 60),
            Sanction(kind: .ban, range: try #require(IPRange(parsing: "2001:db8::/32")), setBy: "admin", setAt: t0 - 5),
        ]
        let room = RoomDriver(configuration: RoomDriver.configuration(), sanctions: restored, now: RoomDriver.wallStart)
        #expect(room.room.sanctions.compactMap(\.expiresAt).min() == t0 + 30)
        room.join("alice")
        #expect(room.open("returning", address: ip("198.51.100.9")) == [
            .send("You are banned from this server.", to: "returning"), .close("returning"),
        ])
        #expect(room.open("v6", address: ip("2001:db8::7")) == [
            .send("You are banned from this server.", to: "v6"), .close("v6"),
        ])
        room.join("carol", address: ip("10.0.0.3"))
        #expect(room.receive("carol", "hello?") == [.send("You are muted for 1m.", to: "carol")])

        room.advance(30)
        #expect(room.tick() == [
            .broadcast("The ban on 198.51.100.0/24 has expired.", to: ["alice", "carol"]),
            .saveState,
        ])
        #expect(try #require(room.log("ban-expired")).fields == [
            "chat_by": "expiry", "chat_target": "198.51.100.0/24", "chat_address": "198.51.100.0/24", "chat_kind": "ban",
            "chat_reason": "old", "chat_duration": "130", "chat_expires": "\(t0 + 30)",
        ])
        #expect(room.room.sanctions.compactMap(\.expiresAt).min() == t0 + 60)
        #expect(room.join("returning", address: ip("198.51.100.9")).first == .send("Connected to the server", to: "returning"))

        room.advance(30)
        #expect(room.tick() == [
            .broadcast("carol's mute has expired.", to: ["alice", "carol", "returning"]),
            .saveState,
        ])
        #expect(try #require(room.log("mute-expired")).fields == [
            "chat_by": "expiry", "chat_target": "carol", "chat_address": "10.0.0.3", "chat_kind": "mute",
            "chat_duration": "70", "chat_expires": "\(t0 + 60)",
        ])
        #expect(room.room.sanctions.compactMap(\.expiresAt).min() == nil)
        #expect(room.receive("carol", "hello!").first == .broadcast("carol: hello!", to: ["alice", "carol", "returning"]))
        #expect(room.room.banCount == 1, "the permanent ban stays")
    }

    @Test func sanctionsThatExpiredWhileStopped_goOnTheFirstTick_allInOneSave() throws {
        let t0 = Self.t0
        let restored = [
            Sanction(kind: .ban, range: IPRange(ip("192.0.2.1")), nick: "mallory", setBy: "admin", setAt: t0 - 7200, expiresAt: t0 - 3600),
            Sanction(kind: .mute, range: IPRange(ip("192.0.2.2")), nick: "trent", setBy: "admin", setAt: t0 - 7200, expiresAt: t0 - 1),
        ]
        let room = RoomDriver(configuration: RoomDriver.configuration(), sanctions: restored, now: RoomDriver.wallStart)
        // Already over: the address gets in before any tick.
        #expect(room.join("mallory", address: ip("192.0.2.1")).first == .send("Connected to the server", to: "mallory"))
        #expect(room.tick() == [
            .broadcast("The ban on mallory has expired.", to: ["mallory"]),
            .broadcast("trent's mute has expired.", to: ["mallory"]),
            .saveState,
        ])
        #expect(room.logEvents == ["ban-expired", "mute-expired"])
        #expect(room.room.sanctions.isEmpty)
    }

    @Test func bansFromTheOlderStateFormat_arePermanentAndLiftable() throws {
        let room = RoomDriver(configuration: RoomDriver.configuration(), bannedAddresses: [ip("192.0.2.9"), ip("2001:db8::9")],
                              now: RoomDriver.wallStart)
        #expect(room.room.bans.map(\.setBy) == ["restored", "restored"])
        #expect(room.room.bans.allSatisfy { $0.expiresAt == nil })
        room.joinAdmin()
        room.advance(86_400 * 365)
        #expect(room.tick() == [])
        #expect(room.receive("admin", "/unban 2001:db8::9") == [
            .broadcast("The ban on 2001:db8::9 has been lifted by admin.", to: ["admin"]),
            .saveState,
        ])
        #expect(try #require(room.log("unban")).fields == [
            "chat_by": "admin", "chat_target": "2001:db8::9", "chat_address": "2001:db8::9", "chat_kind": "ban",
            "chat_duration": "permanent",
        ])
    }

    @Test func timedSanctions_recordTheirExpiry_permanentOnesNone() {
        let room = Self.room()
        #expect(room.room.sanctions.compactMap(\.expiresAt).min() == nil)
        room.receive("admin", "/ban 198.51.100.0/24")
        #expect(room.room.sanctions.compactMap(\.expiresAt).min() == nil)
        room.receive("admin", "/ban 203.0.113.0/24 1h")
        room.receive("admin", "/mute bob 10m")
        #expect(room.room.sanctions.compactMap(\.expiresAt).min() == Self.t0 + 600)
    }

    // MARK: Determinism

    @Test func rangeBan_closesGreetersInConnectionOrder() {
        let room = Self.room()
        let greeters = (1...8).map { "greeter\($0)" }
        for (index, label) in greeters.enumerated() { room.open(label, address: IPAddress(v4: 198, 51, 100, UInt8(index + 1))) }
        #expect(room.receive("admin", "/ban 198.51.100.0/24") == [.saveState]
            + greeters.flatMap { [Out.send("You are banned from this server.", to: $0), .close($0)] }
            + [.send("Banned 198.51.100.0/24.", to: "admin")])
    }
}
