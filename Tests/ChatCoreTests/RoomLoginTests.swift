import ChatCore
import Testing

/// `/login`, `admin:` logins, their logs, and login throttling per address.
@Suite("Room: logins and throttling")
struct RoomLoginTests {
    static let throttledFor1s = "Too many failed logins from your address; try again in 1s."
    static let loginFailed = "Login failed: unknown account or wrong password."

    /// Accounts `admin:secret`, `mod:modpw` and `spacey:correct horse battery`; alice
    /// (10.0.0.1) and bob (10.0.0.2).
    static func room() -> RoomDriver {
        let accounts: [String: any PasswordVerifier] = ["mod": PlainPassword("modpw"),
                                                         "spacey": PlainPassword("correct horse battery")]
        let room = RoomDriver(configuration: RoomDriver.configuration(accounts: accounts), now: RoomDriver.wallStart)
        room.join("alice")
        room.join("bob")
        return room
    }

    // MARK: /login

    @Test(arguments: [
        ("/login mod modpw", "mod"),
        ("/login admin secret", "admin"),
        ("/LOGIN   mod modpw", "mod"),
        ("/login spacey correct horse battery", "spacey"),
    ])
    func login_makesTheMemberAnAdminUnderItsOwnNick(command: String, account: String) throws {
        let room = Self.room()
        #expect(room.receive("alice", command) == [
            .send("You are now an admin (account \(account)).", to: "alice"),
            .broadcast("alice is now an admin.", to: ["alice", "bob"]),
        ])
        #expect(room.logEvents == ["admin-login"])
        let record = try #require(room.log("admin-login"))
        #expect(record.level == .notice)
        #expect(record.message == "alice logged in as admin account \(account) from 10.0.0.1:40001")
        #expect(record.fields == ["chat_nick": "alice", "chat_account": account, "chat_peer": "10.0.0.1:40001"])
        #expect(room.memberNicks == ["alice", "bob"])
        #expect(room.receive("alice", "/who") == [.send("2 members: alice [admin], bob", to: "alice")])
        #expect(room.receive("alice", "/kick bob") == [
            .send("You have been kicked by an admin.", to: "bob"),
            .close("bob"),
            .broadcast("bob has been kicked from the server.", to: ["alice"]),
        ])
        #expect(room.receive("alice", "/login mod modpw") == [.send("You are already an admin.", to: "alice")])
    }

    @Test func loggedInAdmin_mayTakeTheAdminNick_whenItIsFree() {
        let room = Self.room()
        room.receive("alice", "/login mod modpw")
        #expect(room.receive("alice", "/nick admin") == [
            .broadcast("alice is now known as admin.", to: ["alice", "bob"]),
        ])
    }

    @Test(arguments: [
        ("/login mod wrong", "mod", "incorrect password", "Failed login to account mod from 10.0.0.1:40001"),
        ("/login mod MODPW", "mod", "incorrect password", "Failed login to account mod from 10.0.0.1:40001"),
        ("/login mod modpw ", "mod", "incorrect password", "Failed login to account mod from 10.0.0.1:40001"),
        ("/login admin wrong", "admin", "incorrect password", "Failed admin login from 10.0.0.1:40001"),
        ("/login MOD modpw", "MOD", "unknown account", "Failed login to unknown account MOD from 10.0.0.1:40001"),
        ("/login nobody x", "nobody", "unknown account", "Failed login to unknown account nobody from 10.0.0.1:40001"),
    ])
    func failedLogin_isToldVaguely_andLoggedWithTheReason(command: String, account: String, reason: String,
                                                         message: String) throws {
        let room = Self.room()
        #expect(room.receive("alice", command) == [.send(Self.loginFailed, to: "alice")])
        #expect(room.logEvents == ["admin-login-failed"])
        let record = try #require(room.log("admin-login-failed"))
        #expect(record.level == .warning)
        #expect(record.message == message)
        #expect(record.fields == ["chat_peer": "10.0.0.1:40001", "chat_account": account, "chat_reason": reason,
                                  "chat_failures": "1"])
        #expect(room.receive("alice", "/kick bob") == [.send("Only an admin can use /kick.", to: "alice")])
    }

    @Test(arguments: ["/login", "/login mod", "/login   mod", "/login mod "])
    func login_withoutAPassword_isAUsageError_notAFailure(command: String) {
        let room = Self.room()
        #expect(room.receive("alice", command) == [.send("Usage: /login <account> <password>", to: "alice")])
        #expect(room.logs.isEmpty)
    }

    @Test func adminWhoJoinedWithThePassword_isAlreadyAnAdmin() {
        let room = Self.room()
        room.joinAdmin()
        #expect(room.receive("admin", "/login mod modpw") == [.send("You are already an admin.", to: "admin")])
        #expect(room.receive("admin", "/login") == [.send("Usage: /login <account> <password>", to: "admin")])
    }

    @Test func login_withNoAccountsConfigured_failsWithoutCountingAgainstTheAddress() throws {
        let room = RoomDriver(configuration: Room.Configuration(), now: RoomDriver.wallStart)
        room.join("alice")
        for _ in 1...5 {
            #expect(room.receive("alice", "/login admin secret") == [.send(Self.loginFailed, to: "alice")])
            #expect(try #require(room.log("admin-login-failed")).fields == [
                "chat_peer": "10.0.0.1:40001", "chat_reason": "admin login disabled",
            ])
        }
        // Any other account name is an unknown account, and counts.
        room.receive("alice", "/login mod x")
        #expect(try #require(room.log("admin-login-failed")).fields == [
            "chat_peer": "10.0.0.1:40001", "chat_account": "mod", "chat_reason": "unknown account", "chat_failures": "1",
        ])
    }

    // MARK: admin: logins

    @Test func adminPasswordLogin_isLoggedWithTheAccount() throws {
        let room = Self.room()
        room.joinAdmin()
        let record = try #require(room.log("admin-login"))
        #expect(record.level == .info)
        #expect(record.message == "Admin logged in from 10.0.0.3:40003")
        #expect(record.fields == ["chat_nick": "admin", "chat_account": "admin", "chat_peer": "10.0.0.3:40003"])
    }

    @Test func adminPasswordLogin_wrong_isRefusedClosedAndLoggedWithTheFailureCount() throws {
        let room = Self.room()
        for failures in 1...2 {
            #expect(room.joinAdmin("guess\(failures)", password: "nope", address: ip("192.0.2.7")) == [
                .send("Incorrect password.", to: "guess\(failures)"),
                .close("guess\(failures)"),
            ])
            #expect(room.closeReasons == ["guess\(failures)": "incorrect admin password"])
            #expect(room.logEvents == ["admin-login-failed"], "one record, no join-refused besides")
            let record = try #require(room.log("admin-login-failed"))
            #expect(record.message == "Failed admin login from \(room.peer("guess\(failures)"))")
            #expect(record.fields == ["chat_peer": room.peer("guess\(failures)"), "chat_account": "admin",
                                      "chat_reason": "incorrect password", "chat_failures": "\(failures)"])
        }
    }

    @Test func adminPasswordLogin_withOnlyOtherAccounts_isRefusedAsDisabled_butCounted() throws {
        let room = RoomDriver(configuration: Room.Configuration(accounts: ["mod": PlainPassword("modpw")]), now: RoomDriver.wallStart)
        #expect(room.joinAdmin(password: "modpw") == [
            .send("Admin login is disabled on this server (no admin password hash is configured).", to: "admin"),
            .close("admin"),
        ])
        #expect(try #require(room.log("admin-login-failed")).fields == [
            "chat_peer": "10.0.0.1:40001", "chat_account": "admin", "chat_reason": "unknown account", "chat_failures": "1",
        ])
    }

    // MARK: Throttling

    @Test func throttle_afterThreeFailures_waitsTwiceAsLongEachTime() throws {
        let room = Self.room()
        for failures in 1...3 {
            #expect(room.receive("alice", "/login mod wrong") == [.send(Self.loginFailed, to: "alice")])
            #expect(try #require(room.log("admin-login-failed")).fields["chat_failures"] == "\(failures)")
        }
        // Even the right password is refused while throttled, and that attempt does not count.
        #expect(room.receive("alice", "/login mod modpw") == [.send(Self.throttledFor1s, to: "alice")])
        let throttled = try #require(room.log("admin-login-failed"))
        #expect(throttled.level == .warning)
        #expect(throttled.message == "Login to mod from 10.0.0.1:40001 refused: throttled for 1 s")
        #expect(throttled.fields == ["chat_peer": "10.0.0.1:40001", "chat_account": "mod", "chat_reason": "throttled"])
        room.advance(0.5)
        #expect(room.receive("alice", "/login mod modpw") == [.send(Self.throttledFor1s, to: "alice")], "rounded up")

        room.advance(0.5)
        #expect(room.receive("alice", "/login mod wrong") == [.send(Self.loginFailed, to: "alice")])
        #expect(try #require(room.log("admin-login-failed")).fields["chat_failures"] == "4")
        #expect(room.receive("alice", "/login mod modpw") == [
            .send("Too many failed logins from your address; try again in 2s.", to: "alice"),
        ])
        room.advance(2)
        room.receive("alice", "/login nobody x")
        #expect(try #require(room.log("admin-login-failed")).fields["chat_failures"] == "5")
        #expect(room.receive("alice", "/login mod modpw") == [
            .send("Too many failed logins from your address; try again in 4s.", to: "alice"),
        ])
        room.advance(4)
        #expect(room.receive("alice", "/login mod modpw") == [
            .send("You are now an admin (account mod).", to: "alice"),
            .broadcast("alice is now an admin.", to: ["alice", "bob"]),
        ])
    }

    @Test func throttle_holdsTheAddress_notTheConnection() {
        let room = Self.room()
        for _ in 1...3 { room.receive("alice", "/login mod wrong") }
        // bob, on another address, is not held...
        #expect(room.receive("bob", "/login mod modpw").first == .send("You are now an admin (account mod).", to: "bob"))
        // ...but another member on alice's address is, and so is an admin: login from it.
        room.join("carol", address: room.address("alice"))
        #expect(room.receive("carol", "/login admin secret") == [.send(Self.throttledFor1s, to: "carol")])
        #expect(room.joinAdmin(address: room.address("alice")) == [
            .send(Self.throttledFor1s, to: "admin"),
            .close("admin"),
        ])
        #expect(room.closeReasons == ["admin": "login throttled"])
        #expect(room.logEvents == ["admin-login-failed"])
        #expect(room.log("admin-login-failed")?.fields["chat_reason"] == "throttled")
        room.advance(1)
        #expect(room.joinAdmin(address: room.address("alice")).first == .send("Connected to the server", to: "admin"))
    }

    @Test func adminPasswordGuesses_throttleTheAddress_forTheRightPasswordToo() {
        let room = Self.room()
        let guesser = ip("203.0.113.66")
        for n in 1...3 {
            #expect(room.joinAdmin("guess\(n)", password: "guess", address: guesser) == [
                .send("Incorrect password.", to: "guess\(n)"), .close("guess\(n)"),
            ])
        }
        #expect(room.joinAdmin("admin", address: guesser) == [.send(Self.throttledFor1s, to: "admin"), .close("admin")])
        #expect(room.memberNicks == ["alice", "bob"])
        room.advance(1)
        #expect(room.joinAdmin("admin", address: guesser) == [
            .send("Connected to the server", to: "admin"),
            .broadcast("An admin has joined the chat!", to: ["admin", "alice", "bob"]),
        ])
    }

    @Test func success_clearsTheAddressesFailures() throws {
        let room = Self.room()
        room.join("carol", address: room.address("alice"))
        room.receive("alice", "/login mod wrong")
        room.receive("alice", "/login mod wrong")
        room.receive("alice", "/login mod modpw")
        room.receive("carol", "/login mod wrong")
        #expect(try #require(room.log("admin-login-failed")).fields["chat_failures"] == "1")
    }

    @Test func throttle_isCappedAtFiveMinutes() throws {
        let room = Self.room()
        for failures in 1...12 {
            room.advance(300)
            #expect(room.receive("alice", "/login mod wrong") == [.send(Self.loginFailed, to: "alice")], "failure \(failures)")
            #expect(try #require(room.log("admin-login-failed")).fields["chat_failures"] == "\(failures)")
        }
        #expect(room.receive("alice", "/login mod modpw") == [
            .send("Too many failed logins from your address; try again in 5m.", to: "alice"),
        ])
        room.advance(299)
        #expect(room.receive("alice", "/login mod modpw") == [
            .send("Too many failed logins from your address; try again in 1s.", to: "alice"),
        ])
    }

    /// Failures are forgotten 15 minutes after the last one, when the clock ticks.
    @Test(arguments: [(899.0, true, "4"), (900.0, true, "1"), (900.0, false, "4"), (3600.0, false, "4")] as [(Double, Bool, String)])
    func failures_areForgottenOnTheTick_fifteenMinutesAfterTheLast(elapsed: Double, ticked: Bool, failures: String) throws {
        let room = Self.room()
        for _ in 1...3 { room.receive("alice", "/login mod wrong") }
        room.advance(elapsed)
        if ticked { #expect(room.tick() == []) }
        room.receive("alice", "/login mod wrong")
        #expect(try #require(room.log("admin-login-failed")).fields["chat_failures"] == failures)
    }

    @Test func throttle_followsTheMonotonicClock_notTheWallClock() {
        let room = Self.room()
        for _ in 1...3 { room.receive("alice", "/login mod wrong") }
        // The wall clock jumps an hour ahead; the monotonic one does not move.
        room.now = RoomTime(nanoseconds: room.now.nanoseconds, unixNanoseconds: room.now.unixNanoseconds + 3_600_000_000_000)
        #expect(room.receive("alice", "/login mod modpw") == [.send(Self.throttledFor1s, to: "alice")])
    }
}
