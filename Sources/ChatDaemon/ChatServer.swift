import Bytes
import ChatCore
import ChatProtocol
import Glibc
import Logging
import Reactor
import Systemd

/// Wires the Reactor (sockets) to the Room (rules): decodes each connection's bytes into
/// frames, passes them to the Room with the time, and carries out the Room's effects.
/// Also keeps the service manager informed (readiness, status, watchdog, reload, stop),
/// keeps the state directory, applies connection limits and serves the control socket.
/// Everything runs on the reactor's thread, one event at a time.
public final class ChatServer: ReactorDelegate {
    public enum StartError: Error, CustomStringConvertible {
        case listen(String, SystemCallError)
        case setup(SystemCallError)
        case inheritedSocket(name: String, fd: Int32)
        case configuration(String)

        public var description: String {
            switch self {
            case let .listen(address, error): return "cannot listen on \(address): \(error)"
            case let .setup(error): return "cannot set up the event loop: \(error)"
            case let .inheritedSocket(name, fd):
                return "socket \(name) (fd \(fd)) passed by systemd is not a listening stream socket; check ListenStream= in the .socket unit"
            case let .configuration(text): return text
            }
        }

        /// `sysexits.h`: configuration problems are EX_CONFIG, the rest EX_OSERR.
        public var exitCode: Int32 {
            switch self {
            case .configuration, .inheritedSocket: return 78
            case .listen, .setup: return 71
            }
        }
    }

    /// Per-connection state. A class so the decoder can be fed in place while the frames
    /// it yields change the session table.
    final class Session {
        var decoder: FrameDecoder
        let address: IPAddress
        init(maximumFrameLength: Int, address: IPAddress) {
            decoder = FrameDecoder(maximumPayloadLength: maximumFrameLength)
            self.address = address
        }
    }

    /// A chatroomctl connection: one request frame, one reply frame, then close.
    final class ControlSession {
        var decoder = FrameDecoder(maximumPayloadLength: 64 << 10)
        let actor: String
        var deadline: TimerID? = nil
        init(actor: String) { self.actor = actor }
    }

    public private(set) var settings: Settings
    private let reloadSettings: () throws(Settings.Invalid) -> Settings
    private let environment: [String: String]
    public let reactor: Reactor
    public let room: Room
    private var logger: Logger
    private let notifier: ServiceNotifier
    private let stateStore: StateStore?
    private var limits: ConnectionLimits
    private let controlAccess: ControlAccess
    private var controlListener: ListenerID? = nil
    private var controlPath: String? = nil
    private var sessions: [ConnectionID: Session] = [:]
    private var controlSessions: [ConnectionID: ControlSession] = [:]
    private var effects: [RoomEffect] = []
    private var controlReplies: [String] = []
    private var shuttingDown = false
    private var lastStatus = ""
    private var lastRelayedCount: UInt64 = 0
    private var lastStatusTime: UInt64 = 0
    private var savedHistoryCount: UInt64 = 0
    /// Timers that repeat for the daemon's whole life (status, history saving, watchdog),
    /// and the shutdown deadline: what may still be pending at stop without being a leak.
    private var repeatingTimers = 0
    private var graceTimer: TimerID? = nil
    private let startedAt = MonotonicClock.now()
    public private(set) var boundAddresses: [SocketAddress] = []

    /// - Parameters:
    ///   - reloadSettings: reads the configuration again (file, then the same flags), for SIGHUP.
    ///   - environment: the process environment (`STATE_DIRECTORY`, `CREDENTIALS_DIRECTORY`, ...).
    public init(settings: Settings, reloadSettings: @escaping () throws(Settings.Invalid) -> Settings,
                environment: [String: String], logger: Logger,
                notifier: ServiceNotifier = SystemdNotifier()) throws(StartError) {
        self.settings = settings
        self.reloadSettings = reloadSettings
        self.environment = environment
        self.logger = logger
        self.notifier = notifier
        var reactorConfiguration = Reactor.Configuration()
        reactorConfiguration.maximumQueuedBytes = settings.maxSendQueueBytes
        reactorConfiguration.pauseReadingAboveQueuedBytes = max(settings.maxSendQueueBytes / 4, 64 << 10)
        do {
            reactor = try Reactor(configuration: reactorConfiguration)
        } catch {
            throw .setup(error)
        }
        let accounts: [String: any PasswordVerifier]
        do { accounts = try settings.accounts(environment: environment) } catch { throw .configuration(error.message) }

        var restored = StateStore.Loaded()
        let stateDirectory = settings.stateDirectory ?? environment["STATE_DIRECTORY"].map { String($0.split(separator: ":").first ?? "") }
        if let stateDirectory, !stateDirectory.isEmpty {
            var isDirectory = stat()
            guard stat(stateDirectory, &isDirectory) == 0, isDirectory.st_mode & S_IFMT == S_IFDIR else {
                throw .configuration("state directory \(stateDirectory) does not exist")
            }
            let store = StateStore(directory: stateDirectory)
            restored = store.load()
            stateStore = store
        } else {
            stateStore = nil
        }
        limits = ConnectionLimits(maximumTotal: settings.maxConnections, maximumPerAddress: settings.maxConnectionsPerAddress,
                                  ipv6PrefixLength: settings.ipv6HostPrefix)
        controlAccess = ControlAccess(groupName: settings.controlGroup)
        room = Room(configuration: Self.roomConfiguration(settings, accounts: accounts),
                    sanctions: restored.sanctions, history: restored.history)
        savedHistoryCount = 0
        reactor.delegate = self
        for problem in restored.setAside {
            log(.error, "state-unreadable", problem, ["chat_reason": problem])
        }
    }

    static func roomConfiguration(_ settings: Settings, accounts: [String: any PasswordVerifier]) -> Room.Configuration {
        Room.Configuration(accounts: accounts,
                           logMessageBodies: Logger.Level(rawValue: settings.logLevel).map { $0 <= .debug } ?? false,
                           historyLimit: settings.historyLines,
                           floodRate: settings.floodRate, floodBurst: Double(settings.floodBurst),
                           floodDisconnectAfter: settings.floodDisconnectAfter,
                           handshakeTimeoutSeconds: settings.handshakeTimeout,
                           slowmodeSeconds: settings.slowmode)
    }

    /// Takes over signals and opens the listeners: the ones systemd passed in if any
    /// (binding nothing then), otherwise the configured addresses; and the control socket.
    /// After this the daemon is ready to serve; `run()` reports readiness.
    public func start() throws(StartError) {
        signal(SIGPIPE, SIG_IGN)  // write errors come back as EPIPE instead of killing us
        do {
            try reactor.handleSignals([SIGINT, SIGTERM, SIGHUP])
        } catch {
            throw .setup(error)
        }
        let inherited = SocketActivation.inheritedSockets()
        if !inherited.isEmpty {
            for socket in inherited {
                guard Socket.isListeningStream(socket.fd) else { throw .inheritedSocket(name: socket.name, fd: socket.fd) }
                try adopt(socket.fd, origin: "from systemd (\(socket.name))")
            }
        } else {
            try listenOnConfiguredAddresses()
        }
        try openControlSocket()
    }

    private func listenOnConfiguredAddresses() throws(StartError) {
        let isDefault = settings.listen.isEmpty
        let texts = isDefault ? ["[::]:12000"] : settings.listen
        for text in texts {
            let address: SocketAddress
            do { address = try SocketAddress(parsing: text) } catch { throw .configuration("\(error)") }
            do {
                try adopt(try Socket.listen(on: address), origin: "")
            } catch let error as SystemCallError {
                guard isDefault, error.errno == EAFNOSUPPORT, let fallback = SocketAddress.ipv4("0.0.0.0", port: address.port) else {
                    throw .listen(text, error)
                }
                logger.warning("IPv6 is unavailable; listening on IPv4 only")
                do { try adopt(try Socket.listen(on: fallback), origin: "") } catch let error as SystemCallError {
                    throw .listen("\(fallback)", error)
                } catch { throw error as! StartError }
            } catch {
                throw error as! StartError
            }
        }
    }

    private func openControlSocket() throws(StartError) {
        let path = settings.controlSocket ?? environment["RUNTIME_DIRECTORY"].map { String($0.split(separator: ":").first ?? "") + "/control" }
        guard let path, path != "none" else { return }
        do {
            let fd = try Socket.listenUnix(path: path, mode: settings.controlGroup == nil ? 0o600 : 0o660)
            if let group = settings.controlGroup, let entry = getgrnam(group) {
                _ = chown(path, UInt32.max, entry.pointee.gr_gid)  // -1 keeps the owner
            }
            controlListener = try reactor.addListener(fd: fd)
            controlPath = path
            log(.info, "control-listen", "control socket at \(path)", ["chat_address": path])
        } catch {
            throw .setup(error)
        }
    }

    private func adopt(_ fd: Int32, origin: String) throws(StartError) {
        do {
            try reactor.addListener(fd: fd)
            let address = try Socket.localAddress(fd)
            boundAddresses.append(address)
            let suffix = origin.isEmpty ? "" : " \(origin)"
            log(.notice, "listen", "listening on \(address)\(suffix)", ["chat_address": "\(address)"])
        } catch {
            throw .setup(error)
        }
    }

    /// Reports readiness, then runs until shutdown completes.
    public func run() {
        if room.configuration.accounts.isEmpty {
            logger.warning("Admin login is disabled: no admin account is configured. Make a hash with 'chatroomd hash-password' and set it with --admin-password-hash, an 'admin = NAME HASH' line in the configuration file, or the systemd credential admin-password-hash.")
        }
        for (name, verifier) in room.configuration.accounts where verifier.isLegacy {
            logger.warning("admin account '\(name)' uses an unsalted SHA-256 hash; replace it with a slow salted one from 'chatroomd hash-password'",
                           metadata: ["chat_event": "legacy-password-hash", "chat_account": .string(name)])
        }
        if room.banCount + room.mutes.count > 0 || room.history.count > 0 {
            logger.info("restored \(room.banCount) ban(s), \(room.mutes.count) mute(s) and \(room.history.count) history line(s) from \(stateStore?.directory ?? "")")
        }
        lastStatusTime = MonotonicClock.now()
        lastStatus = statusLine(rate: 0)
        log(.info, "start", "chatroomd started")
        notifier.ready(status: lastStatus)
        startWatchdog()
        repeatEvery(nanoseconds: 1_000_000_000) { [weak self] in self?.everySecond() }
        repeatEvery(nanoseconds: 5_000_000_000) { [weak self] in self?.saveHistoryIfChanged() }
        reactor.run()
        saveHistoryIfChanged()
        if let controlPath { unlink(controlPath) }
        if let graceTimer { reactor.cancel(graceTimer) }
        // Every connection is gone, so any timer besides the repeating ones was leaked.
        let leaked = max(reactor.pendingTimerCount - repeatingTimers, 0)
        log(.info, "stop", "chatroomd stopped", ["chat_connections": "\(reactor.connectionCount)", "chat_leaked_timers": "\(leaked)"])
    }

    // MARK: Time

    private func everySecond() {
        guard !shuttingDown else { return }
        room.tick(now: now(), effects: &effects)
        applyEffects()
        updateStatus()
    }

    // MARK: Service manager

    private func statusLine(rate: Double) -> String {
        let members = room.memberCount
        let bans = room.banCount
        let tenths = Int((rate * 10).rounded())
        return "\(members) member\(members == 1 ? "" : "s") online, \(tenths / 10).\(tenths % 10) msg/s relayed, \(bans) active ban\(bans == 1 ? "" : "s")"
    }

    /// At most once a second, and only when the text changed.
    private func updateStatus() {
        let now = MonotonicClock.now()
        let relayed = room.relayedMessageCount
        let seconds = Double(now - lastStatusTime) / 1e9
        let rate = seconds > 0 ? Double(relayed &- lastRelayedCount) / seconds : 0
        lastRelayedCount = relayed
        lastStatusTime = now
        let status = statusLine(rate: rate)
        if status != lastStatus {
            lastStatus = status
            notifier.status(status)
        }
    }

    /// Pings from the loop itself at half the interval: if the loop wedges, the pings
    /// stop and systemd kills and restarts us.
    private func startWatchdog() {
        guard let interval = SystemdNotifier.watchdogIntervalMicroseconds() else { return }
        logger.info("watchdog enabled: pinging every \(interval / 2000) ms")
        notifier.watchdog()
        repeatEvery(nanoseconds: interval * 1000 / 2) { [weak self] in self?.notifier.watchdog() }
    }

    private func repeatEvery(nanoseconds: UInt64, _ action: @escaping () -> Void) {
        repeatingTimers += 1
        scheduleRepeat(nanoseconds: nanoseconds, action)
    }

    private func scheduleRepeat(nanoseconds: UInt64, _ action: @escaping () -> Void) {
        reactor.schedule(afterNanoseconds: nanoseconds) { [weak self] in
            action()
            self?.scheduleRepeat(nanoseconds: nanoseconds, action)
        }
    }

    /// SIGHUP or `chatroomctl reload`: reads the configuration again and applies it all or
    /// nothing, without dropping anyone. Returns what happened, for the control reply.
    @discardableResult
    public func reload() -> String {
        notifier.reloading(monotonicMicroseconds: MonotonicClock.now() / 1000)
        defer { notifier.ready(status: lastStatus) }
        let next: Settings
        let accounts: [String: any PasswordVerifier]
        do {
            next = try reloadSettings()
            accounts = try next.accounts(environment: environment)
        } catch {
            log(.error, "reload-failed", "reload failed, keeping the running configuration: \(error.message)", ["chat_reason": error.message])
            return "reload failed, keeping the running configuration: \(error.message)"
        }
        var changed = next.changedKeys(from: settings)
        // A hash read from a file or credential can change while the settings do not.
        let fingerprints = { (accounts: [String: any PasswordVerifier]) in accounts.mapValues(\.fingerprint) }
        if !changed.contains("admin"), fingerprints(accounts) != fingerprints(room.configuration.accounts) {
            changed.append("admin")
        }
        let needRestart = changed.filter { key in Settings.option(key).map { !$0.reloadable } ?? false }
        var applied = next
        // Keys that only take effect at start keep their running values.
        applied.listen = settings.listen
        applied.stateDirectory = settings.stateDirectory
        applied.logTarget = settings.logTarget
        applied.maxSendQueueBytes = settings.maxSendQueueBytes
        applied.controlSocket = settings.controlSocket
        applied.controlGroup = settings.controlGroup
        applied.ipv6HostPrefix = settings.ipv6HostPrefix
        let slowmodeChanged = next.slowmode != settings.slowmode
        settings = applied
        var configuration = Self.roomConfiguration(settings, accounts: accounts)
        if !slowmodeChanged { configuration.slowmodeSeconds = room.slowmodeSeconds }
        room.configuration = configuration
        if slowmodeChanged { room.applySlowmode(settings.slowmode, by: "configuration", effects: &effects) }
        limits.maximumTotal = settings.maxConnections
        limits.maximumPerAddress = settings.maxConnectionsPerAddress
        if let level = Logger.Level(rawValue: settings.logLevel) { logger.logLevel = level }
        applyEffects()
        for key in needRestart {
            logger.warning("configuration key '\(key)' changed but only takes effect after a restart")
        }
        let applyingNow = changed.filter { !needRestart.contains($0) }
        let summary = applyingNow.isEmpty ? "configuration reloaded; nothing changed" : "configuration reloaded; changed: \(applyingNow.joined(separator: ", "))"
        log(.notice, "reload", summary, ["chat_changed": applyingNow.joined(separator: ","),
                                         "chat_needs_restart": needRestart.joined(separator: ",")])
        return summary + (needRestart.isEmpty ? "" : " (after a restart: \(needRestart.joined(separator: ", ")))")
    }

    // MARK: Shutdown

    public func beginShutdown(signalName: String) {
        if shuttingDown {
            logger.warning("\(signalName) during shutdown: closing everything now")
            reactor.abortAll(reason: "immediate shutdown")
            reactor.stop()
            return
        }
        shuttingDown = true
        notifier.stopping(status: "Shutting down: telling \(room.memberCount) member(s)")
        log(.notice, "shutdown", "\(signalName): shutting down", ["chat_reason": signalName])
        reactor.stopAccepting()
        room.shutdown(now: now(), effects: &effects)
        applyEffects()
        for connection in controlSessions.keys { reactor.close(connection, reason: "server shutting down") }
        controlSessions.removeAll()
        graceTimer = reactor.schedule(afterNanoseconds: UInt64(settings.shutdownGrace * 1e9)) { [weak self] in
            guard let self else { return }
            self.graceTimer = nil
            self.logger.warning("shutdown grace period over: dropping \(self.reactor.connectionCount) connection(s)")
            self.reactor.abortAll(reason: "shutdown grace period over")
            self.reactor.stop()
        }
        stopIfIdle()
    }

    private func stopIfIdle() {
        if shuttingDown && reactor.connectionCount == 0 { reactor.stop() }
    }

    // MARK: ReactorDelegate

    public func reactor(_ reactor: Reactor, accepted connection: ConnectionID, from peer: SocketAddress?, on listener: ListenerID) {
        if shuttingDown {
            reactor.close(connection, reason: "server shutting down")
            return
        }
        if listener == controlListener {
            acceptControl(connection)
            return
        }
        guard let peer else {
            reactor.close(connection, reason: "peer address unavailable")
            return
        }
        let address = IPAddress(peer)
        switch limits.admit(address) {
        case .admitted:
            break
        case .serverFull:
            refuseAtLimit(connection, peer: peer, "The server is full (\(limits.maximumTotal) connections); try again later.")
            return
        case .addressFull:
            refuseAtLimit(connection, peer: peer, "Too many connections from your address (the limit is \(limits.maximumPerAddress)).")
            return
        }
        sessions[connection] = Session(maximumFrameLength: settings.maxFrameBytes, address: address)
        room.connectionOpened(ClientID(connection.rawValue), address: address, peer: peer.description, now: now(), effects: &effects)
        applyEffects()
    }

    private func refuseAtLimit(_ connection: ConnectionID, peer: SocketAddress, _ text: String) {
        reactor.send(FrameEncoder.frame(text), to: connection)
        reactor.close(connection, reason: "connection limit")
        log(.warning, "connection-limit", "refused \(peer): \(text)", ["chat_peer": "\(peer)", "chat_reason": text])
    }

    public func reactor(_ reactor: Reactor, received bytes: UnsafeRawBufferPointer, on connection: ConnectionID) {
        guard let session = sessions[connection] else {
            if let control = controlSessions[connection] { receiveControl(bytes, control, on: connection) }
            return
        }
        let client = ClientID(connection.rawValue)
        let time = now()
        do {
            try session.decoder.feed(bytes) { payload in
                room.frameReceived(payload, from: client, now: time, effects: &effects)
                applyEffects()
                return sessions[connection] != nil  // gone once the Room closed it
            }
        } catch let failure as FrameDecoder.Failure {
            room.protocolViolation(client, description: failure.description, now: time, effects: &effects)
            applyEffects()
        } catch {
            preconditionFailure("the frame callback does not throw: \(error)")
        }
    }

    public func reactor(_ reactor: Reactor, closed connection: ConnectionID, because reason: CloseReason) {
        if let control = controlSessions.removeValue(forKey: connection), let deadline = control.deadline { reactor.cancel(deadline) }
        if let session = sessions.removeValue(forKey: connection) { limits.release(session.address) }
        else if let address = closedAddresses.removeValue(forKey: connection) { limits.release(address) }
        if case .sendQueueExceeded = reason {
            let nick = room.nick(of: ClientID(connection.rawValue))
            log(.warning, "send-queue-exceeded", "disconnected \(nick ?? "\(connection)"): \(reason)",
                nick.map { ["chat_nick": $0, "chat_reason": "\(reason)"] } ?? ["chat_reason": "\(reason)"])
        }
        room.connectionClosed(ClientID(connection.rawValue), reason: reason.description, now: now(), effects: &effects)
        applyEffects()
        stopIfIdle()
    }

    /// Addresses of connections the Room closed whose sockets are still lingering, so the
    /// per-address count is released when the socket really goes.
    private var closedAddresses: [ConnectionID: IPAddress] = [:]

    public func reactor(_ reactor: Reactor, received signal: Int32) {
        switch signal {
        case SIGTERM: beginShutdown(signalName: "SIGTERM")
        case SIGINT: beginShutdown(signalName: "SIGINT")
        case SIGHUP: reload()
        default: break
        }
    }

    public func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError) {
        log(.error, "accept-paused", "out of descriptors, accepting paused briefly: \(error)", ["chat_reason": "\(error)"])
    }

    // MARK: Control socket

    private func acceptControl(_ connection: ConnectionID) {
        guard let credentials = reactor.peerCredentials(connection),
              controlAccess.allows(uid: credentials.uid, gid: credentials.gid) else {
            let who = reactor.peerCredentials(connection).map { "uid \($0.uid)" } ?? "unknown peer"
            reactor.send(FrameEncoder.frame("error: permission denied (root, the daemon's user or group \(settings.controlGroup ?? "(none configured)") only)"), to: connection)
            reactor.close(connection, reason: "control access refused")
            log(.warning, "control-refused", "refused a control connection from \(who)", ["chat_peer": who])
            return
        }
        let user = ControlAccess.userName(credentials.uid) ?? "uid\(credentials.uid)"
        let session = ControlSession(actor: "chatroomctl:\(user)")
        controlSessions[connection] = session
        // A request is one small frame; a client that does not finish it is dropped.
        session.deadline = reactor.schedule(afterNanoseconds: 10_000_000_000) { [weak self] in
            guard let self, self.controlSessions.removeValue(forKey: connection) != nil else { return }
            self.reactor.close(connection, reason: "control request timed out")
        }
    }

    private func receiveControl(_ bytes: UnsafeRawBufferPointer, _ session: ControlSession, on connection: ConnectionID) {
        var requests: [String] = []
        do {
            try session.decoder.feed(bytes) { payload in
                requests.append(String(decoding: payload, as: UTF8.self))
                return false  // one request per connection
            }
        } catch {
            reactor.send(FrameEncoder.frame("error: \(error)"), to: connection)
            reactor.close(connection, reason: "control protocol error")
            controlSessions[connection] = nil
            return
        }
        guard let request = requests.first else { return }
        controlSessions[connection] = nil
        if let deadline = session.deadline { reactor.cancel(deadline) }
        let reply = ControlCommands.run(request, actor: session.actor, server: self)
        reactor.send(FrameEncoder.frame(reply), to: connection)
        reactor.close(connection, reason: "control request done")
    }

    /// Runs a Room moderation command for the operator; returns the Room's replies.
    func runControl(_ command: String, arguments: String, actor: String) -> [String] {
        controlReplies.removeAll()
        room.control(command, arguments: arguments, actor: actor, now: now(), effects: &effects)
        applyEffects()
        return controlReplies
    }

    var connectionCount: Int { reactor.connectionCount }
    var uptimeSeconds: Double { Double(MonotonicClock.now() - startedAt) / 1e9 }
    func currentTime() -> RoomTime { now() }

    // MARK: Effects

    private func applyEffects() {
        var index = 0
        while index < effects.count {
            switch effects[index] {
            case let .send(frame, to: client):
                reactor.send(frame, to: ConnectionID(rawValue: client.rawValue))
            case let .broadcast(frame, to: clients):
                for client in clients { reactor.send(frame, to: ConnectionID(rawValue: client.rawValue)) }
            case let .close(client, reason):
                let connection = ConnectionID(rawValue: client.rawValue)
                if let session = sessions.removeValue(forKey: connection) { closedAddresses[connection] = session.address }
                reactor.close(connection, reason: reason)
            case let .log(record):
                logger.log(record)
            case .durableStateChanged:
                saveSanctions()
            case let .controlReply(text):
                controlReplies.append(text)
            }
            index += 1
        }
        effects.removeAll(keepingCapacity: true)
    }

    private func saveSanctions() {
        guard let stateStore else { return }
        do {
            try stateStore.save(sanctions: room.sanctions)
            try stateStore.save(history: room.history.entries)  // a ban may have purged lines
            savedHistoryCount = room.relayedMessageCount
        } catch {
            log(.error, "state-save-failed", error.description, ["chat_reason": error.description])
        }
    }

    /// History changes with every message; it is saved every few seconds (and at stop)
    /// rather than on every line, which would put an fsync on the relay path.
    private func saveHistoryIfChanged() {
        guard let stateStore, room.relayedMessageCount != savedHistoryCount else { return }
        do {
            try stateStore.save(history: room.history.entries)
            savedHistoryCount = room.relayedMessageCount
        } catch {
            log(.error, "state-save-failed", error.description, ["chat_reason": error.description])
        }
    }

    func log(_ level: Logger.Level, _ event: String, _ message: String, _ fields: [String: String] = [:]) {
        var metadata: Logger.Metadata = ["chat_event": .string(event)]
        for (key, value) in fields { metadata[key] = .string(value) }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    private func now() -> RoomTime {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        return RoomTime(nanoseconds: MonotonicClock.now(), unixNanoseconds: Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec))
    }
}
