import ChatClient
import ChatProtocol
import Testing

@Suite("NickBook, Completion, CommandLookalike")
struct CompletionTests {
    static func book(_ frames: [String]) -> NickBook {
        var book = NickBook()
        frames.forEach { book.learn(from: $0) }
        return book
    }

    @Test func nicks_areLearnedFromWhoJoinsRenamesAndSpeakers_andForgottenOnLeave() {
        let book = Self.book(["3 members: alice, bob [admin], carol [muted]", ServerReply.joined("dave"),
                              ServerReply.left("carol"), "bob is now known as bobby.", "erin: hi",
                              "[history 12:00:00Z] frank: old", "* gina waves", "[PM from hal] psst",
                              "[server] Limits: lines up to 65536 bytes, no rate limit.", "Topic: none"])
        #expect(Set(book.nicks) == ["alice", "bobby", "dave", "erin", "frank", "gina", "hal"])
    }

    @Test func tab_completesAUniqueNickWithAColonAtTheLineStart() {
        let book = Self.book([ServerReply.joined("alice"), ServerReply.joined("bob")])
        #expect(Completion.complete("al", atLineStart: true, nicks: book) == .replace("alice: "))
        #expect(Completion.complete("B", atLineStart: false, nicks: book) == .replace("bob "))
        #expect(Completion.complete("zed", atLineStart: false, nicks: book) == .none)
    }

    @Test func tab_extendsTheCommonPrefixThenLists() {
        let book = Self.book([ServerReply.joined("marianne"), ServerReply.joined("marie")])
        #expect(Completion.complete("m", atLineStart: false, nicks: book) == .replace("mari"))
        #expect(Completion.complete("mari", atLineStart: false, nicks: book) == .candidates(["marie", "marianne"]))
    }

    @Test func tab_completesCommandsAtTheLineStart() {
        #expect(Completion.complete("/sl", atLineStart: true, nicks: NickBook()) == .replace("/slowmode "))
        #expect(Completion.complete("/m", atLineStart: true, nicks: NickBook()) == .candidates(["/msg", "/me", "/mute"]))
    }

    @Test(arguments: [("login alice secret", "login"), ("nick bob", "nick"), ("msg bob are you there", "msg"),
                      ("kick troll", "kick"), ("who", "who"), ("HELP", "help"), ("slowmode 10", "slowmode")])
    func lookalikes_areRecognised(line: String, command: String) {
        #expect(CommandLookalike.command(in: line) == command)
    }

    @Test(arguments: ["me too", "say what", "who is here?", "login tomorrow", "nick is here now", "hello", "/login a b", ""])
    func ordinarySentences_areNotLookalikes(line: String) {
        #expect(CommandLookalike.command(in: line) == nil)
    }
}
