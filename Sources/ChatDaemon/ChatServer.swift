import Bytes
import ChatCore
import ChatProtocol
import Glibc
import Logging
import Reactor

/// Wires the Reactor (sockets) to the Room (rules): decodes each connection's bytes into
/// frames, passes them to the Room with the time, and carries out the Room's effects.
/// Everything runs on the reactor's thread, one event at a time.
public final class ChatServer: ReactorDelegate {
    public enum StartError: Error, CustomStringConvertible {
        case listen(SocketAddress, SystemCallError)
        case setup(SystemCallError)

        public var description: String {
            switch self {
            case let .listen(address, error): return "cannot listen on \(address): \(error)"
            case let .setup(error): return "cannot set up the event loop: \(error)"
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
    private var sessions: [ConnectionID: Session] = [:]
    private var effects: [RoomEffect] = []
    private var shuttingDown = false
    public private(set) var boundAddresses: [SocketAddress] = []

    public init(configuration: DaemonConfiguration, logger: Logger) throws(StartError) {
        self.configuration = configuration
        self.logger = logger
        var reactorConfiguration = Reactor.Configuration()
        reactorConfiguration.maximumQueuedBytes = configuration.maximumQueuedBytes
        do {
            reactor = try Reactor(configuration: reactorConfiguration)
        } catch {
            throw .setup(error)
        }
        room = Room(configuration: Room.Configuration(adminPasswordHash: configuration.adminPasswordHash,
                                                      logMessageBodies: configuration.logMessageBodies))
        reactor.delegate = self
    }

    /// Takes over signals, opens the listeners (or adopts inherited ones), and logs the
    /// bound addresses. After this the daemon is ready to serve.
    public func start(inheritedListeners: [Int32] = []) throws(StartError) {
        signal(SIGPIPE, SIG_IGN)  // write errors come back as EPIPE instead of killing us
        do {
            try reactor.handleSignals([SIGINT, SIGTERM, SIGHUP])
        } catch {
            throw .setup(error)
        }
        if !inheritedListeners.isEmpty {
            for fd in inheritedListeners { try adopt(fd) }
            return
        }
        for address in configuration.listenAddresses {
            do {
                try adopt(try Socket.listen(on: address))
            } catch let error as SystemCallError {
                if configuration.listenAddressesAreDefault, error.errno == EAFNOSUPPORT,
                   let fallback = SocketAddress.ipv4("0.0.0.0", port: address.port) {
                    logger.warning("IPv6 is unavailable; listening on IPv4 only")
                    do { try adopt(try Socket.listen(on: fallback)) } catch let error as SystemCallError {
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

    private func adopt(_ fd: Int32) throws(StartError) {
        do {
            try reactor.addListener(fd: fd)
            let address = try Socket.localAddress(fd)
            boundAddresses.append(address)
            logger.notice("listening on \(address)", metadata: ["chat_event": "listen", "chat_address": "\(address)"])
        } catch {
            throw .setup(error)
        }
    }

    /// Runs until shutdown completes.
    public func run() {
        if configuration.adminPasswordHash == nil {
            logger.warning("Admin login is disabled: no admin password hash is configured. Make one with 'chatroomd hash-password' and pass it with --admin-password-hash or CHATROOMD_ADMIN_PASSWORD_HASH.")
        }
        logger.info("chatroomd started", metadata: ["chat_event": "start"])
        reactor.run()
        logger.info("chatroomd stopped", metadata: ["chat_event": "stop"])
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
        logger.notice("\(signalName): shutting down", metadata: ["chat_event": "shutdown"])
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
        room.connectionClosed(ClientID(connection.rawValue), reason: reason.description, now: now(), effects: &effects)
        applyEffects()
        if case .sendQueueExceeded = reason {
            logger.warning("closed \(connection): \(reason)", metadata: ["chat_event": "send-queue-exceeded", "chat_reason": "\(reason)"])
        }
        stopIfIdle()
    }

    public func reactor(_ reactor: Reactor, received signal: Int32) {
        switch signal {
        case SIGTERM: beginShutdown(signalName: "SIGTERM")
        case SIGINT: beginShutdown(signalName: "SIGINT")
        case SIGHUP: logger.notice("SIGHUP received: nothing to reload in this version", metadata: ["chat_event": "reload"])
        default: break
        }
    }

    public func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError) {
        logger.error("accepting paused: \(error); retrying shortly", metadata: ["chat_event": "accept-paused"])
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
            }
            index += 1
        }
        effects.removeAll(keepingCapacity: true)
    }

    private func now() -> RoomTime { RoomTime(nanoseconds: MonotonicClock.now()) }
}
