import Logging
import Testing
@testable import Systemd

@Suite("Journal entries")
struct JournalLogHandlerTests {
    private func fields(_ handler: JournalLogHandler, level: Logger.Level = .info, message: Logger.Message = "hello",
                        metadata: Logger.Metadata? = nil) -> [String: String] {
        let event = LogEvent(level: level, message: message, metadata: metadata, source: "Test",
                             file: "Sources/Thing.swift", function: "run()", line: 42)
        var result: [String: String] = [:]
        for field in handler.fields(for: event) {
            let text = String(decoding: field, as: UTF8.self)
            let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result[String(parts[0])] = String(parts[1])
        }
        return result
    }

    @Test func entry_hasMessagePriorityIdentifierAndCodeLocation() {
        let entry = fields(JournalLogHandler(identifier: "chatroomd"), level: .warning)
        #expect(entry["MESSAGE"] == "hello")
        #expect(entry["PRIORITY"] == "4")
        #expect(entry["SYSLOG_IDENTIFIER"] == "chatroomd")
        #expect(entry["CODE_FILE"] == "Sources/Thing.swift")
        #expect(entry["CODE_LINE"] == "42")
        #expect(entry["CODE_FUNC"] == "run()")
    }

    @Test(arguments: [
        (Logger.Level.trace, "7"), (.debug, "7"), (.info, "6"), (.notice, "5"),
        (.warning, "4"), (.error, "3"), (.critical, "2"),
    ])
    func priority_followsSyslogLevels(level: Logger.Level, priority: String) {
        #expect(fields(JournalLogHandler(identifier: "x"), level: level)["PRIORITY"] == priority)
    }

    @Test func metadataKeys_becomeValidJournalFieldNames() {
        let entry = fields(JournalLogHandler(identifier: "x"),
                           metadata: ["chat_nick": "alice", "chat.peer": "127.0.0.1:5", "-weird key": "v"])
        #expect(entry["CHAT_NICK"] == "alice")
        #expect(entry["CHAT_PEER"] == "127.0.0.1:5")
        #expect(entry["WEIRD_KEY"] == "v")
        for name in entry.keys {
            #expect(name.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }, "\(name)")
            #expect(!name.hasPrefix("_"))
        }
    }

    @Test func knownEvent_getsItsMessageID_unknownEventNone() {
        let handler = JournalLogHandler(identifier: "x", eventKey: "chat_event",
                                        messageIDs: ["kick": "0f29a510f7ac4eb7822a663555f41c63"])
        #expect(fields(handler, metadata: ["chat_event": "kick"])["MESSAGE_ID"] == "0f29a510f7ac4eb7822a663555f41c63")
        #expect(fields(handler, metadata: ["chat_event": "other"])["MESSAGE_ID"] == nil)
    }

    @Test func explicitMetadata_overridesHandlerMetadata_andCannotForgeReservedFields() {
        var handler = JournalLogHandler(identifier: "x")
        handler[metadataKey: "chat_by"] = "handler"
        let entry = fields(handler, metadata: ["chat_by": "explicit", "message": "forged"])
        #expect(entry["CHAT_BY"] == "explicit")
        #expect(entry["MESSAGE"] == "hello")
    }

    @Test(arguments: [
        ("chat_nick", "CHAT_NICK"), ("client.id", "CLIENT_ID"), ("_private", "PRIVATE"),
        ("9lives", "F_9LIVES"), ("", "FIELD"), ("ümlaut", "MLAUT"),
    ])
    func fieldNames_areSanitized(key: String, expected: String) {
        #expect(JournalFieldName.sanitize(key) == expected)
    }

    @Test func clientText_isEscapedInMessageAndFields() {
        let account = "x\n2024-01-01T00:00:00+0000 notice chatroomd: admin-login\t\u{1B}[2J\u{A0}\u{202E}"
        let entry = fields(JournalLogHandler(identifier: "x"), message: "login failed for \(account)",
                           metadata: ["chat_account": .string(account), "chat_list": .array([.string("a\u{85}b")])])
        let escaped = "x\\n2024-01-01T00:00:00+0000 notice chatroomd: admin-login\\t\\u{1B}[2J\\u{A0}\\u{202E}"
        #expect(entry["MESSAGE"] == "login failed for " + escaped)
        #expect(entry["CHAT_ACCOUNT"] == escaped)
        #expect(entry["CHAT_LIST"] == "[a\\u{85}b]")
        for (name, value) in entry {
            #expect(!value.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, "\(name)")
        }
    }
}
