import ChatCore
import Testing

@Suite("Room: protocol violations, shutdown and logs")
struct RoomLifecycleTests {
    @Test func protocolViolation_byMember_explainsClosesAndAnnouncesLeave() {
        let room = RoomDriver()
        room.join("alice")
        room.join("bob")
        #expect(room.violation("alice", "frame payload is not valid UTF-8") == [
            .send("Protocol error: frame payload is not valid UTF-8.", to: "alice"),
            .close("alice"),
            .broadcast("[CLIENT DISCONNECT - alice]", to: ["bob"]),
        ])
        #expect(room.closeReasons == ["alice": "protocol error: frame payload is not valid UTF-8"])
        #expect(room.memberNicks == ["bob"])
        #expect(room.logs.count == 1)
        #expect(room.logs.first?.event == "protocol-error")
        #expect(room.logs.first?.level == .warning)
        #expect(room.logs.first?.fields == ["chat_reason": "frame payload is not valid UTF-8",
                                            "chat_peer": "10.0.0.1:40001", "chat_nick": "alice"])
        #expect(room.closed("alice") == [])
        #expect(room.violation("alice", "again") == [])
    }

    @Test func protocolViolation_byGreeter_explainsAndCloses_withoutBroadcast() {
        let room = RoomDriver()
        room.join("alice")
        room.open("stranger")
        #expect(room.violation("stranger", "frame too large (70000 bytes; the limit is 65536)") == [
            .send("Protocol error: frame too large (70000 bytes; the limit is 65536).", to: "stranger"),
            .close("stranger"),
        ])
        #expect(room.logs.map(\.event) == ["protocol-error"])
        #expect(room.logs.first?.fields == ["chat_reason": "frame too large (70000 bytes; the limit is 65536)",
                                            "chat_peer": "10.0.0.2:40002"])
        #expect(room.memberNicks == ["alice"])
        #expect(room.receive("stranger", "NICK:stranger") == [])
    }

    @Test func shutdown_tellsMembers_thenClosesEveryConnection() {
        let room = RoomDriver()
        room.join("alice")
        room.joinAdmin()
        room.open("greeter")
        room.join("bob")
        #expect(room.shutdown() == [
            .broadcast("Server is shutting down.", to: ["admin", "alice", "bob"]),
            .close("alice"),
            .close("admin"),
            .close("greeter"),
            .close("bob"),
        ])
        #expect(Set(room.closeReasons.values) == ["server shutting down"])
        #expect(room.room.memberCount == 0)
        // Close reports that follow the shutdown are quiet.
        #expect(room.closed("alice") == [])
        #expect(room.closed("greeter") == [])
        #expect(room.receive("bob", "anyone?") == [])
    }

    @Test func shutdown_withOnlyGreeters_justCloses() {
        let room = RoomDriver()
        room.open("greeter")
        #expect(room.shutdown() == [.close("greeter")])
    }

    @Test func shutdown_ofEmptyRoom_doesNothing() {
        let room = RoomDriver()
        #expect(room.shutdown() == [])
    }

    @Test func joinAndLeave_areLoggedWithNickPeerAndReason() {
        let room = RoomDriver()
        room.join("alice")
        #expect(room.logs.count == 1)
        #expect(room.logs.first?.event == "join")
        #expect(room.logs.first?.level == .info)
        #expect(room.logs.first?.fields == ["chat_nick": "alice", "chat_peer": "10.0.0.1:40001"])
        #expect(room.logs.first?.message == "alice joined from 10.0.0.1:40001")

        room.closed("alice", reason: "connection reset by peer")
        #expect(room.logs.map(\.event) == ["leave"])
        #expect(room.logs.first?.fields == ["chat_nick": "alice", "chat_peer": "10.0.0.1:40001",
                                            "chat_reason": "connection reset by peer"])

        room.join("bob")
        room.receive("bob", "!DC")
        #expect(room.logs.map(\.event) == ["leave"])
        #expect(room.logs.first?.fields["chat_reason"] == "left with !DC")
    }

    @Test func adminLogins_areLogged_andFailuresLoggedOnce() {
        let room = RoomDriver()
        room.joinAdmin()
        #expect(room.logs.map(\.summary) == ["admin-login chat_account=admin chat_nick=admin chat_peer=10.0.0.1:40001"])
        room.joinAdmin("mallory", password: "wrong")
        #expect(room.logs.map(\.summary) == ["admin-login-failed chat_account=admin chat_failures=1 chat_peer=10.0.0.2:40002 chat_reason=incorrect password"])
        #expect(room.logs.first?.level == .warning)

        let disabled = RoomDriver(adminPassword: nil)
        disabled.joinAdmin()
        #expect(disabled.logs.map(\.summary) == ["admin-login-failed chat_peer=10.0.0.1:40001 chat_reason=admin login disabled"])
    }

    @Test func refusedJoinsAndBannedConnections_areLoggedWithReason() {
        let room = RoomDriver()
        room.join("alice")
        room.join("dup", nick: "ALICE")
        #expect(room.logs.map(\.summary) == ["join-refused chat_peer=10.0.0.2:40002 chat_reason=nickname in use"])
        room.join("x", nick: "admin")
        #expect(room.logs.map(\.summary) == ["join-refused chat_peer=10.0.0.3:40003 chat_reason=tried the admin nick without a password"])
        room.open("y")
        room.receive("y", "hi")
        #expect(room.logs.map(\.summary) == ["join-refused chat_peer=10.0.0.4:40004 chat_reason=first message was not NICK: or admin:"])

        room.joinAdmin()
        room.receive("admin", "/ban alice")
        room.open("back", address: room.address("alice"))
        #expect(room.logs.map(\.summary) == ["banned-connection-refused chat_address=10.0.0.1 chat_peer=10.0.0.1:40006"])
        #expect(room.logs.first?.level == .notice)
    }

    @Test func chatBodies_areNotLogged_byDefault() {
        let room = RoomDriver()
        room.join("alice")
        room.receive("alice", "private matters")
        #expect(room.logs.isEmpty)
    }

    @Test func chatBodies_areLoggedAtDebug_whenAskedFor() {
        let room = RoomDriver(logMessageBodies: true)
        room.join("alice")
        #expect(room.receive("alice", "hello there") == [.broadcast("alice: hello there", to: ["alice"])])
        #expect(room.logs.count == 1)
        #expect(room.logs.first?.event == "message")
        #expect(room.logs.first?.level == .debug)
        #expect(room.logs.first?.message == "alice: hello there")
        #expect(room.logs.first?.fields == ["chat_nick": "alice", "chat_peer": "10.0.0.1:40001"])
        // Chat that goes through the command parser first is logged the same way.
        room.receive("alice", "/\u{A0}odd")
        #expect(room.logs.first?.message == "alice: /\u{A0}odd")
    }

    @Test func configuration_canBeChangedWhileRunning() {
        let room = RoomDriver(adminPassword: nil)
        room.room.configuration.adminPasswordHash = TestPassword.of(password: "late")
        #expect(room.joinAdmin(password: "late") == [
            .send("Connected to the server", to: "admin"),
            .broadcast("An admin has joined the chat!", to: ["admin"]),
        ])
    }
}
