import Bytes
import ChatCore
import ChatProtocol
import Glibc
import Logging
import Reactor
import SystemCalls
import Systemd

/// The Reactor's delegate: wires sockets to the Room. Each connection's bytes go through
/// its decoder into the Room with the time, and the Room's effects go to the reactor's
/// queues, the log and the state directory. The parts it composes each do one job:
/// `ConnectionTable` (sessions and limits), `ControlServer` (chatroomctl),
/// `ServiceSupervisor` (systemd), `Reloader` (SIGHUP), `StateStore` (the state directory),
/// `Listeners` (start-up). Everything runs on the reactor's thread, one event at a time.
public final class ChatServer: ReactorDelegate {
    public internal(set) var settings: Settings
    public let reactor: Reactor
    public let room: Room
    var logger: Logger
    let environment: [String: String]
    let reloader: Reloader
    let supervisor: ServiceSupervisor
    let stateStore: StateStore?
    var connections: ConnectionTable
    var control: ControlServer? = nil
    var effects: [RoomEffect] = []
    var shuttingDown = false
    var graceTimer: TimerID? = nil
    /// The member whose frame is being handled, to be told if what it did cannot be saved.
    var actingConnection: ConnectionID? = nil
    /// Lines for the operator whose command is running, likewise.
    var operatorWarnings: [String]? = nil
    /// Why the last save of the sanctions and topic failed, until one succeeds.
    var unsavedState: String? = nil
    var refusals = RefusalLog()
    private var passwordChecker: PasswordChecker! = nil
    /// Checked for logins to unknown accounts, so they take as long as real ones.
    let decoyVerifier: CryptPasswordHash?
    /// What systemd passed at start: listeners, and what a predecessor stored.
    var stored = StoredDescriptors()
    /// A predecessor's state, read in `init` and taken over in `start()`.
    private var predecessor: Predecessor? = nil
    /// Keeps systemd's file descriptor store current, when there is one.
    var storeKeeper: StoreKeeper? = nil
    /// The relayed count at the crash journal's last base (history changes since).
    var journalBaseRelayedCount: UInt64 = 0
    /// TLS handshakes in progress (`ChatServer+TLS.swift`).
    var tlsHandshakes = TLSHandshakes(maximumPerAddress: 8, maximumTotal: 256)
    /// The link to the room's other daemons, with `redis` set (ChatServer+Cluster.swift).
    var cluster: ClusterLink? = nil
    var drainingCluster = false
    /// Members' input kept until a restarted node has linked (ChatServer+ClusterRestart.swift).
    var inputHold: ClusterInputHold? = nil

    /// - Parameters:
    ///   - reloadSettings: reads the configuration again (file, then the same flags), for SIGHUP.
    ///   - environment: the process environment (`STATE_DIRECTORY`, `CREDENTIALS_DIRECTORY`, ...).
    public init(settings: Settings, reloadSettings: @escaping () throws(Settings.Invalid) -> Settings,
                environment: [String: String], logger: Logger,
                notifier: ServiceNotifier = SystemdNotifier()) throws(StartError) {
        self.settings = settings
        self.environment = environment
        self.logger = logger
        reloader = Reloader(resolve: reloadSettings, environment: environment)
        // Now, while /proc/self/exe still names the file we were started from: after an
        // upgrade replaces it, the link reads "... (deleted)".
        _ = Self.executablePath
        var reactorConfiguration = Reactor.Configuration()
        reactorConfiguration.maximumQueuedBytes = settings.maxSendQueueBytes
        reactorConfiguration.pauseReadingAboveQueuedBytes = max(settings.maxSendQueueBytes / 4, 64 << 10)
        // Kernel TLS needs OpenSSL to write each record itself; without it, a turn's
        // records leave in one send.
        reactorConfiguration.tlsBatching = !TLSContext.kernelTLSPossible
        do { reactor = try Reactor(configuration: reactorConfiguration) } catch { throw .setup(error) }
        supervisor = ServiceSupervisor(reactor: reactor, notifier: notifier, logger: logger)
        let accounts: [String: any PasswordVerifier]
        do { accounts = try settings.accounts(environment: environment) } catch { throw .configuration(error.message) }

        var restored = StateStore.Loaded()
        let directory = settings.stateDirectory ?? environment["STATE_DIRECTORY"].map { String($0.split(separator: ":").first ?? "") }
        if let directory, !directory.isEmpty {
            var status = stat()
            guard stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw .configuration("state directory \(directory) does not exist")
            }
            let store = StateStore(directory: directory)
            restored = store.load()
            stateStore = store
        } else {
            stateStore = nil
        }
        var limits = ConnectionLimits(maximumTotal: settings.maxConnections, maximumPerAddress: settings.maxConnectionsPerAddress,
                                      ipv6PrefixLength: settings.ipv6HostPrefix)
        limits.acceptsPerSecond = settings.acceptsPerAddressPerSecond
        connections = ConnectionTable(limits: limits)
        stored = try StoredDescriptors.take()
        predecessor = Self.findPredecessor(&stored, environment: environment)
        if case let .unusable(why)? = predecessor, environment[HandoverState.environmentKey] != nil {
            // An exec whose trial run passed, yet the state does not read: nothing to carry on with.
            throw .configuration(why)
        }
        // A predecessor's decoy saves making one (a slow hash) while members wait.
        decoyVerifier = predecessor?.state?.decoyHash.flatMap(CryptPasswordHash.init) ?? CryptPasswordHash.decoy()
        room = Room(configuration: settings.roomConfiguration(accounts: accounts, decoy: decoyVerifier),
                    sanctions: restored.sanctions, history: restored.history, topic: restored.topic)
        reactor.delegate = self
        reactor.onLongTurn = { [unowned self] nanoseconds in loopStalled(nanoseconds) }
        for problem in restored.setAside {
            log(.error, "state-unreadable", problem, ["chat_reason": problem])
        }
    }

    /// Takes over signals and opens the listeners and the control socket. After this the
    /// daemon is ready to serve; `run()` reports readiness.
    public func start() throws(StartError) {
        signal(SIGPIPE, SIG_IGN)  // write errors come back as EPIPE instead of killing us
        do { try reactor.handleSignals([SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2]) } catch { throw .setup(error) }
        for what in stored.unrecognised {
            log(.warning, "handover-refused", "closed a descriptor systemd passed that this chatroomd does not recognise: \(what)", ["chat_reason": what])
        }
        for name in stored.unrecognisedNames { FileDescriptorStore.remove(name: name) }
        if case let .exec(state)? = predecessor {
            try adoptListeners(state)
        } else {
            let listeners = Listeners(reactor: reactor, log: { [unowned self] in log($0, $1, $2, $3) },
                                      warn: { [unowned self] in logger.warning("\($0)") })
            let secure = try listeners.openChat(configured: settings.listen, secure: settings.listenTLS, inherited: stored.listeners)
            try startTLS(secureListeners: secure, environment: environment)
            if let (listener, path) = try listeners.openControl(path: settings.controlSocket, group: settings.controlGroup,
                                                                environment: environment) {
                startControl(listener: listener, file: path)
            }
        }
        // Last, after the signals are blocked (threads inherit the mask, so they never take
        // a SIGTERM meant for the loop's signalfd) and once nothing else can fail.
        do {
            passwordChecker = try PasswordChecker(workers: settings.passwordCheckWorkers, reactor: reactor) { [unowned self] id, matched in
                room.passwordChecked(id, matched: matched, now: now(), effects: &effects)
                applyEffects()
            }
        } catch {
            throw .setup(error)
        }
        let journals: [Int32]
        if case let .exec(state)? = predecessor { journals = state.journalFDs } else { journals = stored.journals }
        if let predecessor {
            holdInputUntilLinked()
            restore(predecessor)
            if case .exec = predecessor {} else { FileDescriptorStore.remove(name: StoredDescriptors.Name.handover) }
            self.predecessor = nil
        }
        if let capacity = FileDescriptorStore.capacity(environment: environment) {
            startStoreKeeping(capacity: capacity, inheritedJournals: journals)
        } else {
            for fd in journals { close(fd) }
        }
        startCluster()
    }

    /// Reports readiness, then runs until shutdown completes.
    public func run() {
        warnAboutAccounts()
        if room.banCount + room.mutes.count > 0 || room.history.count > 0 || room.topic != nil {
            logger.info("restored \(room.banCount) ban(s), \(room.mutes.count) mute(s) and \(room.history.count) history line(s)\(room.topic == nil ? "" : " and the topic") from \(stateStore?.directory ?? "")")
        }
        log(.info, "start", "chatroomd \(ChatroomVersion.current) started")
        supervisor.ready(room: room)
        supervisor.repeatEvery(nanoseconds: 1_000_000_000) { [weak self] in self?.everySecond() }
        supervisor.repeatEvery(nanoseconds: 5_000_000_000) { [weak self] in
            self?.saveHistoryIfChanged()
            self?.rebaseJournalIfStale()
        }
        reactor.run()
        passwordChecker.stop()
        saveHistoryIfChanged()
        control?.socketFile.removeIfStillOurs()
        if let graceTimer { reactor.cancel(graceTimer) }
        // Every connection is gone, so any timer besides the repeating ones was leaked.
        let leaked = max(reactor.pendingTimerCount - supervisor.repeatingTimers, 0)
        log(.info, "stop", "chatroomd stopped", ["chat_connections": "\(reactor.connectionCount)", "chat_leaked_timers": "\(leaked)"])
    }

    // MARK: ReactorDelegate

    public func reactor(_ reactor: Reactor, accepted connection: ConnectionID, from peer: SocketAddress?, on listener: ListenerID) {
        if shuttingDown { return reactor.close(connection, reason: "server shutting down") }
        if let control, listener == control.listener { return control.accepted(connection) }
        guard let peer else { return reactor.close(connection, reason: "peer address unavailable") }
        let address = IPAddress(peer)
        switch connections.open(connection, address: address, maximumFrameLength: settings.maxFrameBytes, now: MonotonicClock.now()) {
        case .admitted:
            let secure = reactor.isSecure(connection)
            if secure && !admitHandshake(connection, address: address, peer: peer) { return }
            room.connectionOpened(ClientID(connection.rawValue), address: address, peer: peer.description, secure: secure,
                                  now: now(), effects: &effects)
            applyEffects()
        case .serverFull:
            refuseAtLimit(connection, address: address, peer: peer, "The server is full (\(connections.limits.maximumTotal) connections); try again later.")
        case .addressFull:
            refuseAtLimit(connection, address: address, peer: peer, "Too many connections from your address (the limit is \(connections.limits.maximumPerAddress)).")
        case .tooFast:
            refuseAtLimit(connection, address: address, peer: peer, "Your address is connecting too fast; wait a moment.")
        }
    }

    public func reactor(_ reactor: Reactor, received bytes: UnsafeRawBufferPointer, on connection: ConnectionID) {
        guard let session = connections.session(connection) else {
            _ = control?.received(bytes, on: connection)
            return
        }
        if inputHold != nil, holdsInput(bytes, from: connection) { return }
        let client = ClientID(connection.rawValue)
        let time = now()
        actingConnection = connection
        defer { actingConnection = nil }
        do {
            try session.decoder.feed(bytes) { payload in
                room.frameReceived(payload, from: client, now: time, effects: &effects)
                applyEffects()
                return connections.session(connection) != nil  // gone once the Room closed it
            }
        } catch let failure as FrameDecoder.Failure {
            room.protocolViolation(client, description: failure.description, now: time, effects: &effects)
            applyEffects()
        } catch {
            preconditionFailure("the frame callback does not throw: \(error)")
        }
    }

    public func reactor(_ reactor: Reactor, closed connection: ConnectionID, because reason: CloseReason) {
        if inputHold != nil, holdsClose(connection, because: reason) { return }
        control?.closed(connection)
        connections.socketClosed(connection)
        tlsClosed(connection, because: reason)
        if case .sendQueueExceeded = reason {
            let nick = room.nick(of: ClientID(connection.rawValue))
            log(.warning, "send-queue-exceeded", "disconnected \(nick ?? "\(connection)"): \(reason)",
                nick.map { ["chat_nick": $0, "chat_reason": "\(reason)"] } ?? ["chat_reason": "\(reason)"])
        }
        room.connectionClosed(ClientID(connection.rawValue), reason: reason.description, now: now(), effects: &effects)
        applyEffects()
        stopIfIdle()
    }

    public func reactor(_ reactor: Reactor, received signal: Int32) {
        switch signal {
        case SIGTERM: beginShutdown(signalName: "SIGTERM")
        case SIGINT: beginShutdown(signalName: "SIGINT")
        case SIGHUP: reload()
        case SIGUSR1: handOverToStore(trigger: "SIGUSR1")
        case SIGUSR2: _ = handOver(trigger: "SIGUSR2")
        default: break
        }
    }

    public func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError) {
        log(.error, "accept-paused", "accepting paused briefly: \(error)", ["chat_reason": "\(error)"])
    }

    // MARK: For the control socket

    /// Runs a Room command for the operator.
    func runControl(_ command: String, arguments: String, actor: String) -> ControlOutcome {
        operatorWarnings = []
        defer { operatorWarnings = nil }
        let outcome = room.control(command, arguments: arguments, actor: actor, now: now(), effects: &effects)
        applyEffects()
        guard let warnings = operatorWarnings, !warnings.isEmpty else { return outcome }
        return ControlOutcome(succeeded: false, lines: outcome.lines + warnings)
    }

    var connectionCount: Int { reactor.connectionCount }
    var uptimeSeconds: Double { supervisor.uptimeSeconds }
    func currentTime() -> RoomTime { now() }

    // MARK: Effects

    /// Carries out the Room's effects in order. The reactor never calls back from inside
    /// `send` or `close`, so this loop cannot be re-entered.
    func applyEffects() {
        var index = 0
        while index < effects.count {
            switch effects[index] {
            case let .send(frame, to: client):
                reactor.send(frame, to: ConnectionID(rawValue: client.rawValue))
            case let .broadcast(frame, to: clients):
                for client in clients { reactor.send(frame, to: ConnectionID(rawValue: client.rawValue)) }
            case let .close(client, reason):
                let connection = ConnectionID(rawValue: client.rawValue)
                connections.stopServing(connection)
                reactor.close(connection, reason: reason)
            case let .log(record):
                logger.log(record)
            case .durableStateChanged:
                saveDurableState()
            case let .verifyPassword(check):
                passwordChecker.submit(check)
            }
            index += 1
        }
        effects.removeAll(keepingCapacity: true)
        if storeKeeper != nil { journalConnectionChanges() }
        if cluster != nil { applyClusterEffects() }
    }

    func log(_ level: Logger.Level, _ event: String, _ message: String, _ fields: [String: String] = [:]) {
        var metadata: Logger.Metadata = ["chat_event": .string(event)]
        for (key, value) in fields { metadata[key] = .string(value) }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    func now() -> RoomTime {
        RoomTime(nanoseconds: MonotonicClock.now(), unixNanoseconds: WallClock.now())
    }
}
