import ChatClient
import Testing

@Suite("LineStyle and ClientConfiguration")
struct LineStyleTests {
    static let plain = LineStyle(timestamps: false, colour: false, bell: true)

    @Test func plain_isTheSanitisedTextAlone() {
        #expect(Self.plain.render("bob: \u{1B}[2Jhi", me: "alice", clock: "12:34").text == "bob: \u{FFFD}[2Jhi")
        let stamped = LineStyle(timestamps: true, colour: false, bell: false)
        #expect(stamped.render("bob: hi", me: "alice", clock: "12:34").text == "12:34 bob: hi")
    }

    @Test func colour_isStablePerNickAndWrapsOnlyTheNick() {
        let style = LineStyle(timestamps: false, colour: true, bell: false)
        let colour = LineStyle.colour(for: "bob")
        #expect(colour == LineStyle.colour(for: "BOB"))
        #expect(style.render("bob: hi", me: "alice", clock: "").text == colour + "bob\u{1B}[0m: hi")
        #expect(Set(["alice", "bob", "carol", "dave", "erin", "frank"].map(LineStyle.colour(for:))).count > 1)
    }

    @Test(arguments: [("bob: hey alice!", true), ("bob: Alice, look", true), ("bob: malice", false), ("alice: alice", false),
                      ("[PM from bob] psst", true), ("* bob pokes alice", true), ("bob joined", false),
                      ("[history 10:00:00Z] bob: alice?", false)])
    func mentionsAndPrivateMessages_highlightAndRing(frame: String, highlighted: Bool) {
        let rendered = Self.plain.render(frame, me: "alice", clock: "")
        #expect(rendered.highlighted == highlighted)
        #expect(Self.plain.bellText(for: rendered) == (highlighted ? "\u{07}" : ""))
        #expect(LineStyle(timestamps: false, colour: false, bell: false).bellText(for: rendered) == "")
    }

    @Test func configuration_parsesEveryKeyCommentsAndCRLF() throws {
        let text = "# mine\r\nhost = chat.example.org\r\nport=12001\nnick = alice # me\n\ntimestamps = no\ncolor = off\nbell = yes\n"
        let settings = try ClientConfiguration(parsing: text, source: "config")
        var expected = ClientConfiguration()
        expected.host = "chat.example.org"
        expected.port = 12001
        expected.nick = "alice"
        expected.timestamps = false
        expected.colour = false
        expected.bell = true
        #expect(settings == expected)
    }

    @Test(arguments: [("port = 0", "config:1: port"), ("bell = maybe", "config:1: expected yes or no"),
                      ("colour", "config:1: expected key = value"), ("\nfont = big", "config:2: unknown setting")])
    func configuration_errorsNameTheLine(text: String, start: String) {
        #expect(throws: ClientConfiguration.Problem.self) { try ClientConfiguration(parsing: text, source: "config") }
        let message = (try? ClientConfiguration(parsing: text, source: "config")).map { _ in "" }
            ?? { do { _ = try ClientConfiguration(parsing: text, source: "config"); return "" } catch { return "\(error)" } }()
        #expect(message.hasPrefix(start), "\(message)")
    }

    @Test func configurationPath_followsXDG() {
        #expect(ClientConfiguration.path { ["XDG_CONFIG_HOME": "/x", "HOME": "/h"][$0] } == "/x/chatroom/config")
        #expect(ClientConfiguration.path { ["XDG_CONFIG_HOME": "relative", "HOME": "/h"][$0] } == "/h/.config/chatroom/config")
        #expect(ClientConfiguration.path { _ in nil } == nil)
    }
}
