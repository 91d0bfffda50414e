import CTLS
import Glibc

/// The client's side of TLS: which certificates it trusts and how it decides.
///
/// A server is trusted when its certificate chains to the system's CAs (or `--ca-file`)
/// and names the host. Otherwise (a self-signed certificate, typically) the client falls
/// back to trust on first use: the first time it shows the fingerprint and remembers it
/// (`KnownServers`); later it accepts only the same fingerprint and refuses, loudly, a
/// changed one. `--insecure` accepts anything and says that it did.
public final class ClientTLS: @unchecked Sendable {
    public struct Options: Sendable {
        public var caFile: String?
        public var insecure: Bool
        public var knownServers: KnownServers?

        public init(caFile: String? = nil, insecure: Bool = false, knownServers: KnownServers? = nil) {
            self.caFile = caFile
            self.insecure = insecure
            self.knownServers = knownServers
        }
    }

    public let options: Options
    let context: OpaquePointer

    public init(_ options: Options) throws(ServerConnection.ConnectError) {
        var error = [CChar](repeating: 0, count: 512)
        guard let context = ctls_client_context_new(options.caFile, &error, error.count) else {
            throw ServerConnection.ConnectError(description: error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        self.options = options
        self.context = context
    }

    deinit { ctls_context_free(context) }

    /// What the check of a server's certificate concluded.
    public enum Trust: Equatable {
        /// A CA vouches for it.
        case verified
        /// Seen before with this fingerprint.
        case known
        /// Not vouched for and never seen: remembered now.
        case firstUse(fingerprint: String)
        /// `--insecure`: not checked.
        case unchecked(reason: String)
    }

    /// Decides on a finished handshake; throws when the server must not be trusted.
    func decide(session: OpaquePointer, server: String) throws(ServerConnection.ConnectError) -> Trust {
        let result = ctls_session_verify_result(session)
        if result == 0 { return .verified }
        let reason = String(cString: ctls_verify_result_text(result))
        var digest = [UInt8](repeating: 0, count: 32)
        guard ctls_session_peer_fingerprint(session, &digest) == 0 else {
            throw ServerConnection.ConnectError(description: "\(server) sent no certificate")
        }
        let fingerprint = Self.format(digest)
        if options.insecure { return .unchecked(reason: reason) }
        guard let known = options.knownServers else {
            throw ServerConnection.ConnectError(description: "cannot verify \(server)'s certificate (\(reason)); fingerprint SHA256:\(fingerprint)")
        }
        switch known.fingerprint(of: server) {
        case nil:
            try known.remember(server, fingerprint: fingerprint)
            return .firstUse(fingerprint: fingerprint)
        case fingerprint?:
            return .known
        case let remembered?:
            throw ServerConnection.ConnectError(description: Self.changedWarning(server: server, remembered: remembered,
                                                                                 presented: fingerprint, file: known.path))
        }
    }

    static func changedWarning(server: String, remembered: String, presented: String, file: String) -> String {
        """
        
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        @  WARNING: THE SERVER'S CERTIFICATE HAS CHANGED                 @
        @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
        \(server) presented a certificate that no CA vouches for and that
        differs from the one remembered. Someone may be intercepting the
        connection, or the server's certificate was replaced.
          remembered: SHA256:\(remembered)
          presented:  SHA256:\(presented)
        Not connecting. If the change is expected, remove the line for
        \(server) from \(file) and connect again.
        """
    }

    /// Colon-free lowercase hex, as `openssl x509 -fingerprint -sha256` shows it without colons.
    static func format(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// The handshake on a connected socket (left non-blocking), within `timeoutSeconds`.
    func handshake(fd: Int32, host: String, port: UInt16, timeoutSeconds: Double) throws(ServerConnection.ConnectError) -> (OpaquePointer, Trust) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        guard let session = ctls_session_new(context, fd, 0, 0) else {
            throw ServerConnection.ConnectError(description: "cannot start TLS (out of memory)")
        }
        _ = ctls_session_set_host(session, host)
        let deadline = Self.now() + UInt64(max(timeoutSeconds, 0.001) * 1e9)
        while true {
            let result = Int(ctls_handshake(session))
            if result == Int(CTLS_DONE) { break }
            let events: Int16
            switch result {
            case Int(CTLS_WANT_READ): events = Int16(POLLIN)
            case Int(CTLS_WANT_WRITE): events = Int16(POLLOUT)
            default:
                let text = ServerConnection.sessionError(session)
                ctls_session_free(session)
                throw ServerConnection.ConnectError(description: "TLS with \(host):\(port) failed: \(text)")
            }
            let now = Self.now()
            guard now < deadline, ServerConnection.wait(fd, events, milliseconds: Int32((deadline - now) / 1_000_000) + 1) else {
                ctls_session_free(session)
                throw ServerConnection.ConnectError(description: "TLS with \(host):\(port): no handshake within \(timeoutSeconds) s")
            }
        }
        do {
            return (session, try decide(session: session, server: "\(host):\(port)"))
        } catch {
            ctls_session_free(session)
            throw error
        }
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
