import ArgumentParser
import ChatCore
import ChatDaemon
import Glibc
import Logging
import Reactor
import Systemd
import Terminal

/// `sysexits.h` codes, so scripts and systemd can tell a usage mistake from a broken
/// configuration from a system failure.
enum ExitStatus {
    static let usage: Int32 = 64
    static let unavailable: Int32 = 69
    static let osError: Int32 = 71
    static let config: Int32 = 78
}

@main
struct Chatroomd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatroomd",
        abstract: "A chat-room server, wire-compatible with the original Python chat room.",
        discussion: """
            Runs in the foreground on one thread. SIGTERM or SIGINT: members are told the \
            server is shutting down, output is flushed (a few seconds at most), exit 0; a \
            second signal exits at once. SIGHUP reloads the admin password hash. Under \
            systemd: Type=notify readiness and status, watchdog, socket activation, \
            structured journal entries, bans kept in $STATE_DIRECTORY.

            Exit codes: 0 clean shutdown, 64 usage error, 71 cannot listen or set up, \
            78 configuration error.
            """,
        version: "0.1.0",
        subcommands: [HashPassword.self]
    )

    @Option(name: .customLong("listen"),
            help: ArgumentHelp("Address and port to listen on; repeat for several. [::]:PORT is dual-stack, port 0 picks a free port.",
                               valueName: "ADDRESS:PORT"))
    var listen: [String] = []

    @Option(name: .customLong("admin-password-hash"),
            help: ArgumentHelp("SHA-256 hex digest of the admin password (see 'chatroomd hash-password'). Also read from $CHATROOMD_ADMIN_PASSWORD_HASH. Without one, admin login is refused.",
                               valueName: "HEX"))
    var adminPasswordHash: String?

    @Option(name: .customLong("admin-password-hash-file"),
            help: ArgumentHelp("File holding the admin password hash; re-read on SIGHUP. Under systemd the credential 'admin-password-hash' ($CREDENTIALS_DIRECTORY) is used when no other source is given.",
                               valueName: "PATH"))
    var adminPasswordHashFile: String?

    @Option(name: .customLong("state-directory"),
            help: ArgumentHelp("Directory where bans are kept across restarts. Default: $STATE_DIRECTORY (set by systemd's StateDirectory=), else bans live in memory only.",
                               valueName: "PATH"))
    var stateDirectory: String?

    @Option(name: .customLong("log-target"),
            help: "auto (the journal when stderr is connected to it, else stderr), journal, or stderr.")
    var logTarget: String = "auto"

    @Option(name: .customLong("log-level"),
            help: "trace, debug, info, notice, warning, error or critical. Chat message bodies are logged only at debug.")
    var logLevel: String = "info"

    @Option(name: .customLong("max-frame-bytes"), help: "Largest frame payload accepted, in bytes.")
    var maxFrameBytes: Int = 64 * 1024

    @Option(name: .customLong("max-send-queue-bytes"),
            help: "A member whose unsent output exceeds this is disconnected.")
    var maxSendQueueBytes: Int = 4 << 20

    @Option(name: .customLong("shutdown-grace"), help: "Seconds allowed for flushing the shutdown notice.")
    var shutdownGrace: Double = 3

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard ["auto", "journal", "stderr"].contains(logTarget) else {
            throw ValidationError("--log-target must be auto, journal or stderr")
        }
        if adminPasswordHash != nil && adminPasswordHashFile != nil {
            throw ValidationError("give --admin-password-hash or --admin-password-hash-file, not both")
        }
        guard maxFrameBytes > 0 else { throw ValidationError("--max-frame-bytes must be positive") }
        guard maxSendQueueBytes > 0 else { throw ValidationError("--max-send-queue-bytes must be positive") }
        guard shutdownGrace >= 0 && shutdownGrace <= 600 else { throw ValidationError("--shutdown-grace must be between 0 and 600") }
        for address in listen {
            do { _ = try SocketAddress(parsing: address) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        let toJournal = logTarget == "journal" || (logTarget == "auto" && JournalStream.isStandardErrorJournal())
        LoggingSystem.bootstrap { label in
            if toJournal {
                return JournalLogHandler(identifier: "chatroomd", logLevel: level,
                                         eventKey: "chat_event", messageIDs: ChatEvent.messageIDs)
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "chatroomd")

        let configuration = DaemonConfiguration(
            listenAddresses: listen.map { try! SocketAddress(parsing: $0) },  // checked in validate()
            adminPasswordSource: adminPasswordSource(),
            stateDirectory: stateDirectory ?? Self.environment("STATE_DIRECTORY").map { String($0.split(separator: ":").first ?? "") },
            logMessageBodies: level <= .debug,
            maximumFrameLength: maxFrameBytes,
            maximumQueuedBytes: maxSendQueueBytes,
            shutdownGraceNanoseconds: UInt64(shutdownGrace * 1e9)
        )
        let server: ChatServer
        do {
            server = try ChatServer(configuration: configuration, logger: logger)
            try server.start()
        } catch {
            logger.critical("\(error)", metadata: ["chat_event": "start-failed"])
            throw ExitCode(error.exitCode)
        }
        server.run()
    }

    /// Flag, then file flag, then environment, then the systemd credential.
    private func adminPasswordSource() -> AdminPasswordSource {
        if let adminPasswordHash { return .literal(adminPasswordHash, origin: "--admin-password-hash") }
        if let adminPasswordHashFile { return .file(adminPasswordHashFile) }
        if let value = Self.environment("CHATROOMD_ADMIN_PASSWORD_HASH"), !value.isEmpty {
            return .literal(value, origin: "$CHATROOMD_ADMIN_PASSWORD_HASH")
        }
        if let directory = Self.environment("CREDENTIALS_DIRECTORY") {
            let path = directory + "/admin-password-hash"
            if access(path, R_OK) == 0 { return .file(path) }
        }
        return .none
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Read a password and print the hash to configure as --admin-password-hash.",
        discussion: "On a terminal the password is read twice without echo; from a pipe, the first line is used."
    )

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
        print(AdminPasswordHash.of(password: password).hex)
    }
}
