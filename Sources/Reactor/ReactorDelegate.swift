/// Why a connection ended.
public enum CloseReason: Sendable, CustomStringConvertible {
    /// The peer closed its end (EOF).
    case peerClosed
    /// Our side asked for it (`Reactor.close`), with the caller's reason.
    case requested(String)
    /// A read or write failed (reset, broken pipe, ...).
    case failed(SystemCallError)
    /// The peer stopped reading and its queue passed the bound.
    case sendQueueExceeded(queuedBytes: Int, limit: Int)
    /// The peer did not take our last bytes before the close deadline.
    case closeTimedOut(String)
    /// The TLS handshake failed, or a TLS session broke (OpenSSL's reason).
    case tlsFailed(String)

    public var description: String {
        switch self {
        case .peerClosed: return "connection closed by peer"
        case let .requested(reason): return reason
        case let .failed(error): return "\(error)"
        case let .sendQueueExceeded(queued, limit): return "send queue exceeded (\(queued) bytes queued, limit \(limit))"
        case let .closeTimedOut(reason): return "\(reason); peer did not read the final messages in time"
        case let .tlsFailed(reason): return reason
        }
    }
}

/// What the reactor reports. It never calls these from inside one of its own public
/// methods (`send`, `close`, ...), only from the loop, so a handler may call back into
/// the reactor freely.
public protocol ReactorDelegate: AnyObject {
    func reactor(_ reactor: Reactor, accepted connection: ConnectionID, from peer: SocketAddress?, on listener: ListenerID)
    /// Bytes read from the connection. They are valid only during the call.
    func reactor(_ reactor: Reactor, received bytes: UnsafeRawBufferPointer, on connection: ConnectionID)
    /// Called exactly once for every accepted connection, whoever ended it.
    func reactor(_ reactor: Reactor, closed connection: ConnectionID, because reason: CloseReason)
    func reactor(_ reactor: Reactor, received signal: Int32)
    /// Accepting failed for lack of descriptors (`EMFILE`/`ENFILE`); the listener is
    /// paused and retried by itself. Reported once per pause, not per attempt.
    func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError)
    /// A TLS connection finished its handshake; its output flows from now on.
    func reactor(_ reactor: Reactor, secured connection: ConnectionID)
}

extension ReactorDelegate {
    public func reactor(_ reactor: Reactor, secured connection: ConnectionID) {}
}
