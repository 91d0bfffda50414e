@testable import ChatDaemon
import ChatCore
import Testing

@Suite("Reloader: resolve, diff, keep restart-only keys")
struct ReloaderTests {
    static func settings(_ flags: [(String, String)]) throws -> Settings {
        try Settings.resolve(file: nil, flags: flags.map { (key: $0.0, value: $0.1) })
    }

    @Test func plan_appliesReloadableKeys_andKeepsRestartOnlyOnesAtTheirRunningValues() throws {
        let running = try Self.settings([("listen", "127.0.0.1:1"), ("history-lines", "5")])
        let next = try Self.settings([("listen", "127.0.0.1:2"), ("history-lines", "9"), ("max-send-queue-bytes", "8192")])
        let plan = try Reloader(resolve: { next }, environment: [:]).plan(running: running, runningAccounts: [:])
        #expect(plan.changed == ["history-lines"])
        #expect(plan.needRestart == ["listen", "max-send-queue-bytes"])
        #expect(plan.settings.historyLines == 9)
        #expect(plan.settings.listen == ["127.0.0.1:1"])
        #expect(plan.settings.maxSendQueueBytes == running.maxSendQueueBytes)
        #expect(plan.changeSummary == "configuration reloaded; changed: history-lines")
        #expect(plan.reply == "configuration reloaded; changed: history-lines (after a restart: listen, max-send-queue-bytes)")
    }

    @Test func plan_withNothingChanged_saysSo() throws {
        let running = try Self.settings([])
        let plan = try Reloader(resolve: { running }, environment: [:]).plan(running: running, runningAccounts: [:])
        #expect(plan.changed.isEmpty && plan.needRestart.isEmpty)
        #expect(plan.reply == "configuration reloaded; nothing changed")
    }

    @Test func aRotatedHash_countsAsAChangedAdminKey_thoughTheSettingsAreEqual() throws {
        let running = try Self.settings([])
        let old: [String: any PasswordVerifier] = ["admin": SHA256PasswordHash.of(password: "old")]
        let plan = try Reloader(resolve: { running }, environment: [:]).plan(running: running, runningAccounts: old)
        #expect(plan.changed == ["admin"])
    }

    @Test func aBrokenConfiguration_isThrown_andNothingIsPlanned() throws {
        let running = try Self.settings([])
        #expect(throws: Settings.Invalid.self) {
            try Reloader(resolve: { () throws(Settings.Invalid) -> Settings in throw Settings.Invalid(message: "bad") },
                         environment: [:]).plan(running: running, runningAccounts: [:])
        }
    }

    @Test func flags_areReadFromTheOptionTable() throws {
        let parsed = try Settings.parseFlags(["--config", "/etc/c.conf", "--listen", "127.0.0.1:1", "--history-lines=3"])
        #expect(parsed.config == "/etc/c.conf")
        #expect(parsed.flags.map(\.key) == ["listen", "history-lines"])
        #expect(parsed.flags.map(\.value) == ["127.0.0.1:1", "3"])
        #expect(throws: Settings.Invalid(message: "unknown option --colour (see chatroomd --help)")) {
            try Settings.parseFlags(["--colour", "red"])
        }
        #expect(throws: Settings.Invalid(message: "--listen needs a value")) { try Settings.parseFlags(["--listen"]) }
        #expect(throws: Settings.Invalid.self) { try Settings.parseFlags(["stray"]) }
        for option in Settings.options { #expect(Settings.flagHelp.contains("--\(option.key) \(option.valueName)")) }
    }
}
