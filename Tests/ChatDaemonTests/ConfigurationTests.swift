@testable import ChatDaemon
import ChatCore
import Foundation
import Testing

/// A known sha512-crypt vector (from the SHA-crypt specification): "Hello world!".
let sha512CryptHelloWorld = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
/// SHA-256 hex of "legacy-password", the seed's format.
let legacySHA256 = SHA256PasswordHash.of(password: "legacy-password").hex

/// yescrypt hashes are slow by design; make the few the tests need once.
enum Hashes {
    static let alice = CryptPasswordHash.make(password: "alice's password")!.encoded
    static let carol = CryptPasswordHash.make(password: "carol's password")!.encoded
}

@Suite("ConfigurationFile: key = value lines")
struct ConfigurationFileTests {
    @Test func parsesKeysValuesAndLineNumbers_skippingCommentsAndBlankLines() throws {
        let file = try ConfigurationFile(path: "/etc/chatroomd.conf", text: """
            # chatroomd configuration

            listen = 127.0.0.1:12000
               History-Lines=20   # trailing comment
            admin = alice $y$j9T$abc#def     # a '#' inside a value is not a comment
            control-socket = "/run/chat room/control"
            \tlog-level\t=\tdebug\t
            url = http://example.org/#anchor
            empty =
            """)
        #expect(file.path == "/etc/chatroomd.conf")
        #expect(file.entries == [
            .init(key: "listen", value: "127.0.0.1:12000", line: 3),
            .init(key: "history-lines", value: "20", line: 4),
            .init(key: "admin", value: "alice $y$j9T$abc#def", line: 5),
            .init(key: "control-socket", value: "/run/chat room/control", line: 6),
            .init(key: "log-level", value: "debug", line: 7),
            .init(key: "url", value: "http://example.org/#anchor", line: 8),
            .init(key: "empty", value: "", line: 9),
        ])
    }

    @Test func aValueMayContainEquals() throws {
        let file = try ConfigurationFile(path: "c", text: "admin = alice file:/etc/a=b\n")
        #expect(file.entries == [.init(key: "admin", value: "alice file:/etc/a=b", line: 1)])
    }

    @Test func emptyTextAndOnlyComments_haveNoEntries() throws {
        #expect(try ConfigurationFile(path: "c", text: "").entries.isEmpty)
        #expect(try ConfigurationFile(path: "c", text: "\n# x = 1\n   # y = 2\n\n").entries.isEmpty)
    }

    @Test(arguments: [
        ("a = 1\njust some words\n", 2, "expected 'key = value', got 'just some words'"),
        ("\n\n= 5\n", 3, "missing key before '='"),
        ("history lines = 5\n", 1, "invalid key 'history lines'"),
        ("log_level = debug\n", 1, "invalid key 'log_level'"),
    ])
    func syntaxErrors_nameFileAndLine(_ text: String, _ line: Int, _ message: String) {
        #expect(throws: ConfigurationFile.ParseError(path: "/etc/chatroomd.conf", line: line, message: message)) {
            try ConfigurationFile(path: "/etc/chatroomd.conf", text: text)
        }
        let error = ConfigurationFile.ParseError(path: "/etc/chatroomd.conf", line: line, message: message)
        #expect(error.description == "/etc/chatroomd.conf:\(line): \(message)")
    }

    @Test func crlfLineEndings_onLFLines_areStripped() throws {
        // A lone "\r" before "\n" (as Swift sees a whole line ending in "\r") is dropped.
        let file = try ConfigurationFile(path: "c", text: "history-lines = 5\r")
        #expect(file.entries == [.init(key: "history-lines", value: "5", line: 1)])
    }

    /// A file saved with Windows line endings. The parser has code to drop a trailing
    /// "\r", but it splits the text on the Character "\n", and "\r\n" is one Character.
    @Test
    func crlfFile_isReadLineByLine() throws {
        let file = try ConfigurationFile(path: "c", text: "history-lines = 5\r\nlog-level = debug\r\n")
        #expect(file.entries == [.init(key: "history-lines", value: "5", line: 1),
                                 .init(key: "log-level", value: "debug", line: 2)])
    }
}

@Suite("Settings: defaults < file < flags")
struct SettingsTests {
    static let path = "/etc/chatroomd/chatroomd.conf"

    static func file(_ text: String) throws -> ConfigurationFile {
        try ConfigurationFile(path: path, text: text)
    }

    static func resolve(_ text: String, flags: [(key: String, value: String)] = []) throws(Settings.Invalid) -> Settings {
        let parsed: ConfigurationFile
        do { parsed = try file(text) } catch { throw Settings.Invalid(message: "parse: \(error)") }
        return try Settings.resolve(file: parsed, flags: flags)
    }

    @Test func defaults() throws {
        let settings = Settings()
        #expect(settings.listen == [])
        #expect(settings.admins == [:])
        #expect(settings.historyLines == 50)
        #expect(settings.slowmode == nil)
        #expect(settings.floodRate == 10)
        #expect(settings.floodBurst == 20)
        #expect(settings.floodDisconnectAfter == 100)
        #expect(settings.handshakeTimeout == 10)
        #expect(settings.maxFrameBytes == 65536)
        #expect(settings.maxSendQueueBytes == 4 << 20)
        #expect(settings.maxConnections == 10_000)
        #expect(settings.maxConnectionsPerAddress == 32)
        #expect(settings.logLevel == "info")
        #expect(settings.logTarget == "auto")
        #expect(settings.shutdownGrace == 3)
        #expect(try Settings.resolve(file: nil, flags: []) == settings)
    }

    @Test func goodFile_setsEveryOption() throws {
        let settings = try Self.resolve("""
            # every key
            listen = 127.0.0.1:12000
            listen = [::1]:12001                  # a second listener
            admin = alice \(Hashes.alice)         # inline yescrypt
            admin = bob \(sha512CryptHelloWorld)
            admin = dave file:/etc/chatroomd/dave.hash
            admin-password-hash = \(legacySHA256)
            admin-password-hash-file = /etc/chatroomd/admin.hash
            state-directory = /var/lib/chatroomd
            log-level = debug
            log-target = stderr
            history-lines = 20
            slowmode = 1m30s
            flood-rate = 2.5
            flood-burst = 7
            flood-disconnect-after = 9
            handshake-timeout = 1.5
            max-frame-bytes = 4096
            max-send-queue-bytes = 65536
            max-connections = 100
            max-connections-per-address = 4
            control-socket = /run/chatroomd/control
            control-group = root
            shutdown-grace = 0
            """)
        var expected = Settings()
        expected.listen = ["127.0.0.1:12000", "[::1]:12001"]
        expected.admins = ["alice": Hashes.alice, "bob": sha512CryptHelloWorld,
                           "dave": "file:/etc/chatroomd/dave.hash", "admin": legacySHA256]
        // Each account remembers its line, so a bad hash found later is reported there.
        expected.adminOrigins = ["alice": "/etc/chatroomd/chatroomd.conf:4", "bob": "/etc/chatroomd/chatroomd.conf:5",
                                 "dave": "/etc/chatroomd/chatroomd.conf:6", "admin": "/etc/chatroomd/chatroomd.conf:7"]
        expected.adminPasswordHashFile = "/etc/chatroomd/admin.hash"
        expected.stateDirectory = "/var/lib/chatroomd"
        expected.logLevel = "debug"
        expected.logTarget = "stderr"
        expected.historyLines = 20
        expected.slowmode = 90
        expected.floodRate = 2.5
        expected.floodBurst = 7
        expected.floodDisconnectAfter = 9
        expected.handshakeTimeout = 1.5
        expected.maxFrameBytes = 4096
        expected.maxSendQueueBytes = 65536
        expected.maxConnections = 100
        expected.maxConnectionsPerAddress = 4
        expected.controlSocket = "/run/chatroomd/control"
        expected.controlGroup = "root"
        expected.shutdownGrace = 0
        #expect(settings == expected)
    }

    @Test(arguments: ["off", "0"])
    func slowmodeOff(_ value: String) throws {
        #expect(try Self.resolve("slowmode = \(value)").slowmode == nil)
    }

    /// Every option's invalid value is reported as `file:line: message`, naming the key.
    @Test(arguments: [
        ("listen", "localhost:12000", "invalid listen address 'localhost:12000' (expected HOST:PORT, e.g. 127.0.0.1:12000, [::]:12000 or *:12000)"),
        ("listen", "127.0.0.1", "invalid listen address '127.0.0.1' (expected HOST:PORT, e.g. 127.0.0.1:12000, [::]:12000 or *:12000)"),
        ("listen", "::1:12000", "invalid listen address '::1:12000' (expected HOST:PORT, e.g. 127.0.0.1:12000, [::]:12000 or *:12000)"),
        ("listen", "127.0.0.1:70000", "invalid listen address '127.0.0.1:70000' (expected HOST:PORT, e.g. 127.0.0.1:12000, [::]:12000 or *:12000)"),
        ("admin", "alice", "expected 'NAME HASH', got 'alice'"),
        ("admin", "alice \(legacySHA256) extra", "expected 'NAME HASH', got 'alice \(legacySHA256) extra'"),
        ("admin", "... \(legacySHA256)", "invalid account name '...'"),
        ("admin", "alice hunter2", "account 'alice': not a password hash (expected a crypt(3) hash such as $y$... from 'chatroomd hash-password', or 64 hex digits)"),
        ("admin-password-hash", "hunter2", "account 'admin': not a password hash (expected a crypt(3) hash such as $y$... from 'chatroomd hash-password', or 64 hex digits)"),
        ("admin-password-hash", String(legacySHA256.dropLast()), "account 'admin': not a password hash (expected a crypt(3) hash such as $y$... from 'chatroomd hash-password', or 64 hex digits)"),
        ("log-level", "verbose", "log-level must be one of trace, debug, info, notice, warning, error, critical"),
        ("log-level", "DEBUG", "log-level must be one of trace, debug, info, notice, warning, error, critical"),
        ("log-target", "syslog", "log-target must be auto, journal or stderr"),
        ("history-lines", "-1", "history-lines must be a whole number from 0 to 10000, got '-1'"),
        ("history-lines", "10001", "history-lines must be a whole number from 0 to 10000, got '10001'"),
        ("history-lines", "many", "history-lines must be a whole number from 0 to 10000, got 'many'"),
        ("history-lines", "", "history-lines must be a whole number from 0 to 10000, got ''"),
        ("slowmode", "forever", "slowmode must be off or a duration up to one day, like 10 or 30s"),
        ("slowmode", "2d", "slowmode must be off or a duration up to one day, like 10 or 30s"),
        ("slowmode", "-5", "slowmode must be off or a duration up to one day, like 10 or 30s"),
        ("flood-rate", "0", "flood-rate must be a number from 0.01 to 1000000.0, got '0'"),
        ("flood-rate", "fast", "flood-rate must be a number from 0.01 to 1000000.0, got 'fast'"),
        ("flood-rate", "nan", "flood-rate must be a number from 0.01 to 1000000.0, got 'nan'"),
        ("flood-rate", "inf", "flood-rate must be a number from 0.01 to 1000000.0, got 'inf'"),
        ("flood-burst", "0", "flood-burst must be a whole number from 1 to 100000, got '0'"),
        ("flood-burst", "2.5", "flood-burst must be a whole number from 1 to 100000, got '2.5'"),
        ("flood-disconnect-after", "0", "flood-disconnect-after must be a whole number from 1 to 1000000, got '0'"),
        ("handshake-timeout", "0.05", "handshake-timeout must be a number from 0.1 to 3600.0, got '0.05'"),
        ("handshake-timeout", "3601", "handshake-timeout must be a number from 0.1 to 3600.0, got '3601'"),
        ("require-tls-for-login", "true", "require-tls-for-login must be yes or no"),
        ("tls-handshakes-per-address", "0", "tls-handshakes-per-address must be a whole number from 1 to 100000, got '0'"),
        ("tls-handshakes-in-flight", "x", "tls-handshakes-in-flight must be a whole number from 1 to 1000000, got 'x'"),
        ("max-frame-bytes", "63", "max-frame-bytes must be a whole number from 64 to 16777216, got '63'"),
        ("max-frame-bytes", "16777217", "max-frame-bytes must be a whole number from 64 to 16777216, got '16777217'"),
        ("max-send-queue-bytes", "4095", "max-send-queue-bytes must be a whole number from 4096 to 1073741824, got '4095'"),
        ("max-connections", "0", "max-connections must be a whole number from 1 to 10000000, got '0'"),
        ("max-connections-per-address", "0", "max-connections-per-address must be a whole number from 1 to 10000000, got '0'"),
        ("max-connections-per-address", "lots", "max-connections-per-address must be a whole number from 1 to 10000000, got 'lots'"),
        ("control-socket", "run/control", "control-socket must be an absolute path or none"),
        ("control-group", "no-such-group-for-chatroomd-tests", "control-group: no group called 'no-such-group-for-chatroomd-tests'"),
        ("shutdown-grace", "-1", "shutdown-grace must be a number from 0.0 to 600.0, got '-1'"),
        ("shutdown-grace", "601", "shutdown-grace must be a number from 0.0 to 600.0, got '601'"),
    ])
    func badValue_isReportedWithFileAndLine(_ key: String, _ value: String, _ message: String) {
        // Line 3 is a valid key that none of the rows uses, so the bad value is on line 4.
        let body = "# comment\n\nadmin-password-hash-file = /etc/chatroomd/admin.hash\n\(key) = \(value)\n"
        #expect(throws: Settings.Invalid(message: "\(Self.path):4: \(message)")) {
            try Self.resolve(body)
        }
        // The same value as a flag names the flag.
        #expect(throws: Settings.Invalid(message: "--\(key): \(message)")) {
            try Settings.resolve(file: nil, flags: [(key, value)])
        }
    }

    /// Every key in the option table is covered by the bad-value table above or has no
    /// syntax to check (paths are checked when used).
    @Test func everyOptionIsKnown() {
        let keys = Set(Settings.options.map(\.key))
        #expect(keys == ["listen", "admin", "admin-password-hash", "admin-password-hash-file", "state-directory",
                         "log-level", "log-target", "history-lines", "slowmode", "flood-rate", "flood-burst",
                         "flood-disconnect-after", "handshake-timeout", "joins-per-address-per-minute", "presence-rate",
                         "presence-burst", "max-frame-bytes", "max-send-queue-bytes",
                         "max-connections", "max-connections-per-address", "accepts-per-address-per-second", "ipv6-host-prefix", "control-socket",
                         "control-group", "shutdown-grace", "password-check-workers", "password-checks-per-address",
                         "password-checks-in-flight", "listen-tls", "tls-certificate", "tls-key", "require-tls-for-login",
                         "tls-handshakes-per-address", "tls-handshakes-in-flight", "redis", "node-name", "room",
                         "redis-coalesce"])
        #expect(Settings.options.count == keys.count, "a key appears twice in the option table")
        for option in Settings.options { #expect(!option.help.isEmpty, "\(option.key) has no help") }
    }

    @Test func unknownKey_isReportedWithFileAndLine() {
        #expect(throws: Settings.Invalid(message: "\(Self.path):2: unknown option 'colour'")) {
            try Self.resolve("history-lines = 5\ncolour = blue\n")
        }
        #expect(throws: Settings.Invalid(message: "--colour: unknown option 'colour'")) {
            try Settings.resolve(file: nil, flags: [("colour", "blue")])
        }
    }

    @Test func repeatedNonRepeatableKey_isReportedAtItsSecondLine() {
        #expect(throws: Settings.Invalid(message: "\(Self.path):3: 'history-lines' is given more than once")) {
            try Self.resolve("history-lines = 5\n# again:\nhistory-lines = 6\n")
        }
        #expect(throws: Settings.Invalid(message: "--slowmode: 'slowmode' is given more than once")) {
            try Settings.resolve(file: nil, flags: [("slowmode", "5"), ("slowmode", "6")])
        }
    }

    @Test func repeatedAccountName_isRejected() {
        #expect(throws: Settings.Invalid(message: "\(Self.path):2: account 'alice' is defined twice")) {
            try Self.resolve("admin = alice \(legacySHA256)\nadmin = alice \(sha512CryptHelloWorld)\n")
        }
    }

    /// `admin-password-hash` defines the account `admin`, as `admin = admin HASH` does.
    /// Defining it twice in one file is refused in one order but silently accepted (last
    /// wins) in the other.
    @Test
    func adminAccountDefinedTwiceThroughBothKeys_isRejectedInEitherOrder() {
        #expect(throws: Settings.Invalid.self) {
            try Self.resolve("admin-password-hash = \(legacySHA256)\nadmin = admin \(sha512CryptHelloWorld)\n")
        }
        #expect(throws: Settings.Invalid.self) {
            try Self.resolve("admin = admin \(sha512CryptHelloWorld)\nadmin-password-hash = \(legacySHA256)\n")
        }
    }

    @Test func hashInsideAValue_isKept_commentAfterWhitespaceIsNot() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("with#hash"), withIntermediateDirectories: false)
        try directory.write("with#hash/alice", Hashes.alice + "\n")
        let settings = try Self.resolve("admin = alice file:\(directory.file("with#hash/alice"))   # alice's hash file\n")
        #expect(settings.admins == ["alice": "file:\(directory.file("with#hash/alice"))"])
        let accounts = try settings.accounts(environment: [:])
        #expect(accounts["alice"]?.verify(password: "alice's password") == true)
    }

    @Test func flagsOverrideTheFile_keyByKey() throws {
        let settings = try Self.resolve("""
            history-lines = 10
            flood-rate = 3
            log-level = debug
            """, flags: [("history-lines", "0"), ("flood-rate", "5.5")])
        #expect(settings.historyLines == 0)
        #expect(settings.floodRate == 5.5)
        #expect(settings.logLevel == "debug")  // not given as a flag: the file's value
    }

    @Test func aKeyOnceInTheFileAndOnceAsAFlag_isNotARepeat() throws {
        let settings = try Self.resolve("slowmode = 10\n", flags: [("slowmode", "off")])
        #expect(settings.slowmode == nil)
    }

    @Test func badFileValue_isAnErrorEvenWhenAFlagWouldOverrideIt() {
        #expect(throws: Settings.Invalid(message: "\(Self.path):1: history-lines must be a whole number from 0 to 10000, got 'x'")) {
            try Self.resolve("history-lines = x\n", flags: [("history-lines", "5")])
        }
    }

    @Test func repeatableKeys_givenAsFlags_replaceAllOfTheFilesValues() throws {
        let file = """
            listen = 127.0.0.1:1000
            listen = 127.0.0.1:1001
            admin = alice \(Hashes.alice)
            admin = bob \(sha512CryptHelloWorld)
            """
        let withoutFlags = try Self.resolve(file)
        #expect(withoutFlags.listen == ["127.0.0.1:1000", "127.0.0.1:1001"])
        #expect(Set(withoutFlags.admins.keys) == ["alice", "bob"])

        let replaced = try Self.resolve(file, flags: [("listen", "127.0.0.1:2000"), ("admin", "carol \(Hashes.carol)"),
                                                       ("listen", "[::1]:2001")])
        #expect(replaced.listen == ["127.0.0.1:2000", "[::1]:2001"])
        #expect(replaced.admins == ["carol": Hashes.carol])

        // An account may be redefined by a flag (it replaces the file's list, so no "twice").
        let redefined = try Self.resolve(file, flags: [("admin", "alice \(legacySHA256)")])
        #expect(redefined.admins == ["alice": legacySHA256])
    }

    @Test func adminPasswordHashFlag_replacesTheFilesAdminAccount_only() throws {
        let settings = try Self.resolve("admin = admin \(sha512CryptHelloWorld)\nadmin = alice \(Hashes.alice)\n",
                                        flags: [("admin-password-hash", legacySHA256)])
        #expect(settings.admins == ["admin": legacySHA256, "alice": Hashes.alice])
    }

    // MARK: Accounts

    @Test func accounts_inlineYescryptSha512AndLegacy() throws {
        let settings = try Self.resolve("""
            admin = alice \(Hashes.alice)
            admin = bob \(sha512CryptHelloWorld)
            admin-password-hash = \(legacySHA256)
            """)
        let accounts = try settings.accounts(environment: [:])
        #expect(Set(accounts.keys) == ["alice", "bob", "admin"])
        #expect(accounts["alice"]?.verify(password: "alice's password") == true)
        #expect(accounts["alice"]?.verify(password: "bob's password") == false)
        #expect(accounts["alice"]?.isLegacy == false)
        #expect(accounts["bob"]?.verify(password: "Hello world!") == true)
        #expect(accounts["bob"]?.verify(password: "Hello world") == false)
        #expect(accounts["admin"]?.verify(password: "legacy-password") == true)
        #expect(accounts["admin"]?.isLegacy == true)
    }

    @Test func accounts_fileReference_isReadWhenResolved() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("carol.hash", "  \(Hashes.carol)\n")
        let settings = try Self.resolve("admin = carol file:\(path)\n")
        #expect(try settings.accounts(environment: [:])["carol"]?.verify(password: "carol's password") == true)

        // Re-read every time: a reload sees the new hash.
        try directory.write("carol.hash", sha512CryptHelloWorld)
        let again = try settings.accounts(environment: [:])
        #expect(again["carol"]?.verify(password: "Hello world!") == true)
        #expect(again["carol"]?.verify(password: "carol's password") == false)
    }

    @Test func accounts_missingFile_isAnError() throws {
        let directory = try TemporaryDirectory()
        let settings = try Self.resolve("admin = carol file:\(directory.file("nope"))\n")
        #expect(throws: Settings.Invalid(message: "/etc/chatroomd/chatroomd.conf:1: account 'carol': cannot read the password hash from \(directory.file("nope"))")) {
            try settings.accounts(environment: [:])
        }
    }

    @Test func accounts_fileWithGarbage_isAnError() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("carol.hash", "hunter2\n")
        let settings = try Self.resolve("admin = carol file:\(path)\n")
        #expect(throws: Settings.Invalid(message: "/etc/chatroomd/chatroomd.conf:1: account 'carol': not a password hash (expected a crypt(3) hash such as $y$... from 'chatroomd hash-password', or 64 hex digits)")) {
            try settings.accounts(environment: [:])
        }
    }

    @Test(arguments: ["!", "*", "", "  !  \n", "\n"])
    func accounts_fileThatLocksTheAccount_disablesIt(_ content: String) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("carol.hash", content)
        let settings = try Self.resolve("admin = carol file:\(path)\nadmin = alice \(Hashes.alice)\n")
        let accounts = try settings.accounts(environment: [:])
        #expect(Set(accounts.keys) == ["alice"])
    }

    @Test func accounts_credentialReference_usesCredentialsDirectory() throws {
        let credentials = try TemporaryDirectory()
        try credentials.write("carol-hash", Hashes.carol + "\n")
        try credentials.write("locked", "!\n")
        let settings = try Self.resolve("admin = carol credential:carol-hash\nadmin = mallory credential:locked\n")
        let accounts = try settings.accounts(environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        #expect(Set(accounts.keys) == ["carol"], "a credential holding '!' disables mallory")
        #expect(accounts["carol"]?.verify(password: "carol's password") == true)

        let carolOnly = try Self.resolve("admin = carol credential:carol-hash\n")
        #expect(throws: Settings.Invalid(message: "/etc/chatroomd/chatroomd.conf:1: account 'carol': credential:carol-hash needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=)")) {
            try carolOnly.accounts(environment: [:])
        }
        let empty = try TemporaryDirectory()
        #expect(throws: Settings.Invalid(message: "/etc/chatroomd/chatroomd.conf:1: account 'carol': cannot read the password hash from \(empty.path)/carol-hash")) {
            try carolOnly.accounts(environment: ["CREDENTIALS_DIRECTORY": empty.path])
        }
    }

    @Test func accounts_adminPasswordHashFile_definesTheAdminAccount() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("admin.hash", sha512CryptHelloWorld + "\n")
        let settings = try Self.resolve("admin-password-hash-file = \(path)\n")
        let accounts = try settings.accounts(environment: [:])
        #expect(Set(accounts.keys) == ["admin"])
        #expect(accounts["admin"]?.verify(password: "Hello world!") == true)

        try directory.write("admin.hash", "!\n")
        #expect(try settings.accounts(environment: [:]).isEmpty)

        let missing = try Self.resolve("admin-password-hash-file = \(directory.file("gone"))\n")
        #expect(throws: Settings.Invalid(message: "account 'admin': cannot read the password hash from \(directory.file("gone"))")) {
            try missing.accounts(environment: [:])
        }
    }

    @Test func accounts_defaultCredential_isUsedOnlyWithoutAnotherAdminSource() throws {
        let credentials = try TemporaryDirectory()
        try credentials.write("admin-password-hash", sha512CryptHelloWorld + "\n")
        let environment = ["CREDENTIALS_DIRECTORY": credentials.path]

        let none = try Self.resolve("")
        #expect(try none.accounts(environment: environment)["admin"]?.verify(password: "Hello world!") == true)
        #expect(try none.accounts(environment: [:]).isEmpty)

        let inline = try Self.resolve("admin-password-hash = \(legacySHA256)\n")
        let accounts = try inline.accounts(environment: environment)
        #expect(accounts["admin"]?.verify(password: "legacy-password") == true)
        #expect(accounts["admin"]?.verify(password: "Hello world!") == false)

        try credentials.write("admin-password-hash", "!")
        #expect(try none.accounts(environment: environment).isEmpty, "a credential holding '!' disables admin")
    }

    // MARK: changedKeys

    @Test func changedKeys_namesExactlyTheKeysThatDiffer() throws {
        let before = try Self.resolve("history-lines = 10\nadmin = alice \(Hashes.alice)\n")
        #expect(before.changedKeys(from: before) == [])
        let after = try Self.resolve("history-lines = 20\nadmin = alice \(Hashes.alice)\nadmin = bob \(sha512CryptHelloWorld)\nslowmode = 5\n")
        #expect(after.changedKeys(from: before) == ["admin", "history-lines", "slowmode"])
        #expect(before.changedKeys(from: after) == ["admin", "history-lines", "slowmode"])
    }

    /// Each option, set to a valid non-default value, shows up in `changedKeys` under its
    /// own key (`admin-password-hash` is the account `admin`, so it is reported as `admin`).
    @Test func changedKeys_coversEveryOption() throws {
        let samples: [String: String] = [
            "listen": "127.0.0.1:1", "admin": "alice \(legacySHA256)", "admin-password-hash": legacySHA256,
            "admin-password-hash-file": "/x", "state-directory": "/x", "log-level": "debug", "log-target": "journal",
            "history-lines": "1", "slowmode": "5", "flood-rate": "1", "flood-burst": "1", "flood-disconnect-after": "1",
            "handshake-timeout": "1", "joins-per-address-per-minute": "5", "presence-rate": "off", "presence-burst": "3", "password-check-workers": "3", "password-checks-per-address": "5", "password-checks-in-flight": "7", "accepts-per-address-per-second": "off", "max-frame-bytes": "100", "max-send-queue-bytes": "5000", "max-connections": "1",
            "max-connections-per-address": "1", "ipv6-host-prefix": "48", "control-socket": "/x", "control-group": "root", "shutdown-grace": "1",
            "listen-tls": "127.0.0.1:2", "tls-certificate": "/x", "tls-key": "/x", "require-tls-for-login": "yes",
            "tls-handshakes-per-address": "2", "tls-handshakes-in-flight": "3",
            "redis": "unix:/run/redis.sock", "node-name": "n1", "room": "hall", "redis-coalesce": "off",
        ]
        for option in Settings.options {
            let value = try #require(samples[option.key], "no sample value for \(option.key)")
            let changed = try Settings.resolve(file: nil, flags: [(option.key, value)])
            let expected = option.key == "admin-password-hash" ? "admin" : option.key
            #expect(changed.changedKeys(from: Settings()) == [expected], "\(option.key)")
        }
    }

    /// The keys `ChatServer.reload` keeps at their running values are exactly the ones
    /// the option table marks as not reloadable.
    @Test func nonReloadableKeys() {
        let fixed = Set(Settings.options.filter { !$0.reloadable }.map(\.key))
        #expect(fixed == ["listen", "state-directory", "log-target", "max-send-queue-bytes", "ipv6-host-prefix",
                          "control-socket", "control-group", "password-check-workers", "listen-tls", "redis", "node-name", "room", "redis-coalesce"])
    }
}
