import ChatCore
import ChatProtocol
import Logging
import Reactor
import SystemCalls
import Systemd

/// Keeps the service manager informed: readiness, a status line at most once a second
/// and only when it changes, watchdog pings from the loop itself, reloading and stopping.
/// Also owns the daemon's repeating timers, so the stop can tell them from leaked ones.
final class ServiceSupervisor {
    private let reactor: Reactor
    private let notifier: ServiceNotifier
    private var logger: Logger
    private(set) var lastStatus = ""
    private var lastRelayedCount: UInt64 = 0
    private var lastStatusTime: UInt64 = 0
    /// Timers that repeat for the daemon's whole life (tick, history saving, watchdog).
    private(set) var repeatingTimers = 0
    let startedAt = MonotonicClock.now()

    init(reactor: Reactor, notifier: ServiceNotifier, logger: Logger) {
        self.reactor = reactor
        self.notifier = notifier
        self.logger = logger
    }

    /// `12 members online, 3.5 msg/s relayed, 1 active ban, longest turn 2 ms, v0.5.0`, and a
    /// warning while changes to the sanctions or topic are not on disk.
    static func statusLine(members: Int, bans: Int, rate: Double, unsavedState: Bool = false, longestTurn: UInt64 = 0) -> String {
        let tenths = Int((rate * 10).rounded())
        return "\(members) member\(members == 1 ? "" : "s") online, \(tenths / 10).\(tenths % 10) msg/s relayed, \(bans) active ban\(bans == 1 ? "" : "s")"
            + ", longest turn \(longestTurn / 1_000_000) ms, v\(ChatroomVersion.current)"
            + (unsavedState ? "; STATE NOT SAVED (see the log)" : "")
    }

    /// READY=1 with the first status line, then the watchdog.
    func ready(room: Room) {
        lastStatusTime = MonotonicClock.now()
        lastRelayedCount = room.relayedMessageCount
        lastStatus = Self.statusLine(members: room.memberCount, bans: room.banCount, rate: 0)
        notifier.ready(status: lastStatus)
        startWatchdog()
    }



    /// Called every second: a new status line when the text changed.
    func updateStatus(room: Room, unsavedState: Bool, longestTurn: UInt64) {
        let now = MonotonicClock.now()
        let relayed = room.relayedMessageCount
        let seconds = Double(now - lastStatusTime) / 1e9
        let rate = seconds > 0 ? Double(relayed &- lastRelayedCount) / seconds : 0
        lastRelayedCount = relayed
        lastStatusTime = now
        let status = Self.statusLine(members: room.memberCount, bans: room.banCount, rate: rate, unsavedState: unsavedState, longestTurn: longestTurn)
        if status != lastStatus {
            lastStatus = status
            notifier.status(status)
        }
    }

    func reloading() { notifier.reloading(monotonicMicroseconds: MonotonicClock.now() / 1000) }
    func reloaded() { notifier.ready(status: lastStatus) }
    func stopping(_ status: String) { notifier.stopping(status: status) }

    var uptimeSeconds: Double { Double(MonotonicClock.now() - startedAt) / 1e9 }

    /// Pings from the loop itself at half the interval: if the loop wedges, the pings stop
    /// and systemd kills and restarts the daemon.
    private func startWatchdog() {
        guard let interval = SystemdNotifier.watchdogIntervalMicroseconds() else { return }
        logger.info("watchdog enabled: pinging every \(interval / 2000) ms")
        notifier.watchdog()
        repeatEvery(nanoseconds: interval * 1000 / 2) { [weak self] in self?.notifier.watchdog() }
    }

    func repeatEvery(nanoseconds: UInt64, _ action: @escaping () -> Void) {
        repeatingTimers += 1
        scheduleRepeat(nanoseconds: nanoseconds, action)
    }

    private func scheduleRepeat(nanoseconds: UInt64, _ action: @escaping () -> Void) {
        reactor.schedule(afterNanoseconds: nanoseconds) { [weak self] in
            action()
            self?.scheduleRepeat(nanoseconds: nanoseconds, action)
        }
    }
}
