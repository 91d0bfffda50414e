import ArgumentParser
import ChatCore
import ChatDaemon
import ChatProtocol
import Glibc
import Logging
import Systemd
import Terminal

/// `sysexits.h` codes, so scripts and systemd can tell a usage mistake from a broken
/// configuration from a system failure.
enum ExitStatus {
    static let usage: Int32 = 64
    static let osError: Int32 = 71
    static let config: Int32 = 78
}

/// Every daemon setting as a flag; the configuration file takes the same keys.
struct SettingsOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: ArgumentHelp("The configuration file (key = value lines; see chatroomd(8)). Default: $CONFIGURATION_DIRECTORY/chatroomd.conf when systemd sets it and the file exists.", valueName: "PATH"))
    var config: String?

    @Option(name: .customLong("listen"), help: help("listen")) var listen: [String] = []
    @Option(name: .customLong("admin"), help: help("admin")) var admin: [String] = []
    @Option(name: .customLong("admin-password-hash"), help: help("admin-password-hash")) var adminPasswordHash: String?
    @Option(name: .customLong("admin-password-hash-file"), help: help("admin-password-hash-file")) var adminPasswordHashFile: String?
    @Option(name: .customLong("state-directory"), help: help("state-directory")) var stateDirectory: String?
    @Option(name: .customLong("log-level"), help: help("log-level")) var logLevel: String?
    @Option(name: .customLong("log-target"), help: help("log-target")) var logTarget: String?
    @Option(name: .customLong("history-lines"), help: help("history-lines")) var historyLines: String?
    @Option(name: .customLong("slowmode"), help: help("slowmode")) var slowmode: String?
    @Option(name: .customLong("flood-rate"), help: help("flood-rate")) var floodRate: String?
    @Option(name: .customLong("flood-burst"), help: help("flood-burst")) var floodBurst: String?
    @Option(name: .customLong("flood-disconnect-after"), help: help("flood-disconnect-after")) var floodDisconnectAfter: String?
    @Option(name: .customLong("handshake-timeout"), help: help("handshake-timeout")) var handshakeTimeout: String?
    @Option(name: .customLong("max-frame-bytes"), help: help("max-frame-bytes")) var maxFrameBytes: String?
    @Option(name: .customLong("max-send-queue-bytes"), help: help("max-send-queue-bytes")) var maxSendQueueBytes: String?
    @Option(name: .customLong("max-connections"), help: help("max-connections")) var maxConnections: String?
    @Option(name: .customLong("max-connections-per-address"), help: help("max-connections-per-address")) var maxConnectionsPerAddress: String?
    @Option(name: .customLong("ipv6-host-prefix"), help: help("ipv6-host-prefix")) var ipv6HostPrefix: String?
    @Option(name: .customLong("control-socket"), help: help("control-socket")) var controlSocket: String?
    @Option(name: .customLong("control-group"), help: help("control-group")) var controlGroup: String?
    @Option(name: .customLong("shutdown-grace"), help: help("shutdown-grace")) var shutdownGrace: String?

    static func help(_ key: String) -> ArgumentHelp {
        let option = Settings.option(key)!
        return ArgumentHelp(option.help, valueName: option.valueName)
    }

    /// The flags given, as `(key, value)` in a stable order. `$CHATROOMD_ADMIN_PASSWORD_HASH`
    /// counts as `--admin-password-hash` when that flag is absent.
    var flags: [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        func add(_ key: String, _ value: String?) { if let value { result.append((key, value)) } }
        for value in listen { add("listen", value) }
        for value in admin { add("admin", value) }
        add("admin-password-hash", adminPasswordHash ?? Chatroomd.environment["CHATROOMD_ADMIN_PASSWORD_HASH"].flatMap { $0.isEmpty ? nil : $0 })
        add("admin-password-hash-file", adminPasswordHashFile)
        add("state-directory", stateDirectory)
        add("log-level", logLevel)
        add("log-target", logTarget)
        add("history-lines", historyLines)
        add("slowmode", slowmode)
        add("flood-rate", floodRate)
        add("flood-burst", floodBurst)
        add("flood-disconnect-after", floodDisconnectAfter)
        add("handshake-timeout", handshakeTimeout)
        add("max-frame-bytes", maxFrameBytes)
        add("max-send-queue-bytes", maxSendQueueBytes)
        add("max-connections", maxConnections)
        add("max-connections-per-address", maxConnectionsPerAddress)
        add("ipv6-host-prefix", ipv6HostPrefix)
        add("control-socket", controlSocket)
        add("control-group", controlGroup)
        add("shutdown-grace", shutdownGrace)
        return result
    }

    /// The configuration file to read, if any: an explicit one must exist.
    func configurationPath() -> String? {
        if let config { return config }
        if let directory = Chatroomd.environment["CONFIGURATION_DIRECTORY"] {
            let path = String(directory.split(separator: ":").first ?? "") + "/chatroomd.conf"
            if access(path, F_OK) == 0 { return path }
        }
        return nil
    }

    /// Reads the file (if any) and applies the flags over it.
    func resolve() throws(Settings.Invalid) -> Settings {
        var file: ConfigurationFile? = nil
        if let path = configurationPath() {
            guard let bytes = try? ConfigurationFileReader.read(path) else {
                throw Settings.Invalid(message: "\(path): cannot read the configuration file: \(String(cString: strerror(errno)))")
            }
            do { file = try ConfigurationFile(path: path, text: bytes) } catch {
                throw Settings.Invalid(message: error.description)
            }
        }
        return try Settings.resolve(file: file, flags: flags)
    }
}

@main
struct Chatroomd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatroomd",
        abstract: "A chat-room server, wire-compatible with the original Python chat room.",
        discussion: """
            Runs in the foreground on one thread. SIGTERM or SIGINT: members are told the \
            server is shutting down, output is flushed (a few seconds at most), exit 0; a \
            second signal exits at once. SIGHUP reloads the configuration, all or nothing. \
            Under systemd: Type=notify readiness and status, watchdog, socket activation, \
            structured journal entries, sanctions and history kept in $STATE_DIRECTORY, \
            the control socket for chatroomctl in $RUNTIME_DIRECTORY.

            Every option may also be set in the configuration file as 'key = value' \
            (the option's name without '--'); flags win over the file.

            Exit codes: 0 clean shutdown, 64 usage error, 71 cannot listen or set up, \
            78 configuration error.
            """,
        version: ChatroomVersion.current,
        subcommands: [HashPassword.self, CheckConfig.self]
    )

    @OptionGroup var options: SettingsOptions

    func run() throws {
        let settings: Settings
        do { settings = try options.resolve() } catch {
            writeStandardError("chatroomd: \(error.message)\n")
            throw ExitCode(ExitStatus.config)
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let toJournal = settings.logTarget == "journal" || (settings.logTarget == "auto" && JournalStream.isStandardErrorJournal())
        LoggingSystem.bootstrap { label in
            if toJournal {
                return JournalLogHandler(identifier: "chatroomd", logLevel: level,
                                         eventKey: "chat_event", messageIDs: ChatEvent.messageIDs)
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "chatroomd")
        logger.logLevel = level

        let options = self.options
        let server: ChatServer
        do {
            server = try ChatServer(settings: settings, reloadSettings: { () throws(Settings.Invalid) -> Settings in try options.resolve() },
                                    environment: Self.environment, logger: logger)
            try server.start()
        } catch {
            logger.critical("\(error)", metadata: ["chat_event": "start-failed"])
            throw ExitCode(error.exitCode)
        }
        server.run()
    }

    static var environment: [String: String] { Settings.processEnvironment() }
}

struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Read a password and print a slow, salted hash (yescrypt) for an admin account.",
        discussion: "On a terminal the password is read twice without echo; from a pipe, the first line is used. Use the output as HASH in 'admin = NAME HASH', --admin-password-hash, or the credential file."
    )

    @Flag(help: "Print the original chat room's unsalted SHA-256 hex digest instead (compatibility only).")
    var sha256 = false

    func run() throws {
        guard let password = readSecret(prompt: "Admin password: "), !password.isEmpty else {
            writeStandardError("chatroomd: no password given\n")
            throw ExitCode(ExitStatus.usage)
        }
        if TerminalMode.isTerminal(STDIN_FILENO) {
            guard readSecret(prompt: "Again: ") == password else {
                writeStandardError("chatroomd: the passwords differ\n")
                throw ExitCode(ExitStatus.usage)
            }
        }
        if sha256 {
            print(SHA256PasswordHash.of(password: password).hex)
            return
        }
        guard let hash = CryptPasswordHash.make(password: password) else {
            writeStandardError("chatroomd: libcrypt could not make a yescrypt hash\n")
            throw ExitCode(ExitStatus.osError)
        }
        print(hash.encoded)
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and flags without starting; exit 0 if valid, 78 with 'file:line: problem' if not."
    )

    @OptionGroup var options: SettingsOptions

    func run() throws {
        do {
            let settings = try options.resolve()
            // Credentials exist only inside the service; check only what can be read here.
            let accounts = try settings.accounts(environment: Chatroomd.environment, skippingUnavailableCredentials: true)
            let source = options.configurationPath() ?? "(no configuration file)"
            print("\(source): OK (\(accounts.count) admin account\(accounts.count == 1 ? "" : "s"))")
        } catch {
            writeStandardError("\(error.message)\n")
            throw ExitCode(ExitStatus.config)
        }
    }
}
