import ChatCore
import Testing

/// `require-tls-for-login`: passwords only over connections the daemon says are TLS.
@Suite("Room: logins only over TLS")
struct RoomSecureLoginTests {
    static let refusal = "Login refused: this server accepts passwords only over TLS (connect with chatroom --tls); change the password if you sent it here."

    static func room(required: Bool) -> RoomDriver {
        var configuration = RoomDriver.configuration(accounts: ["mod": PlainPassword("modpw")])
        configuration.requireSecureLogin = required
        return RoomDriver(configuration: configuration, now: RoomDriver.wallStart)
    }

    @Test func plaintextLogins_areRefusedWithTheReason_beforeAnyCheck() throws {
        let room = Self.room(required: true)
        room.completesPasswordChecks = false
        room.open("plainadmin")
        #expect(room.receive("plainadmin", "admin:\(RoomDriver.secret)") == [.send(Self.refusal, to: "plainadmin"), .close("plainadmin")])
        #expect(try #require(room.log("admin-login-failed")).fields["chat_reason"] == "not over TLS")
        room.join("alice")
        #expect(room.receive("alice", "/login mod modpw") == [.send(Self.refusal, to: "alice")])
        #expect(room.pendingChecks.isEmpty, "no password was checked")
        #expect(room.memberNicks == ["alice"])
    }

    @Test func tlsLogins_workAsBefore() {
        let room = Self.room(required: true)
        room.open("secure", secure: true)
        #expect(room.receive("secure", "NICK:secure").first == .send("Connected to the server", to: "secure"))
        #expect(room.receive("secure", "/login mod modpw").first == .send("You are now an admin (account mod).", to: "secure"))
        room.open("tlsadmin", secure: true)
        #expect(room.receive("tlsadmin", "admin:\(RoomDriver.secret)").first == .send("Connected to the server", to: "tlsadmin"))
    }

    @Test func withoutTheSetting_plaintextLoginsWork() {
        let room = Self.room(required: false)
        room.join("alice")
        #expect(room.receive("alice", "/login mod modpw").first == .send("You are now an admin (account mod).", to: "alice"))
    }
}
