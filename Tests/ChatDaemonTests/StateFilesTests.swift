@testable import ChatDaemon
import ChatCore
import Testing

/// `StateFiles`: each field of each state file range-checked on its own.
@Suite("State files: entries validated one by one")
struct StateFilesTests {
    static let good = #"{"kind": "ban", "range": "127.0.0.2", "nick": "bob", "reason": "spam", "setBy": "admin", "setAt": 1700000000, "expiresAt": 1700000600}"#

    static func sanctions(_ entries: [String], version: Int = 1) throws(StateFiles.Unreadable) -> StateFiles.Contents<Sanction> {
        try StateFiles.sanctions(Array(#"{"version": \#(version), "sanctions": ["#.utf8) + Array(entries.joined(separator: ",").utf8) + Array("]}".utf8))
    }

    /// One field changed in an otherwise good entry: (what, replacement entry, the report's start).
    static let badSanctions: [(String, String, String)] = [
        ("unknown kind", good.replacingOccurrences(#""ban""#, #""shadowban""#), "sanctions[1]: kind \"shadowban\""),
        ("bad range", good.replacingOccurrences(#""127.0.0.2""#, #""127.0.0.2/33""#), "sanctions[1]: range \"127.0.0.2/33\""),
        ("setAt Int64.min", good.replacingOccurrences("1700000000", "-9223372036854775808"), "sanctions[1]: setAt -9223372036854775808 is outside"),
        ("setAt Int64.max", good.replacingOccurrences("1700000000", "9223372036854775807"), "sanctions[1]: setAt 9223372036854775807 is outside"),
        ("setAt after 9999", good.replacingOccurrences("1700000000", "253402300800"), "sanctions[1]: setAt 253402300800 is outside"),
        ("setAt negative", good.replacingOccurrences("1700000000", "-1"), "sanctions[1]: setAt -1 is outside"),
        ("expiresAt Int64.min", good.replacingOccurrences("1700000600", "-9223372036854775808"), "sanctions[1]: expiresAt -9223372036854775808 is outside"),
        ("expiresAt Int64.max", good.replacingOccurrences("1700000600", "9223372036854775807"), "sanctions[1]: expiresAt 9223372036854775807 is outside"),
        ("expiresAt before setAt", good.replacingOccurrences("1700000600", "1699999999"), "sanctions[1]: expiresAt 1699999999 is before setAt 1700000000"),
        ("beyond Int64", good.replacingOccurrences("1700000600", "1e30"), "sanctions[1]: number 1e30 is not a whole number within Int64"),
        ("fraction", good.replacingOccurrences("1700000000", "1.5"), "sanctions[1]: number 1.5 is not a whole number within Int64"),
        ("string time", good.replacingOccurrences("1700000000", #""noon""#), "sanctions[1]: setAt: "),
        ("missing setBy", good.replacingOccurrences(#""setBy": "admin", "#, ""), "sanctions[1]: missing setBy"),
        ("long nick", good.replacingOccurrences(#""bob""#, "\"" + String(repeating: "n", count: 257) + "\""), "sanctions[1]: nick is 257 bytes long"),
        ("long setBy", good.replacingOccurrences(#""admin""#, "\"" + String(repeating: "a", count: 300) + "\""), "sanctions[1]: setBy is 300 bytes long"),
        ("not an object", "42", "sanctions[1]: "),
    ]

    @Test(arguments: badSanctions)
    func badSanctionField_rejectsThatEntryOnly(_ label: String, _ entry: String, _ report: String) throws {
        let contents = try Self.sanctions([Self.good, entry, Self.good])
        #expect(contents.entries.count == 2, "\(label)")
        #expect(contents.rejected.count == 1, "\(label)")
        #expect(contents.rejected.first?.hasPrefix(report) == true, "\(label): \(contents.rejected)")
    }

    @Test func boundaryTimes_areAccepted() throws {
        let entries = [
            Self.good.replacingOccurrences("1700000000", "0").replacingOccurrences("1700000600", "0"),
            Self.good.replacingOccurrences("1700000600", "253402300799"),
            Self.good.replacingOccurrences(#", "expiresAt": 1700000600"#, ""),
        ]
        let contents = try Self.sanctions(entries)
        #expect(contents.rejected == [])
        #expect(contents.entries.map(\.expiresAt) == [0, 253_402_300_799, nil])
    }

    @Test(arguments: [
        ("not JSON", "nope"), ("wrong shape", "[]"), ("missing list", #"{"version": 1}"#),
        ("list of the wrong type", #"{"version": 1, "sanctions": {}}"#),
        ("unknown version", #"{"version": 2, "sanctions": []}"#),
    ])
    func wholeFileProblems_makeItUnreadable(_ label: String, _ text: String) {
        #expect(throws: StateFiles.Unreadable.self, "\(label)") { try StateFiles.sanctions(Array(text.utf8)) }
    }

    @Test func history_badTimeTextOrAddress_rejectedWithIndex() throws {
        let text = """
            {"version": 1, "lines": [
              {"time": 1700000000, "text": "a: ok", "address": "127.0.0.1"},
              {"time": -9223372036854775808, "text": "a: min", "address": "127.0.0.1"},
              {"time": 9223372036854775807, "text": "a: max", "address": "127.0.0.1"},
              {"time": 1700000000, "text": "a: where", "address": "nowhere"},
              {"time": 1700000000, "address": "127.0.0.1"}
            ]}
            """
        let contents = try StateFiles.history(Array(text.utf8))
        #expect(contents.entries.map(\.text) == ["a: ok"])
        #expect(contents.rejected.count == 4)
        #expect(contents.rejected[0].hasPrefix("lines[1]: time -9223372036854775808 is outside"))
        #expect(contents.rejected[1].hasPrefix("lines[2]: time 9223372036854775807 is outside"))
        #expect(contents.rejected[2].hasPrefix("lines[3]: address \"nowhere\""))
        #expect(contents.rejected[3].hasPrefix("lines[4]: missing text"))
    }

    @Test func room_badTopicIsRejected_goodOneLoads() throws {
        let long = String(repeating: "t", count: Topic.maximumCharacters + 1)
        let bad = try StateFiles.room(Array(#"{"version": 1, "topic": {"text": "\#(long)", "setBy": "admin", "setAt": 1}}"#.utf8))
        #expect(bad.entries.isEmpty)
        #expect(bad.rejected.first?.hasPrefix("topic[0]: text is 301 characters long") == true)
        let min = try StateFiles.room(Array(#"{"version": 1, "topic": {"text": "hi", "setBy": "admin", "setAt": -9223372036854775808}}"#.utf8))
        #expect(min.entries.isEmpty && min.rejected.count == 1)
        let good = try StateFiles.room(Array(#"{"version": 1, "topic": {"text": "hi", "setBy": "admin", "setAt": 5}}"#.utf8))
        #expect(good.entries == [Topic(text: "hi", setBy: "admin", setAt: 5)])
        #expect(try StateFiles.room(Array(#"{"version": 1}"#.utf8)).entries.isEmpty)
    }

    /// What is saved loads back unchanged and without complaint.
    @Test func encodedEntries_roundTrip() throws {
        let range = try #require(IPRange(parsing: "2001:db8::/32"))
        let sanctions = [Sanction(kind: .mute, range: range, nick: "x\n", reason: "\u{1B}", setBy: "a", setAt: 0, expiresAt: 253_402_300_799)]
        let contents = try StateFiles.sanctions(try StateFiles.encode(sanctions: sanctions))
        #expect(contents.entries == sanctions && contents.rejected.isEmpty)
    }

    /// ChatCore's arithmetic on times never traps, whatever a Sanction or History.Entry
    /// holds (a caller other than the loader may build one).
    @Test func extremeTimes_neverTrapInChatCore() throws {
        let range = try #require(IPRange(parsing: "127.0.0.1"))
        let address = try #require(IPAddress(parsing: "127.0.0.1"))
        let extremes: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max]
        let nows = extremes.map { RoomTime(nanoseconds: 0, unixNanoseconds: $0) }
        for setAt in extremes {
            for expiresAt in extremes + [nil] as [Int64?] {
                let sanction = Sanction(kind: .ban, range: range, setBy: "a", setAt: setAt, expiresAt: expiresAt)
                if let duration = sanction.durationSeconds { #expect(duration >= 0) }
                for now in nows {
                    _ = sanction.isExpired(at: now.unixSeconds)
                    if let left = sanction.secondsLeft(at: now) { #expect(left >= 0) }
                }
            }
            #expect(History.render(History.Entry(unixSeconds: setAt, text: "x", address: address)).hasSuffix("Z] x"))
        }
    }
}

private extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
