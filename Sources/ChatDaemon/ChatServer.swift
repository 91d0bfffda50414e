import Bytes
import ChatCore
import ChatProtocol
import Glibc
import Logging
import Reactor
import Systemd

/// Wires the Reactor (sockets) to the Room (rules): decodes each connection's bytes into
/// frames, passes them to the Room with the time, and carries out the Room's effects.
/// Also keeps the service manager informed: readiness, status, watchdog, reload, stop.
/// Everything runs on the reactor's thread, one event at a time.
public final class ChatServer: ReactorDelegate {
    public enum StartError: Error, CustomStringConvertible {
        case listen(SocketAddress, SystemCallError)
        case setup(SystemCallError)
        case inheritedSocket(name: String, fd: Int32)
        case configuration(String)

        public var description: String {
            switch self {
            case let .listen(address, error): return "cannot listen on \(address): \(error)"
            case let .setup(error): return "cannot set up the event loop: \(error)"
            case let .inheritedSocket(name, fd):
                return "socket \(name) (fd \(fd)) passed by systemd is not a listening TCP socket; check ListenStream= in the .socket unit"
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

    /// Per-connection decoding state. A class so the decoder can be fed in place while the
    /// frames it yields change the session table.
    final class Session {
        var decoder: FrameDecoder
        init(maximumFrameLength: Int) { decoder = FrameDecoder(maximumPayloadLength: maximumFrameLength) }
    }

    public let configuration: DaemonConfiguration
    public let reactor: Reactor
    public let room: Room
    private let logger: Logger
    private let notifier: ServiceNotifier
    private let banStore: BanStore?
    private var sessions: [ConnectionID: Session] = [:]
    private var effects: [RoomEffect] = []
    private var shuttingDown = false
    private var lastStatus = ""
    private var lastRelayedCount: UInt64 = 0
    private var lastStatusTime: UInt64 = 0
    public private(set) var boundAddresses: [SocketAddress] = []

    public init(configuration: DaemonConfiguration, logger: Logger,
                notifier: ServiceNotifier = SystemdNotifier()) throws(StartError) {
        self.configuration = configuration
        self.logger = logger
        self.notifier = notifier
        var reactorConfiguration = Reactor.Configuration()
        reactorConfiguration.maximumQueuedBytes = configuration.maximumQueuedBytes
        do {
            reactor = try Reactor(configuration: reactorConfiguration)
        } catch {
            throw .setup(error)
        }
        let adminHash: AdminPasswordHash?
        do {
            adminHash = try configuration.adminPasswordSource.load()
        } catch {
            throw .configuration(error.description)
        }
        var bans: Set<IPAddress> = []
        if let directory = configuration.stateDirectory {
            let store = BanStore(directory: directory)
            do { bans = try store.load() } catch { throw .configuration(error.description) }
            banStore = store
        } else {
            banStore = nil
        }
        room = Room(configuration: Room.Configuration(adminPasswordHash: adminHash,
                                                      logMessageBodies: configuration.logMessageBodies),
                    bannedAddresses: bans)
        reactor.delegate = self
    }

    /// Takes over signals and opens the listeners: the ones systemd passed in if any
    /// (binding nothing then), otherwise the configured addresses. After this the daemon
    /// is ready to serve; `run()` reports readiness.
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
            return
        }
        for address in configuration.listenAddresses {
            do {
                try adopt(try Socket.listen(on: address), origin: "")
            } catch let error as SystemCallError {
                if configuration.listenAddressesAreDefault, error.errno == EAFNOSUPPORT,
                   let fallback = SocketAddress.ipv4("0.0.0.0", port: address.port) {
                    logger.warning("IPv6 is unavailable; listening on IPv4 only")
                    do { try adopt(try Socket.listen(on: fallback), origin: "") } catch let error as SystemCallError {
                        throw .listen(fallback, error)
                    } catch { throw error as! StartError }
                } else {
                    throw .listen(address, error)
                }
            } catch {
                throw error as! StartError
            }
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
        if room.configuration.adminPasswordHash == nil {
            logger.warning("Admin login is disabled: no admin password hash is configured. Make one with 'chatroomd hash-password' and pass it with --admin-password-hash, --admin-password-hash-file, $CHATROOMD_ADMIN_PASSWORD_HASH or the systemd credential admin-password-hash.")
        }
        if room.banCount > 0 { logger.info("restored \(room.banCount) ban(s) from \(banStore?.path ?? "")") }
        lastStatusTime = MonotonicClock.now()
        lastStatus = statusLine(rate: 0)
        log(.info, "start", "chatroomd started")
        notifier.ready(status: lastStatus)
        startWatchdog()
        repeatEvery(nanoseconds: 1_000_000_000) { [weak self] in self?.updateStatus() }
        reactor.run()
        log(.info, "stop", "chatroomd stopped")
    }

    // MARK: Service manager

    private func statusLine(rate: Double) -> String {
        let members = room.memberCount
        let bans = room.banCount
        let tenths = Int((rate * 10).rounded())
        let rateText = "\(tenths / 10).\(tenths % 10)"
        return "\(members) member\(members == 1 ? "" : "s") online, \(rateText) msg/s relayed, \(bans) active ban\(bans == 1 ? "" : "s")"
    }

    /// At most once a second, and only when the text changed.
    private func updateStatus() {
        guard !shuttingDown else { return }
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
        reactor.schedule(afterNanoseconds: nanoseconds) { [weak self] in
            action()
            self?.repeatEvery(nanoseconds: nanoseconds, action)
        }
    }

    /// SIGHUP: re-reads what can change at run time (the admin password hash), all or
    /// nothing, without dropping anyone.
    public func reload() {
        notifier.reloading(monotonicMicroseconds: MonotonicClock.now() / 1000)
        do {
            let hash = try configuration.adminPasswordSource.load()
            var changed: [String] = []
            if hash != room.configuration.adminPasswordHash { changed.append("admin-password-hash") }
            room.configuration.adminPasswordHash = hash
            log(.notice, "reload", changed.isEmpty ? "configuration reloaded; nothing changed" : "configuration reloaded; changed: \(changed.joined(separator: ", "))",
                ["chat_changed": changed.joined(separator: ",")])
        } catch {
            log(.error, "reload-failed", "reload failed, keeping the running configuration: \(error.description)",
                ["chat_reason": error.description])
        }
        notifier.ready(status: lastStatus)
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
        reactor.schedule(afterNanoseconds: configuration.shutdownGraceNanoseconds) { [weak self] in
            guard let self else { return }
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
        guard let peer else {
            reactor.close(connection, reason: "peer address unavailable")
            return
        }
        if shuttingDown {
            reactor.close(connection, reason: "server shutting down")
            return
        }
        sessions[connection] = Session(maximumFrameLength: configuration.maximumFrameLength)
        room.connectionOpened(ClientID(connection.rawValue), address: IPAddress(peer), peer: peer.description,
                              now: now(), effects: &effects)
        applyEffects()
    }

    public func reactor(_ reactor: Reactor, received bytes: UnsafeRawBufferPointer, on connection: ConnectionID) {
        guard let session = sessions[connection] else { return }
        let client = ClientID(connection.rawValue)
        let time = now()
        do {
            try session.decoder.feed(bytes) { payload in
                room.frameReceived(payload, from: client, now: time, effects: &effects)
                applyEffects()
                return sessions[connection] != nil  // gone once the Room closed it
            }
        } catch let failure as FrameDecoder.Failure {
            sessions[connection] = nil
            room.protocolViolation(client, description: failure.description, now: time, effects: &effects)
            applyEffects()
        } catch {
            preconditionFailure("the frame callback does not throw: \(error)")
        }
    }

    public func reactor(_ reactor: Reactor, closed connection: ConnectionID, because reason: CloseReason) {
        sessions[connection] = nil
        if case .sendQueueExceeded = reason {
            log(.warning, "send-queue-exceeded", "disconnected \(room.nick(of: ClientID(connection.rawValue)) ?? "\(connection)"): \(reason)",
                ["chat_nick": room.nick(of: ClientID(connection.rawValue)) ?? "", "chat_reason": "\(reason)"])
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
        default: break
        }
    }

    public func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError) {
        log(.error, "accept-paused", "out of descriptors, accepting paused briefly: \(error)", ["chat_reason": "\(error)"])
    }

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
                sessions[connection] = nil
                reactor.close(connection, reason: reason)
            case let .log(record):
                logger.log(record)
            case .durableStateChanged:
                saveBans()
            }
            index += 1
        }
        effects.removeAll(keepingCapacity: true)
    }

    private func saveBans() {
        guard let banStore else { return }
        do {
            try banStore.save(room.bannedAddressList)
        } catch {
            log(.error, "state-save-failed", error.description, ["chat_reason": error.description])
        }
    }

    private func log(_ level: Logger.Level, _ event: String, _ message: String, _ fields: [String: String] = [:]) {
        var metadata: Logger.Metadata = ["chat_event": .string(event)]
        for (key, value) in fields { metadata[key] = .string(value) }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    private func now() -> RoomTime { RoomTime(nanoseconds: MonotonicClock.now()) }
}
