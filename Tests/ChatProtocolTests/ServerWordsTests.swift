import ChatProtocol
import Testing

@Suite("The server's words: limits, slowmode waits, control requests")
struct ServerWordsTests {
    @Test(arguments: [
        ServerLimits(maximumLineBytes: 65536, linesPerSecond: 10, burst: 20),
        ServerLimits(maximumLineBytes: 1000, linesPerSecond: 2.5, burst: 4),
        ServerLimits(maximumLineBytes: 64, linesPerSecond: 0.25, burst: 1),
        ServerLimits(maximumLineBytes: 64, linesPerSecond: 0, burst: 0),
    ])
    func limits_roundTripThroughTheirLine(limits: ServerLimits) {
        #expect(ServerLimits(parsing: limits.text) == limits)
    }

    @Test func limits_lineIsReadableAndOtherLinesAreNotLimits() {
        #expect(ServerLimits(maximumLineBytes: 65536, linesPerSecond: 10, burst: 20).text
                == "[server] Limits: lines up to 65536 bytes, 10 per second in bursts of 20.")
        #expect(ServerLimits(maximumLineBytes: 100, linesPerSecond: 0, burst: 5).text == "[server] Limits: lines up to 100 bytes, no rate limit.")
        for text in ["alice: [server] Limits: lines up to 1 bytes, no rate limit.", "[server] Limits: lines up to x bytes, no rate limit.",
                     "[server] Limits: lines up to 10 bytes, 3 per second in bursts of -1.", "[server] hello"] {
            #expect(ServerLimits(parsing: text) == nil, "\(text)")
        }
    }

    @Test func slowmodeWait_isReadBack() {
        #expect(ServerReply.slowmodeWaitSeconds(ServerReply.slowmodeWait(5)) == 5)
        #expect(ServerReply.slowmodeWaitSeconds(ServerReply.slowmodeWait(125)) == 125)
        #expect(ServerReply.slowmodeWaitSeconds(ServerReply.slowmodeWait(90_061)) == 90_000, "shown in its two largest units")
        #expect(ServerReply.slowmodeWaitSeconds("Slowmode is on: one message every 5s per member.") == nil)
    }

    @Test func controlRequests_parse() {
        #expect(ControlSyntax.parse("  --json   ban bob 1h spam ") == (json: true, command: "ban", arguments: "bob 1h spam") as (Bool, String, String))
        #expect(ControlSyntax.parse("WHO") == (false, "who", ""))
        #expect(ControlSyntax.parse("--jsonx who") == (false, "--jsonx", "who"))
        #expect(ControlSyntax.parse("") == (false, "", ""))
        #expect(ControlSyntax.request(json: true, words: ["kick", "bob"]) == "--json kick bob")
    }
}
