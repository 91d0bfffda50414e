import Logging
import Testing
@testable import Systemd

@Suite("Log text escaping")
struct LogTextTests {
    @Test func plainText_isUnchanged() {
        for text in ["", "alice: hi", "héllo wörld ☃ 日本語 🎉", "a b"] {
            #expect(LogText.escape(text) == text)
        }
    }

    @Test(arguments: [
        ("a\nb", "a\\nb"), ("a\rb", "a\\rb"), ("a\tb", "a\\tb"), ("a\\nb", "a\\\\nb"),
        ("\u{1B}[31m", "\\u{1B}[31m"), ("\u{0}", "\\u{0}"), ("\u{7F}", "\\u{7F}"),
        ("\u{85}", "\\u{85}"), ("\u{9B}2J", "\\u{9B}2J"), ("admin\u{A0}", "admin\\u{A0}"),
        ("\u{202A}\u{202E}", "\\u{202A}\\u{202E}"), ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
        ("a\u{2028}b\u{2029}", "a\\u{2028}b\\u{2029}"), ("\u{200B}\u{FEFF}", "\\u{200B}\\u{FEFF}"),
        ("\u{3000}", "\\u{3000}"),
    ])
    func invisibleAndControlScalars_areEscapedVisibly(raw: String, escaped: String) {
        #expect(LogText.escape(raw) == escaped)
    }

    @Test func everyEscapedText_isOneLineOfVisibleScalars() {
        var all = ""
        for value in UInt32(0)...0x3000 { if let scalar = Unicode.Scalar(value) { all.unicodeScalars.append(scalar) } }
        let escaped = LogText.escape(all)
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0xA0).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" || (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value) })
    }

    /// The escape is reversible: distinct inputs never give the same log text.
    @Test func escaping_isInjective() {
        let inputs = ["\n", "\\n", "\\\n", "\u{A}", "\\u{A}", "\u{1B}", "\\u{1B}", "\\\\u{1B}"]
        let outputs = Set(inputs.map(LogText.escape))
        #expect(outputs.count == Set(inputs).count)
    }
}

/// Records what the wrapped handler was asked to print.
private final class Recorder: @unchecked Sendable {
    var events: [LogEvent] = []
}

private struct RecordingHandler: LogHandler {
    let recorder: Recorder
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { recorder.events.append(event) }
}

private struct QuotingError: Error, CustomStringConvertible {
    var description: String { "bad name 'a\nb'" }
}

@Suite("Sanitizing log handler")
struct SanitizingLogHandlerTests {
    @Test func messageMetadataProviderAndError_reachTheHandlerEscaped() {
        let recorder = Recorder()
        var handler = SanitizingLogHandler(RecordingHandler(recorder: recorder))
        handler[metadataKey: "set\nkey"] = "v\u{1B}"
        handler.metadataProvider = Logger.MetadataProvider { ["provided": "p\u{2028}"] }
        var logger = Logger(label: "t") { _ in handler }
        logger.logLevel = .trace
        logger.warning("login failed for x\nforged line", metadata: ["chat_account": "x\n\u{1B}[2J", "list": ["\t"]])
        logger.error("failed", error: QuotingError())

        #expect(recorder.events.count == 2)
        let first = recorder.events[0]
        #expect("\(first.message)" == "login failed for x\\nforged line")
        #expect(first.metadata?["chat_account"] == .string("x\\n\\u{1B}[2J"))
        #expect(first.metadata?["list"] == .array([.string("\\t")]))
        #expect(handler.metadata["set\\nkey"] == .string("v\\u{1B}"))
        #expect(handler.metadataProvider?.get()["provided"] == .string("p\\u{2028}"))
        let second = recorder.events[1]
        #expect(second.error == nil)
        #expect(second.metadata?["error.message"] == .string("bad name 'a\\nb'"))
    }

    @Test func levelIsTheWrappedHandlers() {
        var handler = SanitizingLogHandler(RecordingHandler(recorder: Recorder()))
        handler.logLevel = .error
        #expect(handler.logLevel == .error)
    }
}
