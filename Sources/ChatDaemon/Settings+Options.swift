import ChatCore
import ChatProtocol
import Glibc
import NicknameProfile
import Reactor

extension Settings {
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
        Option(key: "listen-tls", valueName: "ADDRESS:PORT",
               help: "Address and port for TLS connections; repeat for several (12443 is the usual port). Needs tls-certificate and tls-key. Ignored when systemd passes sockets (the one named 'tls' is TLS).",
               repeats: true, reloadable: false, stores: \.listenTLS) { value, settings throws(Invalid) in
            do { _ = try SocketAddress(parsing: value) } catch { throw Invalid(message: "\(error)") }
            settings.listenTLS.append(value)
        },
        Option(key: "tls-certificate", valueName: "PATH",
               help: "The TLS certificate chain (PEM, leaf first; ECDSA or RSA), or 'credential:NAME'. Default: the systemd credential 'tls-certificate'. Re-read on reload.",
               repeats: false, reloadable: true, stores: \.tlsCertificate) { value, settings throws(Invalid) in
            settings.tlsCertificate = value
        },
        Option(key: "tls-key", valueName: "PATH",
               help: "The TLS private key (PEM), or 'credential:NAME'. Default: the systemd credential 'tls-key'. Re-read on reload; a pair that does not load fails the reload and the old one stays.",
               repeats: false, reloadable: true, stores: \.tlsKey) { value, settings throws(Invalid) in
            settings.tlsKey = value
        },
        Option(key: "require-tls-for-login", valueName: "yes|no",
               help: "Refuse admin logins (admin:<password>, /login) over plaintext, with a frame that says why. Default no, for the seed's clients; yes is recommended.",
               repeats: false, reloadable: true, stores: \.requireTLSForLogin) { value, settings throws(Invalid) in
            guard value == "yes" || value == "no" else { throw Invalid(message: "require-tls-for-login must be yes or no") }
            settings.requireTLSForLogin = value == "yes"
        },
        Option(key: "tls-handshakes-per-address", valueName: "N",
               help: "TLS handshakes one IPv4 address or IPv6 host prefix may have in progress; a further connection is closed at once. Default 8.",
               repeats: false, reloadable: true, stores: \.tlsHandshakesPerAddress) { value, settings throws(Invalid) in
            settings.tlsHandshakesPerAddress = try integer(value, "tls-handshakes-per-address", 1...100_000)
        },
        Option(key: "tls-handshakes-in-flight", valueName: "N",
               help: "TLS handshakes in progress in all; a further connection is closed at once. Default 256.",
               repeats: false, reloadable: true, stores: \.tlsHandshakesInFlight) { value, settings throws(Invalid) in
            settings.tlsHandshakesInFlight = try integer(value, "tls-handshakes-in-flight", 1...1_000_000)
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
        Option(key: "joins-per-address-per-minute", valueName: "N|off",
               help: "Joins one IPv4 address or IPv6 host prefix may make a minute (bursts of N, then one every 60/N seconds); beyond it a join is refused with the wait. Default 30.",
               repeats: false, reloadable: true, stores: \.joinsPerAddressPerMinute) { value, settings throws(Invalid) in
            if value == "off" { settings.joinsPerAddressPerMinute = 0; return }
            settings.joinsPerAddressPerMinute = try integer(value, "joins-per-address-per-minute", 1...100_000)
        },
        Option(key: "presence-rate", valueName: "PER-SECOND|off",
               help: "Join and leave notices a second the room hears one by one; past it (and bursts of presence-burst) they are summed up in one line a second. Muted members' joins and leaves are never announced. Default 2.",
               repeats: false, reloadable: true, stores: \.presenceRate) { value, settings throws(Invalid) in
            if value == "off" { settings.presenceRate = 0; return }
            settings.presenceRate = try number(value, "presence-rate", 0.01...100_000)
        },
        Option(key: "presence-burst", valueName: "N",
               help: "Join and leave notices announced one by one at once before presence-rate applies. Default 10.",
               repeats: false, reloadable: true, stores: \.presenceBurst) { value, settings throws(Invalid) in
            settings.presenceBurst = try integer(value, "presence-burst", 1...100_000)
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
        Option(key: "accepts-per-address-per-second", valueName: "N|off",
               help: "New connections one IPv4 address or IPv6 host prefix may open a second on average (bursts of twice that); faster ones are refused at once. Default 20.",
               repeats: false, reloadable: true, stores: \.acceptsPerAddressPerSecond) { value, settings throws(Invalid) in
            if value == "off" { settings.acceptsPerAddressPerSecond = 0; return }
            settings.acceptsPerAddressPerSecond = try number(value, "accepts-per-address-per-second", 0.01...1_000_000)
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
        Option(key: "password-check-workers", valueName: "N",
               help: "Threads that check admin passwords, so that slow hashes never hold up the event loop. Default 2.",
               repeats: false, reloadable: false, stores: \.passwordCheckWorkers) { value, settings throws(Invalid) in
            settings.passwordCheckWorkers = try integer(value, "password-check-workers", 1...64)
        },
        Option(key: "password-checks-per-address", valueName: "N",
               help: "Password checks one IPv4 address or IPv6 host prefix may have in progress; a further login is refused at once. Default 2.",
               repeats: false, reloadable: true, stores: \.passwordChecksPerAddress) { value, settings throws(Invalid) in
            settings.passwordChecksPerAddress = try integer(value, "password-checks-per-address", 1...1000)
        },
        Option(key: "password-checks-in-flight", valueName: "N",
               help: "Password checks in progress in all; a further login is refused at once. Default 32.",
               repeats: false, reloadable: true, stores: \.passwordChecksInFlight) { value, settings throws(Invalid) in
            settings.passwordChecksInFlight = try integer(value, "password-checks-in-flight", 1...100_000)
        },
        Option(key: "shutdown-grace", valueName: "SECONDS",
               help: "Time allowed for flushing the shutdown notice before connections are dropped. Default 3.",
               repeats: false, reloadable: true, stores: \.shutdownGrace) { value, settings throws(Invalid) in
            settings.shutdownGrace = try number(value, "shutdown-grace", 0...600)
        },
        // One room over several daemons (docs/operations.md, "One room on several daemons").
        Option(key: "redis", valueName: "URL",
               help: "Join the room's other daemons through this Redis: redis://HOST:PORT or unix:/PATH. Without it the daemon is a room of its own.",
               repeats: false, reloadable: false, stores: \.redis) { value, settings throws(Invalid) in
            settings.redis = try RedisEndpoint(parsing: value)
        },
        Option(key: "node-name", valueName: "NAME",
               help: "This daemon's name among the room's daemons (shown by /who). Default: the host name, a dash and $CHATROOMD_INSTANCE (the template unit's instance) or the process ID.",
               repeats: false, reloadable: false, stores: \.nodeName) { value, settings throws(Invalid) in
            guard !value.isEmpty, value.utf8.count <= 64, value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@:".contains($0) }) else {
                throw Invalid(message: "node-name must be 1 to 64 letters, digits and - _ . @ :")
            }
            settings.nodeName = value
        },
        Option(key: "room", valueName: "NAME",
               help: "The room's name, part of every Redis key and channel name, so rooms can live on different Redis shards. Default lobby.",
               repeats: false, reloadable: false, stores: \.roomName) { value, settings throws(Invalid) in
            guard !value.isEmpty, value.utf8.count <= 64, value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw Invalid(message: "room must be 1 to 64 letters, digits and - _ .")
            }
            settings.roomName = value
        },
        Option(key: "redis-coalesce", valueName: "MILLISECONDS|off",
               help: "Once a read from Redis brings 8 KiB or more (a busy room), wait this long before the next, so each member gets the lines of several reads in one write: fewer system calls under load, at most this much added latency; light traffic is never held. Default 2.",
               repeats: false, reloadable: false, stores: \.redisCoalesceMilliseconds) { value, settings throws(Invalid) in
            settings.redisCoalesceMilliseconds = value == "off" ? 0 : try integer(value, "redis-coalesce", 0...100)
        },
    ]

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
}
