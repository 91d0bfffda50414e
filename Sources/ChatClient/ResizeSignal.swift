import CLinux
import Glibc

/// SIGWINCH as a readable descriptor (signalfd), so a resize wakes the poll loop like
/// input does and the input row is redrawn for the new width.
final class ResizeSignal {
    let fd: Int32
    private static let signals: [Int32] = [SIGWINCH]

    init?() {
        guard clinux_block_signals(Self.signals, Int32(Self.signals.count)) == 0 else { return nil }
        fd = clinux_signalfd_for(Self.signals, Int32(Self.signals.count))
        guard fd >= 0 else {
            clinux_unblock_signals(Self.signals, Int32(Self.signals.count))
            return nil
        }
    }

    /// Reads every pending resize; true if there was one.
    func drain() -> Bool {
        var any = false
        while clinux_signalfd_read(fd) > 0 { any = true }
        return any
    }

    deinit {
        close(fd)
        clinux_unblock_signals(Self.signals, Int32(Self.signals.count))
    }
}
