import Glibc

/// The small system-call helpers every executable needs, written once: retrying on
/// `EINTR`, writing everything, Unix socket addresses, the clocks, and standard error.
/// The reactor's own syscalls also go through `retryingInterrupts`.
public enum SystemCall {
    /// Runs `call` again for as long as it fails with `EINTR` (a signal arrived mid-call).
    /// Returns the last result; `errno` is left as the call set it.
    @inline(__always)
    public static func retryingInterrupts<Result: BinaryInteger>(_ call: () -> Result) -> Result {
        var result: Result
        repeat { result = call() } while result < 0 && errno == EINTR
        return result
    }

    /// Writes all of `bytes` to a blocking descriptor. Returns nil on success, else the
    /// `errno` of the write that failed.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            let written = retryingInterrupts { write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
            if written < 0 { return errno }
            offset += written
        }
        return nil
    }
}

/// Writes `text` to standard error, all of it (a diagnostic must not be cut short).
public func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { _ = SystemCall.writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
}

/// A `sockaddr_un` for a path, or nil if the path does not fit (108 bytes with its NUL).
public struct UnixSocketAddress {
    private var address = sockaddr_un()
    public static let maximumPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    public init?(path: String) {
        guard path.utf8.count <= Self.maximumPathBytes else { return nil }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
    }

    /// Calls `body` with the address as `bind(2)` and `connect(2)` take it.
    public func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// Nanoseconds on `CLOCK_MONOTONIC`: never jumps with wall-clock changes, so deadlines
/// and timeouts stay right across NTP steps.
public enum MonotonicClock {
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// Nanoseconds since the epoch on `CLOCK_REALTIME`: for what must mean the same after a
/// restart or be shown to people (sanction expiry, history times).
public enum WallClock {
    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
