@testable import ChatDaemon
import ChatCore
import Foundation
import Glibc
import Testing

@Suite("StateStore: sanctions.json and history.json")
struct StateStoreTests {
    static func range(_ text: String) throws -> IPRange { try #require(IPRange(parsing: text)) }
    static func address(_ text: String) throws -> IPAddress { try #require(IPAddress(parsing: text)) }

    static func sampleSanctions() throws -> [Sanction] {
        [
            Sanction(kind: .ban, range: try range("127.0.0.2"), nick: "mallory", reason: "spam",
                     setBy: "admin", setAt: 1_700_000_000, expiresAt: 1_700_000_600),
            Sanction(kind: .ban, range: try range("192.0.2.7"), setBy: "chatroomctl:root", setAt: 1_700_000_001),
            Sanction(kind: .ban, range: try range("10.0.0.0/8"), reason: "a whole network", setBy: "alice", setAt: 1_700_000_002),
            Sanction(kind: .ban, range: try range("2001:db8::/32"), setBy: "alice", setAt: 1_700_000_003, expiresAt: 1_800_000_000),
            Sanction(kind: .ban, range: try range("2001:db8:1:2::42"), nick: "v6user", setBy: "alice", setAt: 1_700_000_004),
            Sanction(kind: .mute, range: try range("127.0.0.3"), nick: "bob", reason: "calm down \"please\" ☕",
                     setBy: "admin", setAt: 1_700_000_005, expiresAt: 1_700_003_605),
            Sanction(kind: .mute, range: try range("::1"), nick: "Ünïcødé", setBy: "admin", setAt: 1_700_000_006),
        ]
    }

    @Test func sanctions_roundTrip_timedPermanentCIDRIPv6AndMutes() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        let sanctions = try Self.sampleSanctions()
        try store.save(sanctions: sanctions)

        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.sanctions == sanctions)
        #expect(loaded.history.isEmpty)
        #expect(loaded.setAside.isEmpty)
        // Timed ones keep their absolute expiry; permanent ones stay permanent.
        #expect(loaded.sanctions[0].expiresAt == 1_700_000_600)
        #expect(loaded.sanctions[1].expiresAt == nil)
        #expect(loaded.sanctions[3].range.prefixLength == 32)
        #expect(loaded.sanctions[4].range.isSingleAddress)
        #expect(directory.names() == ["sanctions.json"])
    }

    @Test func sanctions_fileIsVersionedJSON_endingInANewline() throws {
        let directory = try TemporaryDirectory()
        try StateStore(directory: directory.path).save(sanctions: try Self.sampleSanctions())
        let text = try #require(directory.contents("sanctions.json"))
        #expect(text.hasSuffix("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        let records = try #require(object["sanctions"] as? [[String: Any]])
        #expect(records.count == 7)
        #expect(records[2]["range"] as? String == "10.0.0.0/8")
        #expect(records[3]["range"] as? String == "2001:db8::/32")
        #expect(records[5]["kind"] as? String == "mute")
        #expect(records[5]["nick"] as? String == "bob")
    }

    @Test func saving_anEmptyList_roundTrips() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        try store.save(sanctions: try Self.sampleSanctions())
        try store.save(sanctions: [])
        let loaded = store.load()
        #expect(loaded.sanctions.isEmpty)
        #expect(loaded.setAside.isEmpty)
    }

    @Test func history_roundTrip() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        let entries = [
            History.Entry(unixSeconds: 1_700_000_000, text: "alice: hi", address: try Self.address("127.0.0.1")),
            History.Entry(unixSeconds: 1_700_000_001, text: "* bob waves", address: try Self.address("127.0.0.2")),
            History.Entry(unixSeconds: 1_700_000_002, text: "carol: naïve café ☕ 日本語 \"quoted\" \\ back", address: try Self.address("2001:db8::7")),
            History.Entry(unixSeconds: 1_700_000_003, text: "dave: ", address: try Self.address("::1")),
        ]
        try store.save(history: entries)
        let loaded = store.load()
        #expect(loaded.history == entries)
        #expect(loaded.sanctions.isEmpty)
        #expect(loaded.setAside.isEmpty)
    }

    @Test func emptyDirectory_loadsNothing_andReportsNothing() throws {
        let directory = try TemporaryDirectory()
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.sanctions.isEmpty)
        #expect(loaded.history.isEmpty)
        #expect(loaded.setAside.isEmpty)
        #expect(directory.names() == [])
    }

    @Test func corruptSanctions_isSetAside_reported_andNotOverwritten() throws {
        let directory = try TemporaryDirectory()
        let garbage = "{\"version\": 1, \"sanctions\": [ {\"kind\": \"ban\", \"ran"
        try directory.write("sanctions.json", garbage)
        let store = StateStore(directory: directory.path)

        let loaded = store.load()
        #expect(loaded.sanctions.isEmpty)
        #expect(loaded.setAside.count == 1)
        let report = try #require(loaded.setAside.first)
        #expect(report.contains(directory.file("sanctions.json")))
        #expect(report.contains("unreadable"))

        let aside = directory.names().filter { $0.hasPrefix("sanctions.json.corrupt-") }
        #expect(aside.count == 1)
        let name = try #require(aside.first)
        #expect(Int(name.dropFirst("sanctions.json.corrupt-".count)) != nil, "the suffix is the time: \(name)")
        #expect(report.contains("kept aside as \(directory.file(name))"))
        #expect(directory.contents(name) == garbage)
        #expect(!directory.exists("sanctions.json"))

        // The daemon then saves new state: the set-aside file keeps the old bytes.
        try store.save(sanctions: [Sanction(kind: .ban, range: try Self.range("127.0.0.5"), setBy: "admin", setAt: 1)])
        #expect(directory.contents(name) == garbage)
        #expect(store.load().sanctions.count == 1)
        #expect(store.load().setAside.isEmpty)
    }

    @Test(arguments: [
        ("empty file", ""),
        ("not JSON", "this is not json\n"),
        ("wrong shape", "[1, 2, 3]\n"),
        ("missing key", "{\"version\": 1}\n"),
        ("wrong type", "{\"version\": 1, \"sanctions\": \"none\"}\n"),
        ("binary", "\u{0}\u{1}\u{2}\u{FFFD}"),
    ])
    func unreadableSanctions_areSetAside(_ label: String, _ text: String) throws {
        let directory = try TemporaryDirectory()
        try directory.write("sanctions.json", text)
        try StateStore(directory: directory.path).save(history: [
            History.Entry(unixSeconds: 5, text: "a: b", address: try Self.address("127.0.0.1")),
        ])
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.sanctions.isEmpty, "\(label)")
        #expect(loaded.setAside.count == 1, "\(label)")
        // The other file is unaffected.
        #expect(loaded.history.count == 1, "\(label)")
        let aside = directory.names().filter { $0.hasPrefix("sanctions.json.corrupt-") }
        #expect(aside.count == 1, "\(label)")
        if let name = aside.first { #expect(directory.contents(name) == text, "\(label)") }
    }

    @Test func corruptHistory_isSetAside_sanctionsStillLoad() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.path)
        let sanctions = try Self.sampleSanctions()
        try store.save(sanctions: sanctions)
        try directory.write("history.json", "{\"version\": 1, \"lines\": [{\"time\": \"noon\"}]}")
        let loaded = store.load()
        #expect(loaded.sanctions == sanctions)
        #expect(loaded.history.isEmpty)
        // The line is set aside (with a copy of the file), not the whole file.
        #expect(loaded.setAside.count == 2)
        #expect(loaded.setAside.first?.hasPrefix(directory.file("history.json") + ": lines[0]: time: ") == true)
        #expect(directory.names().contains { $0.hasPrefix("history.json.corrupt-") })
    }

    /// "Never overwritten": an earlier set-aside file with the same time suffix (two
    /// unreadable files in one second, e.g. a restart loop) must survive. The aside names
    /// for the seconds around now are planted first so the test does not depend on timing.
    @Test
    func corruptSanctions_doesNotOverwriteAnEarlierCorruptCopy() throws {
        let directory = try TemporaryDirectory()
        let now = Int(Date().timeIntervalSince1970)
        for second in (now - 1)...(now + 3) {
            try directory.write("sanctions.json.corrupt-\(second)", "earlier evidence \(second)")
        }
        try directory.write("sanctions.json", "newer garbage")
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.setAside.count == 1)
        for second in (now - 1)...(now + 3) {
            #expect(directory.contents("sanctions.json.corrupt-\(second)") == "earlier evidence \(second)")
        }
        #expect(directory.names().contains { directory.contents($0) == "newer garbage" })
    }

    @Test func legacyBansFile_isImportedAsPermanentBans() throws {
        let directory = try TemporaryDirectory()
        try directory.write("bans", """
            # banned by the old server
            127.0.0.5

              10.1.0.0/16	
            2001:db8::1
            not-an-address
            """)
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.setAside.isEmpty)
        #expect(loaded.sanctions.map(\.range) == [try Self.range("127.0.0.5"), try Self.range("10.1.0.0/16"), try Self.range("2001:db8::1")])
        for sanction in loaded.sanctions {
            #expect(sanction.kind == .ban)
            #expect(sanction.expiresAt == nil)
            #expect(sanction.setBy == "restored")
        }
        // Importing does not delete or rewrite the legacy file.
        #expect(directory.exists("bans"))
    }

    /// The legacy file as written on Windows, or by an editor set to CRLF.
    @Test
    func legacyBansFile_withCRLFLineEndings_isImported() throws {
        let directory = try TemporaryDirectory()
        try directory.write("bans", "127.0.0.5\r\n10.1.0.0/16\r\n")
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.sanctions.map(\.range) == [try Self.range("127.0.0.5"), try Self.range("10.1.0.0/16")])
    }

    @Test func legacyBansFile_isIgnoredOnceSanctionsJSONExists() throws {
        let directory = try TemporaryDirectory()
        try directory.write("bans", "127.0.0.5\n127.0.0.6\n")
        let store = StateStore(directory: directory.path)
        try store.save(sanctions: [])  // e.g. the imported bans were lifted since
        #expect(store.load().sanctions.isEmpty)
    }

    @Test func saving_intoAMissingDirectory_throwsAProblem() throws {
        let directory = try TemporaryDirectory()
        let store = StateStore(directory: directory.file("gone"))
        #expect(throws: StateStore.Problem.self) { try store.save(sanctions: []) }
        #expect(throws: StateStore.Problem.self) { try store.save(history: []) }
    }

    /// A record the current code cannot read (say, written by a newer version) is set
    /// aside and reported with its index; the others load.
    @Test func recordWithAnUnknownKindOrRange_isSetAside_othersLoad() throws {
        let directory = try TemporaryDirectory()
        try directory.write("sanctions.json", """
            {"version": 1, "sanctions": [
              {"kind": "ban", "range": "127.0.0.7/32", "setBy": "admin", "setAt": 1},
              {"kind": "shadowban", "range": "127.0.0.8/32", "setBy": "admin", "setAt": 1},
              {"kind": "ban", "range": "300.0.0.1/32", "setBy": "admin", "setAt": 1}
            ]}
            """)
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.sanctions.map(\.range) == [try Self.range("127.0.0.7")])
        let path = directory.file("sanctions.json")
        #expect(loaded.setAside.contains { $0.hasPrefix("\(path): sanctions[1]: kind \"shadowban\"") })
        #expect(loaded.setAside.contains { $0.hasPrefix("\(path): sanctions[2]: range \"300.0.0.1/32\"") })
    }

    /// Int64.min and Int64.max times, as a hand edit or a damaged backup could hold: they
    /// used to trap in duration arithmetic. Now each such entry is set aside with its file
    /// and index, the good entries load, the original is copied aside, and the file keeps
    /// only the good ones.
    @Test func extremeTimes_areSetAside_goodEntriesLoad_originalKept() throws {
        let directory = try TemporaryDirectory()
        let original = """
            {"version": 1, "sanctions": [
              {"kind": "ban", "range": "127.0.0.7", "setBy": "admin", "setAt": 1700000000, "expiresAt": 1700000600},
              {"kind": "ban", "range": "127.0.0.8", "setBy": "admin", "setAt": 1700000000, "expiresAt": -9223372036854775808},
              {"kind": "mute", "range": "127.0.0.9", "setBy": "admin", "setAt": -9223372036854775808},
              {"kind": "ban", "range": "127.0.0.10", "setBy": "admin", "setAt": 9223372036854775807},
              {"kind": "ban", "range": "127.0.0.11", "setBy": "admin", "setAt": 1, "expiresAt": 9223372036854775807},
              {"kind": "ban", "range": "127.0.0.12", "setBy": "admin", "setAt": 1, "expiresAt": 9223372036854775808},
              {"kind": "ban", "range": "10.0.0.0/8", "setBy": "admin", "setAt": 1700000000}
            ]}
            """
        try directory.write("sanctions.json", original)
        try directory.write("history.json", """
            {"version": 1, "lines": [
              {"time": -9223372036854775808, "text": "a: old", "address": "127.0.0.1"},
              {"time": 1700000000, "text": "b: fine", "address": "127.0.0.2"}
            ]}
            """)
        let store = StateStore(directory: directory.path)
        let loaded = store.load()
        #expect(loaded.sanctions.map(\.range) == [try Self.range("127.0.0.7"), try Self.range("10.0.0.0/8")])
        #expect(loaded.history.map(\.text) == ["b: fine"])
        let sanctions = directory.file("sanctions.json")
        for (index, field) in [(1, "expiresAt"), (2, "setAt"), (3, "setAt"), (4, "expiresAt"), (5, "number 9223372036854775808")] {
            #expect(loaded.setAside.contains { $0.hasPrefix("\(sanctions): sanctions[\(index)]: \(field)") }, "\(index)")
        }
        #expect(loaded.setAside.contains { $0.hasPrefix("\(directory.file("history.json")): lines[0]: time -9223372036854775808 is outside") })
        let copies = directory.names().filter { $0.hasPrefix("sanctions.json.corrupt-") }
        #expect(copies.count == 1)
        #expect(copies.first.flatMap { directory.contents($0) } == original)
        #expect(loaded.setAside.contains { $0.contains("5 bad entries set aside, 2 loaded") && $0.contains(copies.first ?? "?") })

        // The files were rewritten with the good entries: the next start reports nothing
        // and makes no further copy.
        let again = store.load()
        #expect(again.sanctions == loaded.sanctions)
        #expect(again.history == loaded.history)
        #expect(again.setAside.isEmpty)
        #expect(directory.names().filter { $0.hasPrefix("sanctions.json.corrupt-") }.count == 1)
    }

    @Test func manyBadEntries_areReportedUpToALimitThenCounted() throws {
        let directory = try TemporaryDirectory()
        let bad = Array(repeating: #"{"kind": "ban", "range": "x", "setBy": "a", "setAt": 1}"#, count: 50)
        try directory.write("sanctions.json", #"{"version": 1, "sanctions": ["# + bad.joined(separator: ",") + "]}")
        let loaded = StateStore(directory: directory.path).load()
        #expect(loaded.sanctions.isEmpty)
        #expect(loaded.setAside.count == StateStore.reportedEntriesPerFile + 2)
        #expect(loaded.setAside.contains { $0.hasSuffix("30 more bad entries set aside") })
    }
}
