import Reactor

extension ChatServer {
    public func beginShutdown(signalName: String) {
        if shuttingDown {
            logger.warning("\(signalName) during shutdown: closing everything now")
            reactor.abortAll(reason: "immediate shutdown")
            reactor.stop()
            return
        }
        shuttingDown = true
        supervisor.stopping("Shutting down: telling \(room.memberCount) member(s)")
        log(.notice, "shutdown", "\(signalName): shutting down", ["chat_reason": signalName])
        reactor.stopAccepting()
        cluster?.leave()
        room.shutdown(now: now(), effects: &effects)
        applyEffects()
        control?.closeAll()
        graceTimer = reactor.schedule(afterNanoseconds: UInt64(settings.shutdownGrace * 1e9)) { [weak self] in
            guard let self else { return }
            graceTimer = nil
            logger.warning("shutdown grace period over: dropping \(reactor.connectionCount) connection(s)")
            reactor.abortAll(reason: "shutdown grace period over")
            reactor.stop()
        }
        stopIfIdle()
    }

    func stopIfIdle() {
        if shuttingDown && reactor.connectionCount == 0 { reactor.stop() }
    }
}
