import ChatProtocol
import Testing

@Suite("ClientRequest")
struct ClientRequestTests {
    @Test(arguments: [
        ("NICK:alice", ClientRequest.join(nick: "alice")),
        ("NICK:", .join(nick: "")),
        ("NICK: spaced ", .join(nick: " spaced ")),
        ("NICK:NICK:x", .join(nick: "NICK:x")),
        ("admin:secret", .adminJoin(password: "secret")),
        ("admin:", .adminJoin(password: "")),
        ("admin:pass word:with colon", .adminJoin(password: "pass word:with colon")),
        ("nick:alice", .unrecognizedGreeting("nick:alice")),
        ("Admin:secret", .unrecognizedGreeting("Admin:secret")),
        ("NICK alice", .unrecognizedGreeting("NICK alice")),
        (" NICK:alice", .unrecognizedGreeting(" NICK:alice")),
        ("hello", .unrecognizedGreeting("hello")),
        ("", .unrecognizedGreeting("")),
    ])
    func parseGreeting_recognizesOnlyExactPrefixes(text: String, expected: ClientRequest) {
        #expect(ClientRequest.parseGreeting(text) == expected)
    }

    @Test(arguments: [
        ("!DC", ClientRequest.disconnect),
        ("!dc", .chat("!dc")),
        ("!DC ", .chat("!DC ")),
        (" !DC", .chat(" !DC")),
        ("/kick bob", .command(name: "kick", arguments: "bob")),
        ("/KICK   bob", .command(name: "kick", arguments: "bob")),
        ("/Ban\tbob ", .command(name: "ban", arguments: "bob ")),
        ("/kick bob extra", .command(name: "kick", arguments: "bob extra")),
        ("/ban", .command(name: "ban", arguments: "")),
        ("/whatever", .command(name: "whatever", arguments: "")),
        ("/", .chat("/")),
        ("/ hi", .chat("/ hi")),
        ("/\u{A0}hi", .chat("/\u{A0}hi")),
        ("//", .command(name: "/", arguments: "")),
        ("hello /kick bob", .chat("hello /kick bob")),
        ("", .chat("")),
        ("NICK:bob", .chat("NICK:bob")),
    ])
    func parseMemberFrame_distinguishesDisconnectCommandsAndChat(text: String, expected: ClientRequest) {
        #expect(ClientRequest.parseMemberFrame(text) == expected)
    }

    static func isPlainChat(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { ClientRequest.isPlainChat($0) }
    }

    @Test(arguments: [
        ("", true), ("hello", true), ("/", true), ("/ hi", true), ("/\tx", true), ("!D", true), ("!DCx", true),
        ("!dc", true), ("x/kick", true),
        ("!DC", false), ("/kick bob", false), ("/x", false), ("//", false), ("/é", false),
    ])
    func isPlainChat_flagsOnlyFramesThatMayNotBeChat(text: String, plain: Bool) {
        #expect(Self.isPlainChat(text) == plain)
    }

    @Test func isPlainChat_neverClaimsChatForACommandOrDisconnect() {
        let samples = ["", "a", "/", "//", "/ ", "/ a", "/a", "/a b", "/\u{A0}", "/\u{A0}x", "/\u{2003}x", "/\r\nx",
                       "/\u{301}kick", "!", "!D", "!DC", "!DC!", "!DC\n", "/kick\tbob", "/\u{85}x", "é/kick"]
        for text in samples where Self.isPlainChat(text) {
            #expect(ClientRequest.parseMemberFrame(text) == .chat(text), "\(text.debugDescription)")
        }
    }

    @Test func protocolConstants_matchTheOriginal() {
        #expect(ClientRequest.nickPrefix == "NICK:")
        #expect(ClientRequest.adminPrefix == "admin:")
        #expect(ClientRequest.disconnectText == "!DC")
        #expect(ServerReply.connected == "Connected to the server")
    }
}
