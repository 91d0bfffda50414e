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

/// Every daemon setting as a flag, taken from `Settings.options` (the configuration file
/// takes the same keys); argument-parser passes them through and `Settings.parseFlags`
/// reads them, so no option is declared twice.
struct SettingsOptions: ParsableArguments {
    @Argument(parsing: .allUnrecognized,
              help: ArgumentHelp("--config PATH, then any option below as --KEY VALUE or --KEY=VALUE.", valueName: "options"))
    var arguments: [String] = []

    /// The configuration file and the flags given, in order. `$CHATROOMD_ADMIN_PASSWORD_HASH`
    /// counts as `--admin-password-hash` when that flag is absent.
    func parsed() throws(Settings.Invalid) -> (config: String?, flags: [(key: String, value: String)]) {
        var (config, flags) = try Settings.parseFlags(arguments)
        if !flags.contains(where: { $0.key == "admin-password-hash" }),
           let hash = Chatroomd.environment["CHATROOMD_ADMIN_PASSWORD_HASH"], !hash.isEmpty {
            flags.append(("admin-password-hash", hash))
        }
        return (config, flags)
    }

    /// A flag that is not in the table, or has no value, is a usage error (exit 64).
    func checkUsage() throws {
        do { _ = try parsed() } catch {
            writeStandardError("chatroomd: \(error.message)\n")
            throw ExitCode(ExitStatus.usage)
        }
    }

    /// The configuration file to read, if any: an explicit one must exist.
    func configurationPath() throws(Settings.Invalid) -> String? {
        if let config = try parsed().config { return config }
        if let directory = Chatroomd.environment["CONFIGURATION_DIRECTORY"] {
            let path = String(directory.split(separator: ":").first ?? "") + "/chatroomd.conf"
            if access(path, F_OK) == 0 { return path }
        }
        return nil
    }

    /// Reads the file (if any) and applies the flags over it.
    func resolve() throws(Settings.Invalid) -> Settings {
        var file: ConfigurationFile? = nil
        let flags = try parsed().flags
        if let path = try configurationPath() { file = try ConfigurationFile.load(path: path) }
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
            SIGUSR2 (chatroomctl restart) restarts in place, the program at this path \
            taking over every connection; SIGUSR1 (systemctl restart) does so through \
            systemd's file descriptor store. \
            Under systemd: Type=notify readiness and status, watchdog, socket activation, \
            structured journal entries, sanctions and history kept in $STATE_DIRECTORY, \
            the control socket for chatroomctl in $RUNTIME_DIRECTORY.

            Every option may also be set in the configuration file as 'key = value' \
            (the option's name without '--'); flags win over the file.

            \(Settings.flagHelp)

            Exit codes: 0 clean shutdown, 64 usage error, 71 cannot listen or set up, \
            78 configuration error.
            """,
        version: ChatroomVersion.current,
        subcommands: [Serve.self, HashPassword.self, CheckConfig.self],
        defaultSubcommand: Serve.self
    )

    static var environment: [String: String] { Settings.processEnvironment() }
}

/// Runs the daemon: `chatroomd [options]` is `chatroomd serve [options]`.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the chat server in the foreground (the default)."
    )

    @OptionGroup var options: SettingsOptions

    func run() throws {
        try options.checkUsage()
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
            // Escapes client text on stderr as the journal handler does in MESSAGE.
            var handler = SanitizingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "chatroomd")
        logger.logLevel = level

        let options = self.options
        let server: ChatServer
        do {
            server = try ChatServer(settings: settings, reloadSettings: { () throws(Settings.Invalid) -> Settings in try options.resolve() },
                                    environment: Chatroomd.environment, logger: logger)
            try server.start()
        } catch {
            logger.critical("\(error)", metadata: ["chat_event": "start-failed"])
            throw ExitCode(error.exitCode)
        }
        server.run()
    }
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
        try options.checkUsage()
        // A running daemon's trial run of this program before handing over: can it read the
        // state the daemon would hand it?
        if let problem = ChatServer.handoverProblem(environment: Chatroomd.environment) {
            writeStandardError("chatroomd: \(problem)\n")
            throw ExitCode(ExitStatus.config)
        }
        do {
            let settings = try options.resolve()
            // Credentials exist only inside the service; check only what can be read here.
            let accounts = try settings.accounts(environment: Chatroomd.environment, skippingUnavailableCredentials: true)
            try ChatServer.checkTLS(settings, environment: Chatroomd.environment)
            let source = try options.configurationPath() ?? "(no configuration file)"
            print("\(source): OK (\(accounts.count) admin account\(accounts.count == 1 ? "" : "s"))")
        } catch {
            writeStandardError("\(error.message)\n")
            throw ExitCode(ExitStatus.config)
        }
    }
}
