import CSystemd

/// Tells the service manager about the daemon's state (`sd_notify(3)`).
/// A protocol so that the daemon's tests can record what would have been sent.
public protocol ServiceNotifier: AnyObject {
    /// Sends newline-separated `KEY=value` assignments.
    func notify(_ assignments: String)
}

extension ServiceNotifier {
    public func ready(status: String) { notify("READY=1\nSTATUS=\(status)") }
    public func status(_ text: String) { notify("STATUS=\(text)") }
    public func stopping(status: String) { notify("STOPPING=1\nSTATUS=\(status)") }
    /// `MONOTONIC_USEC` lets `Type=notify-reload` (systemd 253+) match the reload to its
    /// request; systemd 252 with `Type=notify` ignores it harmlessly.
    public func reloading(monotonicMicroseconds: UInt64) {
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds)\nSTATUS=Reloading configuration")
    }
    public func watchdog() { notify("WATCHDOG=1") }

}

/// The real notifier. Outside systemd (`$NOTIFY_SOCKET` unset) `sd_notify` does nothing
/// and returns 0, so development runs need no special casing.
public final class SystemdNotifier: ServiceNotifier {
    public init() {}

    public func notify(_ assignments: String) {
        // The return value is deliberately ignored, as sd_notify(3) advises: being
        // unsupervised, or a manager that went away, must not disturb the daemon.
        _ = sd_notify(0, assignments)
    }

    /// The watchdog interval systemd expects pings within, if it enabled one for us.
    public static func watchdogIntervalMicroseconds() -> UInt64? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return microseconds
    }
}
