/// A connection's identity: its slot in the reactor's table plus that slot's generation.
/// The generation changes every time a slot is reused, so an ID held past its
/// connection's end can never reach the next connection in the same slot.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    init(slot: UInt32, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(slot)
    }

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    var slot: Int { Int(truncatingIfNeeded: rawValue & 0xFFFF_FFFF) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }

    public var description: String { "conn-\(slot).\(generation)" }
}

public struct ListenerID: Hashable, Sendable {
    public let index: Int
}
