/// The reactor's connection slots, in storage of its own rather than an `Array`.
///
/// Every delivery touches its connection's slot; through an `Array` stored in the reactor
/// each of those writes pays a uniqueness check (a runtime call) before it may mutate in
/// place. Here the elements are reached through a pointer, so a write to `slots[i].x` is
/// a plain store. Growth moves the slots to new storage, so no pointer into the table
/// may be kept across an `append`. Indices are checked (one compare) even in release
/// builds: an out-of-range slot is a bug, and a trap beats a stray write.
struct SlotTable {
    private var base: UnsafeMutablePointer<Reactor.Slot>?
    private(set) var count = 0
    private var capacity = 0

    var indices: Range<Int> { 0..<count }

    subscript(index: Int) -> Reactor.Slot {
        @inline(__always) unsafeAddress {
            precondition(index >= 0 && index < count, "slot index out of range")
            return UnsafePointer(base.unsafelyUnwrapped + index)
        }
        @inline(__always) nonmutating unsafeMutableAddress {
            precondition(index >= 0 && index < count, "slot index out of range")
            return base.unsafelyUnwrapped + index
        }
    }

    mutating func append(_ slot: Reactor.Slot) {
        if count == capacity {
            let newCapacity = max(64, capacity * 2)
            let newBase = UnsafeMutablePointer<Reactor.Slot>.allocate(capacity: newCapacity)
            if let base {
                newBase.moveInitialize(from: base, count: count)
                base.deallocate()
            }
            base = newBase
            capacity = newCapacity
        }
        (base.unsafelyUnwrapped + count).initialize(to: slot)
        count += 1
    }

    /// Destroys every slot and frees the storage (the reactor's deinit, after it has
    /// emptied every slot's queue).
    mutating func deallocate() {
        guard let base else { return }
        base.deinitialize(count: count)
        base.deallocate()
        self.base = nil
        count = 0
        capacity = 0
    }
}
