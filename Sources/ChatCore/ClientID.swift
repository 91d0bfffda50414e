/// Identifies one connection to the Room for as long as it lives.
/// The daemon chooses the value (the reactor's connection token); the Room only compares.
public struct ClientID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
}
