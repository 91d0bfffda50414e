import CLinux
import Glibc
import SystemCalls

/// Accepting connections (and pausing when descriptors run out), and adopting ones made
/// elsewhere.
extension Reactor {
    // MARK: Accepting

    func acceptConnections(on listenerIndex: Int) {
        for _ in 0..<configuration.acceptsPerWakeup {
            guard let listener = listeners[listenerIndex], !listener.paused else { return }
            let accepted: NonBlocking<(Int32, SocketAddress?)>
            do {
                accepted = try Socket.accept(listener.fd)
            } catch {
                switch error.errno {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pauseAccepting(listenerIndex, error)
                    return
                default:
                    continue  // the peer gave up before we accepted (ECONNABORTED, ...)
                }
            }
            guard case let .done((fd, peer)) = accepted else { return }
            if peer != nil {
                // Chat lines are small and latency matters more than packet count.
                try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)")
                if let keepAlive = configuration.keepAlive {
                    try? Socket.setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "setsockopt(SO_KEEPALIVE)")
                    try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, keepAlive.idle, "setsockopt(TCP_KEEPIDLE)")
                    try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, keepAlive.interval, "setsockopt(TCP_KEEPINTVL)")
                    try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, keepAlive.count, "setsockopt(TCP_KEEPCNT)")
                }
            }
            guard let id = register(fd) else {
                closeDescriptor(fd)
                continue
            }
            if listener.secure {
                guard let context = tlsServerContext, beginTLS(id.slot, context: context) else {
                    unregister(id)  // out of memory: as if never accepted
                    continue
                }
            }
            delegate?.reactor(self, accepted: id, from: peer, on: ListenerID(index: listenerIndex))
        }
    }

    /// Takes over an already connected socket (for example one a load generator
    /// connected itself): from now on it is a connection like any accepted one.
    /// With `tls`, the connection speaks TLS as the client (or server) of that context;
    /// the handshake starts in the loop and `reactor(_:secured:)` tells when it is done.
    public func adoptConnection(fd: Int32, tls: TLSContext? = nil) throws(SystemCallError) -> ConnectionID {
        try Socket.setNonBlocking(fd)
        guard let id = register(fd) else { throw SystemCallError("epoll_ctl", errno: errno) }
        if let tls {
            guard beginTLS(id.slot, context: tls) else {
                unregister(id)
                throw SystemCallError("SSL_new", errno: ENOMEM)
            }
            setWantsOutput(id.slot, true)  // the client speaks first: send the ClientHello from the loop
        }
        return id
    }

    /// Gives the descriptor a slot (reusing a free one with a new generation) and
    /// registers it for input.
    func register(_ fd: Int32) -> ConnectionID? {
        let index: Int
        if let free = freeSlots.popLast() {
            index = Int(free)
        } else {
            index = slots.count
            slots.append(Slot())
        }
        var generation = (slots[index].generation &+ 1) & 0x3FFF_FFFF
        if generation == 0 { generation = 1 }
        let id = ConnectionID(slot: UInt32(index), generation: generation)
        do {
            try control(EPOLL_CTL_ADD, fd, CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP, id.rawValue)
        } catch {
            freeSlots.append(UInt32(index))
            return nil
        }
        slots[index] = Slot(fd: fd, generation: generation, phase: .open, interest: CLINUX_EPOLLIN | CLINUX_EPOLLRDHUP)
        connectionCount += 1
        return id
    }

    /// Undoes `register` for a connection the delegate never heard of.
    func unregister(_ id: ConnectionID) {
        closeDescriptor(slots[id.slot].fd)
        slots[id.slot] = Slot()
        slots[id.slot].generation = id.generation
        freeSlots.append(UInt32(id.slot))
        connectionCount -= 1
    }

    func pauseAccepting(_ index: Int, _ error: SystemCallError) {
        guard let listener = listeners[index] else { return }
        try? control(EPOLL_CTL_DEL, listener.fd, 0, 0)
        listeners[index]?.paused = true
        delegate?.reactor(self, pausedAccepting: ListenerID(index: index), because: error)
        _ = timers.schedule(at: MonotonicClock.now() + configuration.acceptPauseNanoseconds) { [weak self] in
            guard let self, let listener = self.listeners[index], listener.paused else { return }
            self.listeners[index]?.paused = false
            try? self.control(EPOLL_CTL_ADD, listener.fd, CLINUX_EPOLLIN, Token.listener | UInt64(index))
        }
    }
}
