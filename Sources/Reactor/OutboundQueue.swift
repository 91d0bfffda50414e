import Bytes
import CLinux
import Glibc

/// One connection's pending output: references to shared, already-encoded frames and
/// how far into the first one the kernel has taken. Nothing is copied on enqueue.
struct OutboundQueue {
    private var frames: [SharedBytes] = []
    private var head = 0
    private var headOffset = 0
    private(set) var queuedBytes = 0

    var isEmpty: Bool { head == frames.count }

    mutating func append(_ frame: SharedBytes) {
        guard frame.count > 0 else { return }
        frames.append(frame)
        queuedBytes += frame.count
    }

    /// Fills `iovecs` with up to `capacity` slices starting at the unsent part.
    func gather(into iovecs: UnsafeMutablePointer<iovec>, capacity: Int) -> Int {
        var count = 0
        var index = head
        while index < frames.count && count < capacity {
            let frame = frames[index]
            let offset = index == head ? headOffset : 0
            iovecs[count] = iovec(iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress + offset),
                                  iov_len: frame.count - offset)
            count += 1
            index += 1
        }
        return count
    }

    /// Drops what the kernel accepted.
    mutating func consume(_ written: Int) {
        var remaining = written
        queuedBytes -= written
        while remaining > 0 {
            let left = frames[head].count - headOffset
            if remaining >= left {
                remaining -= left
                head += 1
                headOffset = 0
            } else {
                headOffset += remaining
                remaining = 0
            }
        }
        if head == frames.count {
            // Keep a small array for the next burst; let a large one go so an idle
            // connection costs almost nothing.
            if frames.capacity > 64 { frames = [] } else { frames.removeAll(keepingCapacity: true) }
            head = 0
        } else if head >= 64 && head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        frames = []
        head = 0
        headOffset = 0
        queuedBytes = 0
    }
}
