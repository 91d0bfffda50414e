import ChatCore
import ChatProtocol
import Logging
import Reactor
import SystemCalls

/// Start-up of the control socket and, in a successor, the predecessor's listeners; and
/// connections refused at a limit.
extension ChatServer {
    func startControl(listener: ListenerID, file: UnixSocketFile) {
        control = ControlServer(reactor: reactor, listener: listener, path: file,
                                access: ControlAccess(groupName: settings.controlGroup),
                                answer: { [unowned self] in ControlCommands.run($0, actor: $1, connection: $2, server: self) },
                                log: { [unowned self] in log($0, $1, $2, $3) })
    }

    /// In a successor: the predecessor's listeners, instead of binding.
    func adoptListeners(_ state: HandoverState) throws(StartError) {
        let secure = Self.inheritedSecureListeners(environment: environment)
        do {
            for fd in state.listeners where fd != state.controlListener {
                try reactor.addListener(fd: fd, secure: secure.contains(fd))
                log(.notice, "listen", "listening on \(try Socket.localAddress(fd))\(secure.contains(fd) ? " (TLS)" : "") (from the previous process)", [:])
            }
            if let fd = state.controlListener, let path = state.controlPath {
                startControl(listener: try reactor.addListener(fd: fd), file: try UnixSocketFile(boundAt: path))
            }
        } catch {
            throw .setup(error)
        }
        try startTLS(secureListeners: state.listeners.filter(secure.contains), environment: environment)
    }

    /// A refusal costs one write and a close: no flush, no lingering, no descriptor held;
    /// and one log line per host per interval, with a count for the rest.
    func refuseAtLimit(_ connection: ConnectionID, address: IPAddress, peer: SocketAddress, _ text: String,
                       reason: String = "connection limit") {
        reactor.refuse(connection, notice: FrameEncoder.frame(text), reason: reason)
        let key = ConnectionLimits.key(address, ipv6PrefixLength: settings.ipv6HostPrefix)
        if refusals.record(key, reason: text, now: MonotonicClock.now()) {
            log(.warning, "connection-limit", "refused \(peer): \(text) (further refusals of \(key) are counted for 10 s)",
                ["chat_peer": "\(peer)", "chat_reason": text])
        }
    }

    func logSuppressedRefusals() {
        let now = MonotonicClock.now()
        for ended in refusals.closeEnded(now: now) {
            log(.warning, "connection-limit", "refused \(ended.suppressed) more connection(s) from \(ended.key) in the last 10 s: \(ended.reason)",
                ["chat_address": "\(ended.key)", "chat_count": "\(ended.suppressed)", "chat_reason": ended.reason])
        }
        connections.limits.forgetIdle(now: now)
    }
}
