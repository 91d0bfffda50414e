import ChatCore
import ChatProtocol
import Reactor

/// Everything the daemon needs to run, already validated.
public struct DaemonConfiguration: Sendable {
    public var listenAddresses: [SocketAddress]
    /// True when the addresses are the built-in default rather than the operator's choice,
    /// so an IPv6-less host may fall back to IPv4.
    public var listenAddressesAreDefault: Bool
    public var adminPasswordHash: AdminPasswordHash?
    public var logMessageBodies: Bool
    public var maximumFrameLength: Int
    public var maximumQueuedBytes: Int
    /// How long members get to receive the shutdown notice before connections are dropped.
    public var shutdownGraceNanoseconds: UInt64

    public static let defaultPort: UInt16 = 12000

    public init(
        listenAddresses: [SocketAddress] = [],
        adminPasswordHash: AdminPasswordHash? = nil,
        logMessageBodies: Bool = false,
        maximumFrameLength: Int = FrameFormat.defaultMaximumPayloadLength,
        maximumQueuedBytes: Int = 4 << 20,
        shutdownGraceNanoseconds: UInt64 = 3_000_000_000
    ) {
        if listenAddresses.isEmpty {
            self.listenAddresses = [SocketAddress.ipv6("::", port: Self.defaultPort)!]
            self.listenAddressesAreDefault = true
        } else {
            self.listenAddresses = listenAddresses
            self.listenAddressesAreDefault = false
        }
        self.adminPasswordHash = adminPasswordHash
        self.logMessageBodies = logMessageBodies
        self.maximumFrameLength = maximumFrameLength
        self.maximumQueuedBytes = maximumQueuedBytes
        self.shutdownGraceNanoseconds = shutdownGraceNanoseconds
    }
}
