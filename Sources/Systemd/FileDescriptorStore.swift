import CSystemd
import Glibc

/// systemd's file descriptor store (`FileDescriptorStoreMax=`, `sd_pid_notify_with_fds(3)`):
/// descriptors handed to the service manager outlive this process and come back to the
/// next one in `$LISTEN_FDS`, named, in no particular order. The store keeps them across
/// `systemctl restart` and automatic restarts (a crash, the watchdog), not across a stop.
public enum FileDescriptorStore {
    /// How many descriptors the service manager keeps for us, or nil if it keeps none:
    /// `$FDSTORE` (set by systemd 254 and later from `FileDescriptorStoreMax=`, and by
    /// chatroomd.service itself for systemd 252), and only under a service manager.
    public static func capacity(environment: [String: String]) -> Int? {
        guard environment["NOTIFY_SOCKET"] != nil, let text = environment["FDSTORE"],
              let capacity = Int(text), capacity > 0 else { return nil }
        return capacity
    }

    /// Hands duplicates of `fds` to the store under `name` (a short one: every stored
    /// descriptor's name comes back in one environment string of at most 128 KiB). Up to
    /// 250 descriptors a message, the most one Unix-socket message carries. False if the
    /// message could not be sent.
    @discardableResult
    public static func store(_ fds: [Int32], name: String) -> Bool {
        var sent = true
        var start = 0
        while start < fds.count {
            let end = min(start + 250, fds.count)
            let result = Array(fds[start..<end]).withUnsafeBufferPointer { buffer in
                sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=\(name)", buffer.baseAddress, UInt32(buffer.count))
            }
            if result <= 0 { sent = false }
            start = end
        }
        return sent
    }

    /// Closes every stored descriptor named `name` in the store.
    public static func remove(name: String) {
        _ = sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=\(name)")
    }

    /// Waits until the service manager has handled every message sent before (so nothing
    /// stored is still in flight when this process exits). False on timeout or error.
    public static func barrier(timeoutMicroseconds: UInt64) -> Bool {
        sd_notify_barrier(0, timeoutMicroseconds) >= 0
    }
}
