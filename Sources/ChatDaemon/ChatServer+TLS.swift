import ChatCore
import ChatProtocol
import Glibc
import Reactor
import SystemCalls

/// TLS in the daemon: the certificate and key (at start, and again on every reload),
/// the caps on handshakes in progress, one log line per failed handshake, and TLS members
/// before a restart in place (their sessions live in this process's OpenSSL and cannot be
/// handed over). The encryption itself is the reactor's (`Reactor+TLS.swift`).
extension ChatServer {
    /// The TLS listeners' descriptors, for a successor after a restart in place: the
    /// handover passes descriptors, not what each is for. Set at start, so the handover's
    /// copy of the environment carries it.
    static let secureListenersKey = "CHATROOMD_TLS_LISTENERS"

    /// The pair as configured (a path or `credential:NAME`), else the systemd credentials
    /// `tls-certificate` and `tls-key`.
    static func tlsPaths(_ settings: Settings, environment: [String: String]) throws(StartError) -> (certificate: String, key: String) {
        func resolve(_ value: String?, _ key: String) throws(StartError) -> String {
            let credentials = environment["CREDENTIALS_DIRECTORY"]
            if let value, value.hasPrefix("credential:") {
                guard let credentials else { throw .configuration("\(key): \(value) needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=)") }
                return credentials + "/" + value.dropFirst("credential:".count)
            }
            if let value { return value }
            if let credentials, access(credentials + "/" + key, R_OK) == 0 { return credentials + "/" + key }
            throw .configuration("TLS listeners need \(key) (a PEM file, or the systemd credential '\(key)')")
        }
        return (try resolve(settings.tlsCertificate, "tls-certificate"), try resolve(settings.tlsKey, "tls-key"))
    }

    static func loadTLS(_ settings: Settings, environment: [String: String]) throws(StartError) -> (TLSContext, String) {
        let paths = try tlsPaths(settings, environment: environment)
        do {
            return (try TLSContext.server(certificatePath: paths.certificate, keyPath: paths.key), paths.certificate)
        } catch {
            throw .configuration("TLS certificate \(paths.certificate), key \(paths.key): \(error.description)")
        }
    }

    /// For `check-config`: throws why the configured pair would not load. A pair given as
    /// credentials, which exist only inside the service, is not checked outside it.
    public static func checkTLS(_ settings: Settings, environment: [String: String]) throws(Settings.Invalid) {
        guard !settings.listenTLS.isEmpty || settings.tlsCertificate != nil || settings.tlsKey != nil else { return }
        let fromCredentials = [settings.tlsCertificate, settings.tlsKey].contains { $0 == nil || $0!.hasPrefix("credential:") }
        if fromCredentials && environment["CREDENTIALS_DIRECTORY"] == nil { return }
        do { _ = try loadTLS(settings, environment: environment) } catch { throw Settings.Invalid(message: error.description) }
    }

    /// At start, once the listeners are open: with a TLS listener the pair must load.
    func startTLS(secureListeners: [Int32], environment: [String: String]) throws(StartError) {
        setenv(Self.secureListenersKey, secureListeners.map { "\($0)" }.joined(separator: ","), 1)
        guard !secureListeners.isEmpty else { return }
        let (context, certificate) = try Self.loadTLS(settings, environment: environment)
        reactor.tlsServerContext = context
        log(.notice, "tls", "TLS (1.2 and 1.3) with the certificate \(certificate); records: \(TLSContext.transmitPath)",
            ["chat_certificate": certificate, "chat_tls_path": TLSContext.kernelTLSPossible ? "ktls" : "user-space"])
    }

    /// Which adopted listeners are TLS, in a successor.
    static func inheritedSecureListeners(environment: [String: String]) -> Set<Int32> {
        Set((environment[secureListenersKey] ?? "").split(separator: ",").compactMap { Int32($0) })
    }

    /// On reload: the new pair for new handshakes (sessions keep the one they began with).
    /// Returns why the pair did not load; the running pair then stays.
    func reloadTLS(_ next: Settings) -> String? {
        guard reactor.tlsServerContext != nil else { return nil }
        do {
            let (context, certificate) = try Self.loadTLS(next, environment: environment)
            reactor.tlsServerContext = context
            log(.notice, "tls-reload", "TLS certificate reloaded from \(certificate); new handshakes use it", ["chat_certificate": certificate])
            return nil
        } catch {
            return "TLS: \(error.description); keeping the running certificate"
        }
    }

    // MARK: Connections

    /// A connection on a TLS listener: counted against the handshake caps, or closed.
    func admitHandshake(_ connection: ConnectionID, address: IPAddress, peer: SocketAddress) -> Bool {
        tlsHandshakes.maximumPerAddress = settings.tlsHandshakesPerAddress
        tlsHandshakes.maximumTotal = settings.tlsHandshakesInFlight
        let key = ConnectionLimits.key(address, ipv6PrefixLength: settings.ipv6HostPrefix)
        if tlsHandshakes.begin(connection, host: key, peer: "\(peer)") { return true }
        refuseAtLimit(connection, address: address, peer: peer,
                      "too many TLS handshakes in progress (\(settings.tlsHandshakesPerAddress) per address, \(settings.tlsHandshakesInFlight) in all)",
                      reason: "TLS handshake limit")
        return false
    }

    public func reactor(_ reactor: Reactor, secured connection: ConnectionID) {
        tlsHandshakes.end(connection)
    }

    /// One log line for a handshake that failed (plaintext or garbage on the TLS port, an
    /// old protocol version); a handshake cut off by the deadline is logged by the Room.
    func tlsClosed(_ connection: ConnectionID, because reason: CloseReason) {
        guard let peer = tlsHandshakes.end(connection), case let .tlsFailed(why) = reason else { return }
        log(.warning, "tls-handshake-failed", "TLS handshake with \(peer) failed: \(why)", ["chat_peer": peer, "chat_reason": why])
    }

    /// Before a restart in place: each TLS member is told (one frame) and its session is
    /// ended cleanly (close_notify); the new process cannot carry it on. `chatroom`
    /// reconnects by itself on the restart notice.
    func endTLSSessionsForRestart() {
        let secure = reactor.secureConnections()
        guard !secure.isEmpty else { return }
        let notice = FrameEncoder.frame(Notice.restartingTLS)
        for connection in secure {
            reactor.send(notice, to: connection)
            reactor.finishTLSNow(connection)
        }
        log(.notice, "tls-restart", "ended \(secure.count) TLS connection(s) before the restart; their clients reconnect",
            ["chat_connections": "\(secure.count)"])
    }
}
