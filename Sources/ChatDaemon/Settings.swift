import ChatCore
import ChatProtocol
import Glibc
import NicknameProfile
import Reactor

/// Every setting of the daemon, with its default. Filled from the defaults, then the
/// configuration file, then command-line flags (flags win), all through the one option
/// table below, so the file and the flags accept exactly the same values.
public struct Settings: Equatable, Sendable {
    public var listen: [String] = []
    /// Admin accounts: name → hash text (`$y$...`, `$6$...`, or the seed's SHA-256 hex),
    /// or `file:PATH` / `credential:NAME` to read it from a file or a systemd credential.
    public var admins: [String: String] = [:]
    /// Where each account was defined (`file:line` or `--admin`), for error messages.
    public var adminOrigins: [String: String] = [:]
    public var adminPasswordHashFile: String? = nil
    public var stateDirectory: String? = nil
    public var logLevel = "info"
    public var logTarget = "auto"
    public var historyLines = 50
    public var slowmode: Int? = nil
    public var floodRate = 10.0
    public var floodBurst = 20
    public var floodDisconnectAfter = 100
    public var handshakeTimeout = 10.0
    public var maxFrameBytes = 64 * 1024
    public var maxSendQueueBytes = 4 << 20
    public var maxConnections = 10_000
    public var maxConnectionsPerAddress = 32
    public var ipv6HostPrefix = 64
    public var controlSocket: String? = nil
    public var controlGroup: String? = nil
    public var shutdownGrace = 3.0

    public init() {}

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

    /// One option: its key (the long flag and the file's key), the help text, whether it may
    /// repeat, whether a reload can change it, where its value is kept and how to apply a
    /// value. The flags, the file, the reload's diff and its restart-only keys all come from
    /// this one table.
    public struct Option: Sendable {
        public let key: String
        public let valueName: String
        public let help: String
        public let repeats: Bool
        public let reloadable: Bool
        let apply: @Sendable (String, inout Settings) throws(Invalid) -> Void
        /// Whether two settings differ in this key; nil when another key reports the same
        /// value (`admin-password-hash` sets the account `admin`).
        let differs: (@Sendable (Settings, Settings) -> Bool)?
        /// Copies this key's value from `source` into `target`.
        let copy: @Sendable (Settings, inout Settings) -> Void

        init<Value: Equatable>(key: String, valueName: String, help: String, repeats: Bool, reloadable: Bool,
                               stores field: WritableKeyPath<Settings, Value>, reportedAs alias: Bool = false,
                               apply: @escaping @Sendable (String, inout Settings) throws(Invalid) -> Void) {
            self.key = key
            self.valueName = valueName
            self.help = help
            self.repeats = repeats
            self.reloadable = reloadable
            self.apply = apply
            nonisolated(unsafe) let field = field
            if alias {
                differs = nil
            } else {
                differs = { (a: Settings, b: Settings) -> Bool in a[keyPath: field] != b[keyPath: field] }
            }
            copy = { (source: Settings, target: inout Settings) in target[keyPath: field] = source[keyPath: field] }
        }
    }

    public static let options: [Option] = [
        Option(key: "listen", valueName: "ADDRESS:PORT",
               help: "Address and port to listen on; repeat for several. [::]:PORT is dual-stack, port 0 picks a free port. Default [::]:12000. Ignored when systemd passes sockets.",
               repeats: true, reloadable: false, stores: \.listen) { value, settings throws(Invalid) in
            do { _ = try SocketAddress(parsing: value) } catch { throw Invalid(message: "\(error)") }
            settings.listen.append(value)
        },
        Option(key: "admin", valueName: "NAME HASH",
               help: "An admin account: its name and password hash ('chatroomd hash-password' makes one; 'file:PATH' or 'credential:NAME' reads it). Repeat for several. The seed's admin:<password> login uses the account 'admin'.",
               repeats: true, reloadable: true, stores: \.admins) { value, settings throws(Invalid) in
            let parts = value.split(whereSeparator: \.isWhitespace).map(String.init)
            guard parts.count == 2 else { throw Invalid(message: "expected 'NAME HASH', got '\(value)'") }
            guard NicknameProfile.standard.problem(with: parts[0]) == nil else { throw Invalid(message: "invalid account name '\(parts[0])'") }
            guard settings.admins[parts[0]] == nil else { throw Invalid(message: "account '\(parts[0])' is defined twice") }
            try checkHashSyntax(parts[1], account: parts[0])
            settings.admins[parts[0]] = parts[1]
        },
        Option(key: "admin-password-hash", valueName: "HASH",
               help: "The password hash of the account 'admin' (also $CHATROOMD_ADMIN_PASSWORD_HASH). Without any admin account, admin login is refused.",
               repeats: false, reloadable: true, stores: \.admins, reportedAs: true) { value, settings throws(Invalid) in
            guard settings.admins["admin"] == nil else { throw Invalid(message: "account 'admin' is defined twice") }
            try checkHashSyntax(value, account: "admin")
            settings.admins["admin"] = value
        },
        Option(key: "admin-password-hash-file", valueName: "PATH",
               help: "File holding the password hash of the account 'admin'; re-read on reload. Under systemd the credential 'admin-password-hash' is used when no other source is given.",
               repeats: false, reloadable: true, stores: \.adminPasswordHashFile) { value, settings throws(Invalid) in
            settings.adminPasswordHashFile = value
        },
        Option(key: "state-directory", valueName: "PATH",
               help: "Where sanctions and history are kept across restarts. Default $STATE_DIRECTORY (systemd's StateDirectory=); without either, state lives in memory only.",
               repeats: false, reloadable: false, stores: \.stateDirectory) { value, settings throws(Invalid) in
            settings.stateDirectory = value
        },
        Option(key: "log-level", valueName: "LEVEL",
               help: "trace, debug, info, notice, warning, error or critical. Chat message bodies are logged only at debug. Default info.",
               repeats: false, reloadable: true, stores: \.logLevel) { value, settings throws(Invalid) in
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(value) else {
                throw Invalid(message: "log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            settings.logLevel = value
        },
        Option(key: "log-target", valueName: "TARGET",
               help: "auto (the journal when stderr is connected to it, else stderr), journal, or stderr. Default auto.",
               repeats: false, reloadable: false, stores: \.logTarget) { value, settings throws(Invalid) in
            guard ["auto", "journal", "stderr"].contains(value) else { throw Invalid(message: "log-target must be auto, journal or stderr") }
            settings.logTarget = value
        },
        Option(key: "history-lines", valueName: "N",
               help: "Chat lines replayed to a member who joins; 0 disables history. Default 50.",
               repeats: false, reloadable: true, stores: \.historyLines) { value, settings throws(Invalid) in
            settings.historyLines = try integer(value, "history-lines", 0...10_000)
        },
        Option(key: "slowmode", valueName: "SECONDS|off",
               help: "Slowmode at start: each non-admin member may send one message per this many seconds. Default off. /slowmode changes it at run time.",
               repeats: false, reloadable: true, stores: \.slowmode) { value, settings throws(Invalid) in
            if value == "off" || value == "0" { settings.slowmode = nil; return }
            guard let seconds = SanctionDuration.parse(value), seconds <= 86_400 else {
                throw Invalid(message: "slowmode must be off or a duration up to one day, like 10 or 30s")
            }
            settings.slowmode = Int(seconds)
        },
        Option(key: "flood-rate", valueName: "PER-SECOND|off",
               help: "Flood control: messages a second a member may send on average; off disables flood control (for trusted rooms and benchmarks). Default 10.",
               repeats: false, reloadable: true, stores: \.floodRate) { value, settings throws(Invalid) in
            if value == "off" { settings.floodRate = 0; return }
            settings.floodRate = try number(value, "flood-rate", 0.01...1_000_000)
        },
        Option(key: "flood-burst", valueName: "N",
               help: "Flood control: messages a member may send at once before the rate applies. Default 20.",
               repeats: false, reloadable: true, stores: \.floodBurst) { value, settings throws(Invalid) in
            settings.floodBurst = try integer(value, "flood-burst", 1...100_000)
        },
        Option(key: "flood-disconnect-after", valueName: "N",
               help: "Refused messages in a row after which a flooding member is disconnected. Default 100.",
               repeats: false, reloadable: true, stores: \.floodDisconnectAfter) { value, settings throws(Invalid) in
            settings.floodDisconnectAfter = try integer(value, "flood-disconnect-after", 1...1_000_000)
        },
        Option(key: "handshake-timeout", valueName: "SECONDS",
               help: "A connection that has not joined within this time is closed. Default 10.",
               repeats: false, reloadable: true, stores: \.handshakeTimeout) { value, settings throws(Invalid) in
            settings.handshakeTimeout = try number(value, "handshake-timeout", 0.1...3600)
        },
        Option(key: "max-frame-bytes", valueName: "BYTES",
               help: "Largest frame payload accepted; a header claiming more is refused before its payload is read. Default 65536.",
               repeats: false, reloadable: true, stores: \.maxFrameBytes) { value, settings throws(Invalid) in
            settings.maxFrameBytes = try integer(value, "max-frame-bytes", 64...(16 << 20))
        },
        Option(key: "max-send-queue-bytes", valueName: "BYTES",
               help: "A connection that cannot take its output while more than this is waiting is disconnected (\"send queue exceeded\"); checked after each turn's writes, with twice this as the hard stop. Default 4194304.",
               repeats: false, reloadable: false, stores: \.maxSendQueueBytes) { value, settings throws(Invalid) in
            settings.maxSendQueueBytes = try integer(value, "max-send-queue-bytes", 4096...(1 << 30))
        },
        Option(key: "max-connections", valueName: "N",
               help: "Connections held at once; beyond it a new connection gets one frame saying so and is closed. Default 10000.",
               repeats: false, reloadable: true, stores: \.maxConnections) { value, settings throws(Invalid) in
            settings.maxConnections = try integer(value, "max-connections", 1...10_000_000)
        },
        Option(key: "max-connections-per-address", valueName: "N",
               help: "Connections from one IPv4 address or one IPv6 /64 at once. Default 32.",
               repeats: false, reloadable: true, stores: \.maxConnectionsPerAddress) { value, settings throws(Invalid) in
            settings.maxConnectionsPerAddress = try integer(value, "max-connections-per-address", 1...10_000_000)
        },
        Option(key: "ipv6-host-prefix", valueName: "BITS",
               help: "For max-connections-per-address, IPv6 addresses that share this many leading bits count as one host. Default 64 (one host's usual allocation).",
               repeats: false, reloadable: false, stores: \.ipv6HostPrefix) { value, settings throws(Invalid) in
            settings.ipv6HostPrefix = try integer(value, "ipv6-host-prefix", 32...128)
        },
        Option(key: "control-socket", valueName: "PATH",
               help: "The local control socket for chatroomctl. Default $RUNTIME_DIRECTORY/control under systemd, else none; 'none' disables it.",
               repeats: false, reloadable: false, stores: \.controlSocket) { value, settings throws(Invalid) in
            guard value == "none" || value.hasPrefix("/") else { throw Invalid(message: "control-socket must be an absolute path or none") }
            settings.controlSocket = value
        },
        Option(key: "control-group", valueName: "GROUP",
               help: "Besides root (and the daemon's own user), members of this group may use the control socket (its mode and group are set when it opens, so a change needs a restart).",
               repeats: false, reloadable: false, stores: \.controlGroup) { value, settings throws(Invalid) in
            guard getgrnam(value) != nil else { throw Invalid(message: "control-group: no group called '\(value)'") }
            settings.controlGroup = value
        },
        Option(key: "shutdown-grace", valueName: "SECONDS",
               help: "Time allowed for flushing the shutdown notice before connections are dropped. Default 3.",
               repeats: false, reloadable: true, stores: \.shutdownGrace) { value, settings throws(Invalid) in
            settings.shutdownGrace = try number(value, "shutdown-grace", 0...600)
        },
    ]

    public static func option(_ key: String) -> Option? { options.first { $0.key == key } }

    /// Applies `key = value`; a key given twice that may not repeat is an error when
    /// `seen` (the keys already given from the same source) has it.
    public mutating func apply(_ key: String, _ value: String, seen: inout Set<String>) throws(Invalid) {
        guard let option = Self.option(key) else { throw Invalid(message: "unknown option '\(key)'") }
        if !option.repeats {
            guard !seen.contains(key) else { throw Invalid(message: "'\(key)' is given more than once") }
            seen.insert(key)
        }
        try option.apply(value, &self)
    }

    /// The command line's settings: `--KEY VALUE` or `--KEY=VALUE` for every key of the
    /// table, and `--config PATH`. Returns the configuration file named, if any, and the
    /// flags in the order given.
    public static func parseFlags(_ arguments: [String]) throws(Invalid) -> (config: String?, flags: [(key: String, value: String)]) {
        var config: String? = nil
        var flags: [(key: String, value: String)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw Invalid(message: "unexpected argument '\(argument)'; options are --KEY VALUE (see chatroomd --help)")
            }
            var key = String(argument.dropFirst(2))
            let value: String
            if let equals = key.firstIndex(of: "=") {
                value = String(key[key.index(after: equals)...])
                key = String(key[..<equals])
            } else {
                guard index < arguments.count else { throw Invalid(message: "--\(key) needs a value") }
                value = arguments[index]
                index += 1
            }
            if key == configKey {
                guard config == nil else { throw Invalid(message: "--config is given more than once") }
                config = value
                continue
            }
            guard option(key) != nil else { throw Invalid(message: "unknown option --\(key) (see chatroomd --help)") }
            flags.append((key, value))
        }
        return (config, flags)
    }

    public static let configKey = "config"

    /// Every option as `--key VALUE  help`, for `chatroomd --help` and chatroomd(8).
    public static var flagHelp: String {
        options.map { "--\($0.key) \($0.valueName)\n    \($0.help)" + ($0.reloadable ? "" : " (Takes a restart.)") }
            .joined(separator: "\n")
    }

    /// Defaults, then the file, then flags (each flag replaces the file's value of that key).
    public static func resolve(file: ConfigurationFile?, flags: [(key: String, value: String)]) throws(Invalid) -> Settings {
        var settings = Settings()
        var seen = Set<String>()
        if let file {
            for entry in file.entries {
                let before = Set(settings.admins.keys)
                do { try settings.apply(entry.key, entry.value, seen: &seen) } catch {
                    throw Invalid(message: "\(file.path):\(entry.line): \(error.message)")
                }
                for name in Set(settings.admins.keys).subtracting(before) { settings.adminOrigins[name] = "\(file.path):\(entry.line)" }
            }
        }
        let flagKeys = Set(flags.map(\.key))
        // A repeatable key given as a flag replaces all of the file's values for it, and
        // --admin-password-hash replaces the file's account `admin`.
        if flagKeys.contains("listen") { settings.listen = [] }
        if flagKeys.contains("admin") { settings.admins = [:] }
        if flagKeys.contains("admin-password-hash") { settings.admins["admin"] = nil }
        settings.adminOrigins = settings.adminOrigins.filter { settings.admins[$0.key] != nil }
        var flagSeen = Set<String>()
        for flag in flags {
            let before = Set(settings.admins.keys)
            do { try settings.apply(flag.key, flag.value, seen: &flagSeen) } catch {
                throw Invalid(message: "--\(flag.key): \(error.message)")
            }
            for name in Set(settings.admins.keys).subtracting(before) { settings.adminOrigins[name] = "--\(flag.key)" }
        }
        return settings
    }

    /// The admin accounts with their verifiers; the `admin` account may also come from
    /// `admin-password-hash-file` or, under systemd, the credential `admin-password-hash`.
    /// - Parameter skippingUnavailableCredentials: for `check-config` outside the service,
    ///   where `credential:` references cannot be read (they are checked at start).
    public func accounts(environment: [String: String],
                         skippingUnavailableCredentials: Bool = false) throws(Invalid) -> [String: any PasswordVerifier] {
        var result: [String: any PasswordVerifier] = [:]
        for name in admins.keys.sorted() {
            let text = admins[name]!
            if skippingUnavailableCredentials, text.hasPrefix("credential:"), environment["CREDENTIALS_DIRECTORY"] == nil { continue }
            do {
                if let verifier = try Self.resolveHash(text, account: name, environment: environment) { result[name] = verifier }
            } catch {
                throw Invalid(message: adminOrigins[name].map { "\($0): \(error.message)" } ?? error.message)
            }
        }
        if admins["admin"] == nil {
            if let path = adminPasswordHashFile {
                result["admin"] = try Self.resolveHash("file:" + path, account: "admin", environment: environment)
            } else if let directory = environment["CREDENTIALS_DIRECTORY"], access(directory + "/admin-password-hash", R_OK) == 0 {
                result["admin"] = try Self.resolveHash("credential:admin-password-hash", account: "admin", environment: environment)
            }
        }
        return result
    }

    /// Keys whose values differ between two settings, in the table's order.
    public func changedKeys(from other: Settings) -> [String] {
        Self.options.filter { $0.differs?(self, other) ?? false }.map(\.key)
    }

    /// These settings, except that keys a reload cannot change keep `running`'s values.
    public func keepingRestartOnlyKeys(of running: Settings) -> Settings {
        var result = self
        for option in Self.options where !option.reloadable { option.copy(running, &result) }
        return result
    }

    // MARK: Value parsing

    static func integer(_ text: String, _ key: String, _ range: ClosedRange<Int>) throws(Invalid) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw Invalid(message: "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    static func number(_ text: String, _ key: String, _ range: ClosedRange<Double>) throws(Invalid) -> Double {
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw Invalid(message: "\(key) must be a number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    /// An inline hash must parse now; `file:` and `credential:` references are read when
    /// the accounts are resolved (at start and on every reload).
    static func checkHashSyntax(_ text: String, account: String) throws(Invalid) {
        if text.hasPrefix("file:") || text.hasPrefix("credential:") { return }
        _ = try resolveHash(text, account: account, environment: [:])
    }

    /// A hash given inline, as `file:PATH`, or as `credential:NAME`.
    /// Nil means the referenced file disables the account (empty, `!` or `*`).
    static func resolveHash(_ text: String, account: String, environment: [String: String]) throws(Invalid) -> (any PasswordVerifier)? {
        var hashText = text
        if text.hasPrefix("file:") || text.hasPrefix("credential:") {
            let path: String
            if text.hasPrefix("file:") {
                path = String(text.dropFirst("file:".count))
            } else {
                guard let directory = environment["CREDENTIALS_DIRECTORY"] else {
                    throw Invalid(message: "account '\(account)': \(text) needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=)")
                }
                path = directory + "/" + text.dropFirst("credential:".count)
            }
            guard let bytes = try? DurableFile.read(path) else {
                throw Invalid(message: "account '\(account)': cannot read the password hash from \(path)")
            }
            hashText = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
            // Like a locked /etc/shadow entry: the file exists (a unit's LoadCredential=
            // needs it) but the account is disabled.
            if ["", "!", "*"].contains(hashText) { return nil }
        }
        guard let verifier = PasswordHashFormat.parse(hashText) else {
            throw Invalid(message: "account '\(account)': not a password hash (expected a crypt(3) hash such as $y$... from 'chatroomd hash-password', or 64 hex digits)")
        }
        return verifier
    }

    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
