import ChatCore
import Testing

@Suite("Notice")
struct NoticeTests {
    /// Clients written for the original server match on these, so they must not change.
    @Test func originalServerTexts_areKeptByteForByte() {
        #expect(Notice.connected == "Connected to the server")
        #expect(Notice.joined("alice") == "alice has joined the chat!")
        #expect(Notice.adminJoined == "An admin has joined the chat!")
        #expect(Notice.incorrectPassword == "Incorrect password.")
        #expect(Notice.left("alice") == "[CLIENT DISCONNECT - alice]")
        #expect(Notice.youWereKicked == "You have been kicked by an admin.")
        #expect(Notice.kicked("bob") == "bob has been kicked from the server.")
        #expect(Notice.youWereBanned == "You have been banned by an admin.")
        #expect(Notice.banned("bob") == "bob has been banned from the server.")
    }

    @Test func newTexts_readAsDocumented() {
        #expect(Notice.shuttingDown == "Server is shutting down.")
        #expect(Notice.addressBanned == "You are banned from this server.")
        #expect(Notice.nickInUse("Alice") == "The nickname Alice is already in use. Choose another one.")
        #expect(Notice.invalidNick(.empty)
                == "Invalid nickname: it is empty. Use up to 32 bytes with at least one letter or digit, and no spaces.")
        #expect(Notice.adminOnly("kick") == "Only an admin can use /kick.")
        #expect(Notice.usage("/ban <nick>") == "Usage: /ban <nick>")
        #expect(Notice.noSuchMember("zed") == "No member is called zed.")
        #expect(Notice.cannotTargetYourself("ban") == "You cannot /ban yourself.")
        #expect(Notice.protocolError("frame too large") == "Protocol error: frame too large.")
        #expect(Notice.unknownCommand("foo") == "Unknown command /foo. Type /help for the list.")
    }
}
