import ArgumentParser
import ChatClient
import ChatProtocol
import Glibc
import Terminal

@main
struct Chatroom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatroom",
        abstract: "Chat in a chatroomd room from the terminal.",
        discussion: """
            Type a line and press Enter to send it. Nothing typed is lost: lines are paced to \
            the server's flood limit and sent again, in order, when the server asks to wait \
            (flood control, slowmode); "[3 queued] >" shows lines still waiting. A line longer \
            than the server accepts is refused before sending.

            Leaving: /quit or !DC (after queued lines are delivered), Ctrl-D on an empty line \
            or Ctrl-C (at once). Ctrl-Z suspends.

            Editing: Left/Right, Ctrl-B/F move by character; Alt-B/F, Ctrl-Left/Right by word; \
            Home/End, Ctrl-A/E to the ends; Backspace, Delete; Ctrl-W deletes the word before \
            the cursor, Ctrl-U everything before it, Ctrl-K everything after it; Up/Down recall \
            sent lines; Tab completes nicknames and /commands; Ctrl-L redraws the screen.

            Server commands (the server's /help has the details): /who, /msg <nick> <text>, \
            /me <action>, /nick <new>, /login <account> <password>, /help; admins also /kick, \
            /ban, /unban, /bans, /mute, /unmute, /slowmode, /say. A line that looks like one \
            of them typed without the slash (login alice secret) is sent only after a second Enter.

            Lines that mention your nickname and private messages to you are shown in bold \
            and ring the terminal bell. NO_COLOR, or output that is not a terminal, gives \
            plain text.

            In a pipe, each input line is sent; at end of input (or /quit, !DC) chatroom waits \
            until every line is delivered, then leaves: printf 'hi\\n' | chatroom --nick bot

            When the connection drops (a server restart, a network change), chatroom reconnects \
            after 0.5 s, doubling to 30 s between attempts ("[reconnecting in 4s] >"), rejoins \
            under the same nickname and shows the history lines it missed, then sends what was \
            typed meanwhile, in order. A kick or a ban is not undone. It keeps trying forever \
            on a terminal and for 300 s in a pipe (--reconnect-timeout); --no-reconnect exits \
            instead.

            Settings: $XDG_CONFIG_HOME/chatroom/config (default ~/.config/chatroom/config), \
            lines such as 'host = chat.example.org', 'port', 'nick', 'timestamps', 'colour', \
            'bell' (yes/no). Flags win over the file.

            TLS: --tls (or a host given as tls://host:port; default port 12443) encrypts the \
            connection. The server's certificate is checked against the system's CAs (or \
            --ca-file) and its name; a certificate no CA vouches for (a self-signed one) is \
            trusted on first use, like ssh: its SHA-256 fingerprint is shown and remembered in \
            $XDG_CONFIG_HOME/chatroom/known_servers, and a later change is refused with a loud \
            warning. --insecure skips every check (the traffic is still encrypted, but anyone on \
            the path could be in the middle) and says so when it connects.

            Exit codes: 0 after leaving, 1 when the server closed the connection for good (a \
            kick or ban, or no reconnect within the timeout; its last message is printed), 64 usage error (also a nickname the server refused, in a \
            pipe), 65 some piped line could not be delivered (named on stderr), 69 cannot connect.
            """,
        version: ChatroomVersion.current
    )

    @Option(help: "Server host name or address, or tls://host:port for TLS. (default: 127.0.0.1)")
    var host: String?

    @Option(help: "Server port. (default: 12000, or 12443 with TLS)")
    var port: UInt16?

    @Flag(help: "Connect with TLS, checking the server's certificate (see TLS below).")
    var tls = false

    @Option(help: ArgumentHelp("Trust the CA certificates in this PEM file instead of the system's (implies --tls).", valueName: "path"))
    var caFile: String?

    @Flag(help: "With TLS: do not check the server's certificate at all. The connection is encrypted but not authenticated: anyone on the path could read and change it.")
    var insecure = false

    @Option(help: "Your nickname (asked for when absent, and again if the server refuses it). 'admin' logs in as the admin: the password is then read without echo, or as the first line of piped input.")
    var nick: String?

    @Flag(inversion: .prefixedNo, help: "A local HH:MM timestamp before every line. (default: on a terminal)")
    var timestamps: Bool?

    @Flag(inversion: .prefixedNo, help: "Nicknames in colours and highlights in bold. (default: on a terminal, unless NO_COLOR is set)")
    var color: Bool?

    @Flag(inversion: .prefixedNo, help: "Ring the terminal bell for lines that mention you and private messages. (default: on a terminal)")
    var bell: Bool?

    @Flag(help: "Exit when the connection drops instead of reconnecting.")
    var noReconnect = false

    @Option(help: ArgumentHelp("Stop reconnecting after this many seconds without a connection, or 'never'. (default: never on a terminal, 300 in a pipe)", valueName: "seconds|never"))
    var reconnectTimeout: String?

    /// Seconds, or nil for never.
    static func parseTimeout(_ text: String) -> Double?? {
        if text == "never" { return .some(nil) }
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0 else { return nil }
        return .some(seconds)
    }

    func validate() throws {
        if let reconnectTimeout, Self.parseTimeout(reconnectTimeout) == nil {
            throw ValidationError("--reconnect-timeout takes a number of seconds or 'never', not '\(reconnectTimeout)'")
        }
        if let nick, !Self.isAcceptable(nick) {
            throw ValidationError("the nickname must contain at least one letter or digit")
        }
    }

    static func isAcceptable(_ nick: String) -> Bool {
        nick.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }

    func run() throws {
        let settings = try loadSettings()
        let interactive = TerminalMode.isTerminal(STDIN_FILENO) && TerminalMode.isTerminal(STDOUT_FILENO)
        let noColour = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        let style = LineStyle(timestamps: timestamps ?? settings.timestamps ?? interactive,
                              colour: interactive && !noColour && (color ?? settings.colour ?? true),
                              bell: interactive && (bell ?? settings.bell ?? true))
        var host = host ?? settings.host ?? "127.0.0.1"
        var useTLS = tls || caFile != nil || insecure
        var addressPort: UInt16? = nil
        if host.hasPrefix(Self.tlsScheme) {
            useTLS = true
            (host, addressPort) = Self.splitHostPort(String(host.dropFirst(Self.tlsScheme.count)))
        }
        let port = port ?? addressPort ?? settings.port ?? (useTLS ? 12443 : 12000)
        let clientTLS: ClientTLS?
        do {
            clientTLS = useTLS ? try ClientTLS(.init(caFile: caFile, insecure: insecure,
                                                     knownServers: KnownServers.defaultPath().map(KnownServers.init))) : nil
        } catch {
            writeStandardError("chatroom: \(error)\n")
            throw ExitCode(64)
        }
        guard var nick = nick ?? settings.nick.flatMap({ Self.isAcceptable($0) ? $0 : nil }) ?? promptForNick() else {
            writeStandardError("chatroom: no nickname given\n")
            throw ExitCode(64)
        }
        let timeout = reconnectTimeout.flatMap(Self.parseTimeout) ?? (interactive ? nil : 300)
        let session = ChatSession(nick: nick, options: .init(interactive: interactive, style: style,
                                                             reconnect: !noReconnect, reconnectTimeoutSeconds: timeout))
        var dialer = ServerDialer(host: host, port: port, tls: clientTLS)
        while true {
            let outcome = try session.run {
                // After a refused rejoin the server may be away again: the session keeps trying.
                if session.isReconnecting { return try? (session.dialer ?? dialer).dial(nick: nick) }
                let connection = try connect(dialer: &dialer, nick: nick)
                session.dialer = dialer
                return connection
            }
            switch outcome {
            case .quit: return
            case .undelivered: throw ExitCode(65)
            case .closedByServer:
                writeStandardError("chatroom: disconnected by the server\n")
                throw ExitCode(1)
            case .joinTimedOut, .gaveUp:
                throw ExitCode(1)
            case let .joinRefused(_, nickProblem):
                guard nickProblem else {
                    writeStandardError("chatroom: disconnected by the server\n")
                    throw ExitCode(1)
                }
                guard interactive else {
                    writeStandardError("chatroom: the server refused the nickname \(nick)\n")
                    throw ExitCode(64)
                }
                guard let next = promptForNick() else { throw ExitCode(64) }
                nick = next
                session.rename(nick)
            }
        }
    }

    private func loadSettings() throws -> ClientConfiguration {
        guard let path = ClientConfiguration.path() else { return ClientConfiguration() }
        do {
            return try ClientConfiguration.load(path: path)
        } catch {
            writeStandardError("chatroom: \(error)\n")
            throw ExitCode(64)
        }
    }

    /// Connects and sends the greeting (asking for the admin password first, once: the
    /// dialer keeps it for reconnecting).
    private func connect(dialer: inout ServerDialer, nick: String) throws -> ServerConnection {
        if nick == "admin" && dialer.adminPassword == nil {
            if dialer.tls == nil {
                writeStandardError("Warning: this connection is not encrypted: the password travels in the clear (use --tls).\n")
            }
            guard let password = readSecret(prompt: "Password for admin: ") else {
                writeStandardError("chatroom: no password given\n")
                throw ExitCode(64)
            }
            dialer.adminPassword = password
        }
        let connection: ServerConnection
        do {
            connection = try ServerConnection(host: dialer.host, port: dialer.port, tls: dialer.tls)
        } catch {
            writeStandardError("chatroom: \(error)\n")
            throw ExitCode(69)
        }
        reportTrust(connection.trust, server: "\(dialer.host):\(dialer.port)")
        guard let greeting = dialer.greeting(nick: nick), connection.send(greeting) else {
            writeStandardError("chatroom: the connection closed before joining\n")
            throw ExitCode(1)
        }
        return connection
    }

    static let tlsScheme = "tls://"

    /// `host:port`, `[v6]:port` or a bare host.
    static func splitHostPort(_ text: String) -> (String, UInt16?) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? UInt16(rest.dropFirst()) : nil)
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            return (String(text[..<colon]), UInt16(text[text.index(after: colon)...]))
        }
        return (text, nil)
    }

    /// Says how the server's certificate was trusted, when it was not by a CA.
    private func reportTrust(_ trust: ClientTLS.Trust?, server: String) {
        switch trust {
        case let .firstUse(fingerprint)?:
            writeStandardError("""
                chatroom: \(server)'s certificate is not signed by a CA this client trusts (self-signed?).
                chatroom: first connection: trusting and remembering its fingerprint
                chatroom:   SHA256:\(fingerprint)
                chatroom: compare it with the server's (openssl x509 -noout -fingerprint -sha256 -in CERT); a later change will be refused.

                """)
        case let .unchecked(reason)?:
            writeStandardError("chatroom: WARNING: --insecure: \(server)'s certificate was NOT checked (\(reason)); the connection is encrypted, but anyone on the path could read and change it.\n")
        case .verified?, .known?, nil:
            break
        }
    }

    private func promptForNick() -> String? {
        while true {
            if TerminalMode.isTerminal(STDIN_FILENO) { writeStandardError("Nickname: ") }
            guard let line = readLineUnbuffered() else { return nil }
            if Self.isAcceptable(line) { return line }
            writeStandardError("A nickname needs at least one letter or digit.\n")
            if !TerminalMode.isTerminal(STDIN_FILENO) { return nil }
        }
    }
}
