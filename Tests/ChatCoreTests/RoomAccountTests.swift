import ChatCore
import Testing

/// A reload that removes or changes an account logs out the members logged in with it.
@Suite("Room: privileges follow the configuration")
struct RoomAccountTests {
    static func room() -> RoomDriver {
        var configuration = RoomDriver.configuration(accounts: ["alice": TestPassword.of(password: "a1"), "bob": TestPassword.of(password: "b1")])
        configuration.floodRate = 0
        let room = RoomDriver(configuration: configuration, now: RoomDriver.wallStart)
        room.joinAdmin()
        room.join("alice")
        room.join("bob")
        room.join("carol")
        room.receive("alice", "/login alice a1")
        room.receive("bob", "/login bob b1")
        return room
    }

    @Test func aRemovedAccount_demotesItsMember_andTellsThem() throws {
        let room = Self.room()
        var next = room.room.configuration
        next.accounts["alice"] = nil
        #expect(room.reconfigure(next) == [.send("You are no longer an admin: the account alice was removed.", to: "alice")])
        #expect(try #require(room.log("admin-logout")).fields["chat_account"] == "alice")
        #expect(room.receive("alice", "/kick carol") == [.send("Only an admin can use /kick.", to: "alice")])
        #expect(room.receive("bob", "/who") == [.send("4 members: admin [admin], alice, bob [admin], carol", to: "bob")])
    }

    @Test func aChangedPassword_logsOutToo_andUnchangedAccountsStay() {
        let room = Self.room()
        var next = room.room.configuration
        next.accounts["bob"] = TestPassword.of(password: "b2")
        #expect(room.reconfigure(next) == [.send("You are no longer an admin: the password of the account bob changed.", to: "bob")])
        #expect(room.receive("alice", "/who") == [.send("4 members: admin [admin], alice [admin], bob, carol", to: "alice")])
    }

    @Test func theSeedAdmin_whoseAccountGoes_isDisconnected_soTheNickCannotPassForAnAdmin() {
        let room = Self.room()
        var next = room.room.configuration
        next.accounts["admin"] = nil
        #expect(room.reconfigure(next) == [
            .send("You are no longer an admin: the account admin was removed. Log in again.", to: "admin"),
            .close("admin"),
            .broadcast("[CLIENT DISCONNECT - admin]", to: ["alice", "bob", "carol"]),
        ])
    }

    @Test func aReloadThatKeepsEveryAccount_changesNobody() {
        let room = Self.room()
        #expect(room.reconfigure(room.room.configuration) == [])
        #expect(room.logs.isEmpty)
    }
}
