/// A reading of a monotonic clock, passed in with every event so that the Room never
/// reads a clock itself and tests control time completely.
public struct RoomTime: Comparable, Hashable, Sendable {
    public let nanoseconds: UInt64
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }
    public static func seconds(_ s: Double) -> RoomTime { RoomTime(nanoseconds: UInt64(s * 1e9)) }
    public static func < (a: RoomTime, b: RoomTime) -> Bool { a.nanoseconds < b.nanoseconds }
    public static let zero = RoomTime(nanoseconds: 0)
}
