/// The time, passed in with every event so that the Room never reads a clock and tests
/// control time completely.
///
/// Two readings: a monotonic one for rates and deadlines (slowmode, flood control, login
/// throttling), which never jumps, and the wall clock for what must mean the same after
/// a restart (sanction expiry) or be shown to people (history timestamps).
public struct RoomTime: Comparable, Hashable, Sendable {
    /// Monotonic nanoseconds from an arbitrary origin.
    public let nanoseconds: UInt64
    /// Wall-clock nanoseconds since the Unix epoch.
    public let unixNanoseconds: Int64

    /// With no wall clock given, both readings are the same (convenient in tests).
    public init(nanoseconds: UInt64, unixNanoseconds: Int64? = nil) {
        self.nanoseconds = nanoseconds
        self.unixNanoseconds = unixNanoseconds ?? Int64(nanoseconds)
    }

    public static func seconds(_ s: Double) -> RoomTime { RoomTime(nanoseconds: UInt64(s * 1e9)) }
    public static func < (a: RoomTime, b: RoomTime) -> Bool { a.nanoseconds < b.nanoseconds }
    public static let zero = RoomTime(nanoseconds: 0)

    public var unixSeconds: Int64 { unixNanoseconds / 1_000_000_000 }

    /// The same moment `seconds` later on both clocks.
    public func adding(seconds: Double) -> RoomTime {
        RoomTime(nanoseconds: nanoseconds + UInt64(seconds * 1e9), unixNanoseconds: unixNanoseconds + Int64(seconds * 1e9))
    }
}
