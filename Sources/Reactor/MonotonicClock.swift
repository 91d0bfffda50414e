import Glibc

/// Nanoseconds on `CLOCK_MONOTONIC`: never jumps with wall-clock changes, so deadlines
/// and timeouts stay right across NTP steps.
public enum MonotonicClock {
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
