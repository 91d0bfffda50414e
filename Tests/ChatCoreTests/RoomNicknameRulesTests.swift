import ChatCore
import Testing

/// Rules that know two lookalikes (Cyrillic а and р) and one invisible character, as the
/// daemon's ICU rules do for all of Unicode: the Room must ask its configured rules for
/// every check, lookup and index entry, never the built-in ones.
struct LookalikeRules: NicknameRules {
    static let invisible: Unicode.Scalar = "\u{34F}"

    func problem(with nick: String) -> Nickname.Problem? {
        if let scalar = nick.unicodeScalars.first(where: { $0 == Self.invisible }) { return .invisibleCharacter(scalar) }
        return Nickname.problem(with: nick)
    }

    func key(_ nick: String) -> String {
        String(String.UnicodeScalarView(nick.lowercased().unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar {
            case "\u{430}": return "a"
            case "\u{440}": return "p"
            default: return scalar
            }
        }))
    }
}

@Suite("Room with configured nickname rules")
struct RoomNicknameRulesTests {
    static let cyrillicAlice = "\u{430}lice"
    static let cyrillicAdmin = "\u{430}dmin"
    static let reserved = "The nickname admin is reserved. Log in with admin:<password> instead."
    static let invalidNickTail = ". Use up to 32 bytes with at least one letter or digit, and no spaces."

    static func room() -> RoomDriver {
        var configuration = RoomDriver.configuration()
        configuration.nicknameRules = LookalikeRules()
        let room = RoomDriver(configuration: configuration)
        room.join("alice")
        room.join("bob")
        return room
    }

    @Test func aLookalikeOfAMember_isRefusedAsInUse() {
        let room = Self.room()
        #expect(room.join("impostor", nick: Self.cyrillicAlice) == [
            .send("The nickname \(Self.cyrillicAlice) is already in use. Choose another one.", to: "impostor"),
            .close("impostor"),
        ])
        #expect(room.memberNicks == ["alice", "bob"])
    }

    @Test func aLookalikeOfTheAdminNick_isReserved_atJoinAndRename() {
        let room = Self.room()
        #expect(room.join("impostor", nick: Self.cyrillicAdmin) == [.send(Self.reserved, to: "impostor"), .close("impostor")])
        #expect(room.receive("bob", "/nick \(Self.cyrillicAdmin)") == [.send(Self.reserved, to: "bob")])
        #expect(room.memberNicks == ["alice", "bob"])
    }

    @Test func anInvisibleCharacter_isRefusedWithItsName() {
        let room = Self.room()
        let reason = "Invalid nickname: it contains an invisible character (U+034F COMBINING GRAPHEME JOINER)" + Self.invalidNickTail
        #expect(room.join("impostor", nick: "alice\u{34F}") == [.send(reason, to: "impostor"), .close("impostor")])
        #expect(room.receive("bob", "/nick b\u{34F}ob") == [.send(reason, to: "bob")])
    }

    @Test func renamingToALookalike_isRefused_butToOnesOwnLookalike_isAllowed() {
        let room = Self.room()
        #expect(room.receive("bob", "/nick \(Self.cyrillicAlice)") == [
            .send("The nickname \(Self.cyrillicAlice) is already in use. Choose another one.", to: "bob"),
        ])
        #expect(room.receive("alice", "/nick \(Self.cyrillicAlice)") == [
            .broadcast("alice is now known as \(Self.cyrillicAlice).", to: ["alice", "bob"]),
        ])
        // The index moved with the rename: the old spelling now finds the same member,
        // and once she leaves the nick is free again under the configured key.
        #expect(room.receive("bob", "/msg alice hi") == [
            .send("[PM from bob] hi", to: "alice"), .send("[PM to \(Self.cyrillicAlice)] hi", to: "bob"),
        ])
        room.closed("alice")
        #expect(room.join("again", nick: "alice").first == .send("Connected to the server", to: "again"))
    }

    @Test func aMuteByNick_holdsTheLookalike() {
        let room = Self.room()
        room.joinAdmin()
        room.receive("admin", "/mute alice")
        room.closed("alice")
        // Another address, a lookalike nick: still muted.
        room.join("back", nick: Self.cyrillicAlice, address: IPAddress(v4: 192, 0, 2, 7))
        #expect(room.receive("back", "hello") == [.send("You are muted.", to: "back")])
    }
}
