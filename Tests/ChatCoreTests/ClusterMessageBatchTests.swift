import ChatCore
import Testing

/// Several messages in one PUBLISH: each comes out once, in order, and a damaged batch
/// gives what precedes the damage and nothing invented after it.
@Suite("ClusterMessage: batches")
struct ClusterMessageBatchTests {
    static let messages = [
        ClusterMessage(node: "n1", sequence: 1, body: .line("alice: hello", kept: true)),
        ClusterMessage(node: "n1", sequence: 2, body: .joined(nick: "bob")),
        ClusterMessage(node: "n1", sequence: 3, body: .line("with 12:colons: and digits 3:x", kept: false)),
        ClusterMessage(node: "n1", sequence: 4, body: .privateMessage(from: "alice", to: "zed", text: "psst")),
    ]

    static func decoded(_ payload: [UInt8]) -> [ClusterMessage] {
        var out: [ClusterMessage] = []
        payload.withUnsafeBytes { ClusterMessage.forEach(in: $0) { out.append($0) } }
        return out
    }

    static func batch(_ messages: [ClusterMessage]) -> [UInt8] {
        var payload: [UInt8] = []
        for message in messages { ClusterMessage.appendToBatch(message.encoded(), &payload) }
        return payload
    }

    @Test func aBatchGivesEveryMessageInOrder() {
        #expect(Self.decoded(Self.batch(Self.messages)) == Self.messages)
    }

    @Test func aLoneMessageIsReadAsBefore() {
        #expect(Self.decoded(Self.messages[0].encoded()) == [Self.messages[0]])
    }

    @Test func everyTruncationGivesAPrefixAndNeverCrashes() {
        let payload = Self.batch(Self.messages)
        for length in 0..<payload.count {
            let got = Self.decoded(Array(payload.prefix(length)))
            #expect(got == Array(Self.messages.prefix(got.count)), "cut at \(length)")
            #expect(got.count < Self.messages.count, "cut at \(length)")
        }
    }

    @Test func aDamagedEntryIsSkippedAndABatchInsideABatchIsNotFollowed() {
        var payload = Self.batch([Self.messages[0]])
        ClusterMessage.appendToBatch(Array("9Lgarbage".utf8), &payload)
        ClusterMessage.appendToBatch(Self.batch([Self.messages[1]]), &payload)
        ClusterMessage.appendToBatch(Self.messages[2].encoded(), &payload)
        #expect(Self.decoded(payload) == [Self.messages[0], Self.messages[2]])
    }

    @Test func aLengthPastTheEndStopsTheBatch() {
        var payload = Self.batch([Self.messages[0]])
        payload += Array("99999:1L".utf8)
        #expect(Self.decoded(payload) == [Self.messages[0]])
    }
}
