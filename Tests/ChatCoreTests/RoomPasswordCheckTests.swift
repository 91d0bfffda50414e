import ChatCore
import Testing

/// Password checks happen off the loop: the Room asks (`.verifyPassword`) and carries on;
/// the answer comes later. Checks in flight are capped per host and in all, frames sent
/// while an `admin:` login is checked wait for it, and unknown accounts go through a
/// decoy hash so their answer takes as long.
@Suite("Room: password checks off the loop")
struct RoomPasswordCheckTests {
    static func room(perAddress: Int = 2, inFlight: Int = 32, decoy: Bool = false) -> RoomDriver {
        var configuration = RoomDriver.configuration(accounts: ["mod": TestPassword.of(password: "m1")])
        configuration.passwordChecksPerAddress = perAddress
        configuration.passwordChecksInFlight = inFlight
        if decoy { configuration.decoyVerifier = TestPassword.of(password: "nobody knows") }
        let room = RoomDriver(configuration: configuration, now: RoomDriver.wallStart)
        room.completesPasswordChecks = false
        return room
    }

    @Test func aLogin_waitsForItsCheck_whileTheMemberChatsOn() throws {
        let room = Self.room()
        room.join("alice")
        #expect(room.receive("alice", "/login mod m1") == [])
        #expect(room.pendingChecks.count == 1)
        #expect(room.receive("alice", "still here") == [.broadcast("alice: still here", to: ["alice"])])
        #expect(room.receive("alice", "/login mod m1") == [.send("Your login is still being checked; wait for its answer.", to: "alice")])
        #expect(room.answerCheck(try #require(room.pendingChecks.first)) == [
            .send("You are now an admin (account mod).", to: "alice"),
            .broadcast("alice is now an admin.", to: ["alice"]),
        ])
    }

    @Test func anAdminGreeting_holdsItsFrames_untilAdmitted_thenHandlesThemInOrder() throws {
        let room = Self.room()
        room.join("bob")
        room.open("admin")
        #expect(room.receive("admin", "admin:" + RoomDriver.secret) == [])
        #expect(room.receive("admin", "first") == [])
        #expect(room.receive("admin", "/kick bob") == [])
        let outs = room.answerCheck(try #require(room.pendingChecks.first))
        #expect(outs.first == .send("Connected to the server", to: "admin"))
        #expect(outs.contains(.broadcast("admin: first", to: ["admin", "bob"])))
        #expect(outs.contains(.broadcast("bob has been kicked from the server.", to: ["admin"])))
    }

    @Test func anAdminGreeting_thatSendsTooMuchBeforeItsAnswer_isClosed() {
        let room = Self.room()
        room.open("eager")
        room.receive("eager", "admin:wrong")
        for index in 0..<16 { #expect(room.receive("eager", "line \(index)") == []) }
        #expect(room.receive("eager", "one too many") == [
            .send("Protocol error: too many messages before the login was answered.", to: "eager"), .close("eager"),
        ])
    }

    @Test func checksInFlight_areCappedPerHost_andInAll() {
        let room = Self.room(perAddress: 2, inFlight: 3)
        for (index, label) in ["a", "b", "c"].enumerated() {
            room.open(label, address: IPAddress(v4: 192, 0, 2, 7))
            #expect(room.receive(label, "admin:guess\(index)") == (index < 2 ? [] : [
                .send("The server is checking too many logins right now; try again in a few seconds.", to: label), .close(label),
            ]))
        }
        room.open("d", address: IPAddress(v4: 192, 0, 2, 8))
        #expect(room.receive("d", "admin:guess") == [])
        room.open("e", address: IPAddress(v4: 192, 0, 2, 9))
        #expect(room.receive("e", "admin:guess") == [
            .send("The server is checking too many logins right now; try again in a few seconds.", to: "e"), .close("e"),
        ], "three in flight in all")
        #expect(room.pendingChecks.count == 3)
        for check in room.pendingChecks { room.answerCheck(check) }
        room.open("f", address: IPAddress(v4: 192, 0, 2, 7))
        room.receive("f", "admin:" + RoomDriver.secret)
        #expect(room.pendingChecks.count == 1, "answered checks free their places")
    }

    @Test func anUnknownAccount_isCheckedAgainstTheDecoy_andFailsLikeAWrongPassword() throws {
        let room = Self.room(decoy: true)
        room.join("alice")
        #expect(room.receive("alice", "/login nosuch nobody knows") == [])
        #expect(room.answerCheck(try #require(room.pendingChecks.first)) == [
            .send("Login failed: unknown account or wrong password.", to: "alice"),
        ], "even the decoy's own password does not log in")
        #expect(room.log("admin-login-failed")?.fields["chat_reason"] == "unknown account")
    }

    @Test func anAnswerForAConnectionThatLeft_isForgotten_butTheFailureCounts() throws {
        let room = Self.room()
        room.join("alice")
        room.receive("alice", "/login mod wrong")
        room.closed("alice")
        #expect(room.answerCheck(try #require(room.pendingChecks.first)) == [])
        #expect(room.log("admin-login-failed")?.fields["chat_failures"] == "1")
    }
}
