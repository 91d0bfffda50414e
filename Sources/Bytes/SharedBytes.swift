/// Immutable bytes in one heap allocation, shared by reference.
///
/// A broadcast is encoded once into a `SharedBytes` and every recipient's send queue
/// holds a reference to the same storage: fanning out to N members costs N retains,
/// not N copies. The object header and the bytes live in a single allocation
/// (`ManagedBuffer` tail allocation), so encoding a frame is exactly one `malloc`.
public final class SharedBytes: ManagedBuffer<Int, UInt8> {
    // Not Sendable (ManagedBuffer never is): frames live and die on the reactor thread.

    /// Allocates `count` bytes and lets `initialize` fill every one of them.
    public static func make(
        count: Int,
        _ initialize: (UnsafeMutableRawBufferPointer) -> Void
    ) -> SharedBytes {
        let storage = SharedBytes.create(minimumCapacity: count) { _ in count }
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

    public var count: Int { header }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutablePointerToElements { start in
            try body(UnsafeRawBufferPointer(start: start, count: header))
        }
    }

    /// The base address stays valid for as long as this object is alive: tail-allocated
    /// storage never moves. The reactor relies on this to build `iovec`s for queued frames.
    public var baseAddress: UnsafeRawPointer {
        withUnsafeMutablePointerToElements { UnsafeRawPointer($0) }
    }

    public var array: [UInt8] { withUnsafeBytes { Array($0) } }
}
