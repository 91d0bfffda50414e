import Bytes
import CLinux
import Glibc

/// One connection's pending output: references to shared, already-encoded frames and
/// how far into the first one the kernel has taken. Nothing is copied on enqueue.
///
/// A ring of unmanaged references in storage of its own, not an `Array`: a delivery is one
/// non-atomic increment of the frame's queue count and one store, with no atomic retain,
/// no uniqueness check, no growth-by-copy of a buffer that was just thrown away, and no
/// compaction (measured with callgrind on fanout 100/1: the array's re-growth and frees
/// were about a fifth of the daemon's user-space instructions, the atomic retain and
/// release of every delivery another seventh). The owner must call `removeAll()` before dropping a queue that may hold
/// frames or storage: the struct lives inside the reactor's slot table and has no deinit.
struct OutboundQueue {
    private var storage: UnsafeMutablePointer<Unmanaged<SharedBytes>>?
    /// A power of two, or 0 before the first frame.
    private(set) var capacity = 0
    private var head = 0
    private(set) var count = 0
    private var headOffset = 0
    private(set) var queuedBytes = 0

    /// Storage this small is kept when the queue empties; larger storage is given back by
    /// `releaseStorageIfEmpty()` once the queue has stayed empty for a turn.
    static let keptCapacity = 64
    private static let initialCapacity = 8

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ frame: SharedBytes) {
        let size = frame.count
        guard size > 0 else { return }
        if count == capacity { grow() }
        storage.unsafelyUnwrapped[(head &+ count) & (capacity &- 1)] = frame.enqueued()
        count &+= 1
        queuedBytes &+= size
    }

    private mutating func grow() {
        let newCapacity = capacity == 0 ? Self.initialCapacity : capacity * 2
        let newStorage = UnsafeMutablePointer<Unmanaged<SharedBytes>>.allocate(capacity: newCapacity)
        if let storage {
            // Unwrap the ring into the front of the new storage.
            let first = min(count, capacity - head)
            (newStorage).moveInitialize(from: storage + head, count: first)
            (newStorage + first).moveInitialize(from: storage, count: count - first)
            storage.deallocate()
        }
        storage = newStorage
        capacity = newCapacity
        head = 0
    }

    /// Fills `iovecs` with up to `limit` slices starting at the unsent part; returns how
    /// many and their total length.
    @inline(__always)
    func gather(into iovecs: UnsafeMutablePointer<iovec>, limit: Int) -> (count: Int, bytes: Int) {
        guard let storage else { return (0, 0) }
        let n = min(count, limit)
        var bytes = 0
        var position = head
        for i in 0..<n {
            let offset = i == 0 ? headOffset : 0
            let slice = storage[position]._withUnsafeGuaranteedRef { frame in
                iovec(iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress + offset), iov_len: frame.count - offset)
            }
            iovecs[i] = slice
            bytes &+= slice.iov_len
            position = (position &+ 1) & (capacity &- 1)
        }
        return (n, bytes)
    }

    /// Copies up to `limit` bytes from the unsent part into `buffer` and returns how many:
    /// the frames of one turn in one TLS record instead of one record each.
    func copyPrefix(into buffer: UnsafeMutableRawPointer, limit: Int) -> Int {
        guard let storage else { return 0 }
        var copied = 0
        var position = head
        var index = 0
        while index < count && copied < limit {
            let offset = index == 0 ? headOffset : 0
            copied += storage[position]._withUnsafeGuaranteedRef { frame in
                let length = min(frame.count - offset, limit - copied)
                (buffer + copied).copyMemory(from: frame.baseAddress + offset, byteCount: length)
                return length
            }
            position = (position &+ 1) & (capacity &- 1)
            index += 1
        }
        return copied
    }

    /// Drops what the kernel accepted, releasing every frame sent in full.
    mutating func consume(_ written: Int) {
        guard let storage else { return }
        var remaining = written
        queuedBytes -= written
        while remaining > 0 {
            let left = storage[head]._withUnsafeGuaranteedRef { $0.count } - headOffset
            if remaining >= left {
                remaining -= left
                storage[head].dequeued()
                head = (head &+ 1) & (capacity &- 1)
                count -= 1
                headOffset = 0
            } else {
                headOffset += remaining
                remaining = 0
            }
        }
        if count == 0 { head = 0 }
    }

    /// Gives large storage back once the queue is empty (see `keptCapacity`).
    mutating func releaseStorageIfEmpty() {
        guard count == 0, capacity > Self.keptCapacity else { return }
        storage?.deallocate()
        storage = nil
        capacity = 0
        head = 0
    }

    /// The bytes not yet written, in order (the first frame from its offset), for handing
    /// the connection to another process.
    func pendingBytes() -> [UInt8] {
        guard let storage else { return [] }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(queuedBytes)
        var position = head
        for index in 0..<count {
            storage[position].takeUnretainedValue().withUnsafeBytes { frame in
                bytes.append(contentsOf: index == 0 ? UnsafeRawBufferPointer(rebasing: frame[headOffset...]) : frame)
            }
            position = (position &+ 1) & (capacity &- 1)
        }
        return bytes
    }

    /// Releases every queued frame and the storage.
    mutating func removeAll() {
        if let storage {
            var position = head
            for _ in 0..<count {
                storage[position].dequeued()
                position = (position &+ 1) & (capacity &- 1)
            }
            storage.deallocate()
        }
        storage = nil
        capacity = 0
        head = 0
        count = 0
        headOffset = 0
        queuedBytes = 0
    }
}
