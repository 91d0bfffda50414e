/// Immutable bytes in one heap allocation, shared by reference.
///
/// A broadcast is encoded once into a `SharedBytes` and every recipient's send queue
/// holds a reference to the same storage: fanning out to N members costs N retains,
/// not N copies. The object header and the bytes live in a single allocation
/// (`ManagedBuffer` tail allocation), so encoding a frame is exactly one `malloc`.
public final class SharedBytes: ManagedBuffer<SharedBytesHeader, UInt8> {
    // Not Sendable (ManagedBuffer never is): frames live and die on one thread (the
    // reactor's), which is what lets `queueReferences` be a plain, non-atomic counter.

    /// Allocates `count` bytes and lets `initialize` fill every one of them.
    public static func make(
        count: Int,
        _ initialize: (UnsafeMutableRawBufferPointer) -> Void
    ) -> SharedBytes {
        let storage = SharedBytes.create(minimumCapacity: count) { _ in SharedBytesHeader(count: count) }
        let bytes = unsafeDowncast(storage, to: SharedBytes.self)
        bytes.withUnsafeMutablePointerToElements { start in
            initialize(UnsafeMutableRawBufferPointer(start: start, count: count))
        }
        return bytes
    }

    public static func copying<C: Collection>(_ source: C) -> SharedBytes where C.Element == UInt8 {
        make(count: source.count) { buffer in
            _ = buffer.initializeMemory(as: UInt8.self, from: source)
        }
    }

    /// Read through the header's address, not `header`: the stored property is a class
    /// property, so every read of it costs a dynamic exclusivity check (`swift_beginAccess`
    /// and an access-set insert), and the reactor reads the count of every queued frame
    /// on every flush. Measured (callgrind, fanout 100/1): those checks were 32 % of the
    /// daemon's user-space instructions. The count is written once, before the object is
    /// shared, and never again, so there is nothing to check.
    @inlinable
    public var count: Int { withUnsafeMutablePointerToHeader { $0.pointee.count } }

    /// Send queues holding this frame: a fan-out to N members counts here instead of
    /// taking N atomic retains (and N atomic releases as the frames are written). The
    /// queues' owner keeps one strong reference while the count is above zero (see
    /// `enqueued()` and `dequeued()`).
    @inlinable
    public var queueReferences: Int { withUnsafeMutablePointerToHeader { $0.pointee.queueReferences } }

    /// A send queue took this frame. The first one takes the strong reference that all of
    /// them share. Single-threaded by contract (the type is not Sendable).
    @inlinable
    public func enqueued() -> Unmanaged<SharedBytes> {
        let unmanaged = Unmanaged.passUnretained(self)
        withUnsafeMutablePointerToHeader { header in
            if header.pointee.queueReferences == 0 { _ = unmanaged.retain() }
            header.pointee.queueReferences &+= 1
        }
        return unmanaged
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutablePointers { header, start in
            try body(UnsafeRawBufferPointer(start: start, count: header.pointee.count))
        }
    }

    /// The base address stays valid for as long as this object is alive: tail-allocated
    /// storage never moves. The reactor relies on this to build `iovec`s for queued frames.
    @inlinable
    public var baseAddress: UnsafeRawPointer {
        withUnsafeMutablePointerToElements { UnsafeRawPointer($0) }
    }

    public var array: [UInt8] { withUnsafeBytes { Array($0) } }
}

extension Unmanaged where Instance == SharedBytes {
    /// A send queue let go of the frame (written, or the connection dropped); the last
    /// one gives back the shared strong reference, which may free it.
    @inlinable
    public func dequeued() {
        let last = _withUnsafeGuaranteedRef { frame in
            frame.withUnsafeMutablePointerToHeader { header -> Bool in
                header.pointee.queueReferences &-= 1
                return header.pointee.queueReferences == 0
            }
        }
        if last { release() }
    }
}

/// A frame's length, and how many send queues hold it (see `SharedBytes.enqueued()`).
public struct SharedBytesHeader {
    public let count: Int
    public var queueReferences = 0

    @inlinable
    init(count: Int) { self.count = count }
}
