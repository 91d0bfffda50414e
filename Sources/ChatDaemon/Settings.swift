import ChatCore
import ChatProtocol
import Glibc
import Reactor

/// Every setting of the daemon, with its default. Filled from the defaults, then the
/// configuration file, then command-line flags (flags win), all through the one option
/// table below, so the file and the flags accept exactly the same values.
public struct Settings: Equatable, Sendable {
    public var listen: [String] = []
    /// TLS listeners, and the certificate chain and key they serve (paths, or
    /// `credential:NAME`; by default the credentials `tls-certificate` and `tls-key`).
    public var listenTLS: [String] = []
    public var tlsCertificate: String? = nil
    public var tlsKey: String? = nil
    public var requireTLSForLogin = false
    public var tlsHandshakesPerAddress = 8
    public var tlsHandshakesInFlight = 256
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
    public var joinsPerAddressPerMinute = 30
    public var presenceRate = 2.0
    public var presenceBurst = 10
    public var maxFrameBytes = 64 * 1024
    public var maxSendQueueBytes = 4 << 20
    public var maxConnections = 10_000
    public var maxConnectionsPerAddress = 32
    public var acceptsPerAddressPerSecond = 20.0
    public var ipv6HostPrefix = 64
    public var controlSocket: String? = nil
    public var controlGroup: String? = nil
    public var shutdownGrace = 3.0
    public var redis: RedisEndpoint? = nil
    public var nodeName: String? = nil
    public var roomName = "lobby"
    /// Milliseconds a busy node waits between reads from Redis (`redis-coalesce`); 0: never.
    public var redisCoalesceMilliseconds = 2
    public var passwordCheckWorkers = 2
    public var passwordChecksPerAddress = 2
    public var passwordChecksInFlight = 32

    public init() {}

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
        public init(message: String) { self.message = message }
    }

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
        if flagKeys.contains("listen-tls") { settings.listenTLS = [] }
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
