import ChatCore
import ChatProtocol
import Reactor

/// Everything the daemon needs to run, already validated.
public struct DaemonConfiguration: Sendable {
    public var listenAddresses: [SocketAddress]
    /// True when the addresses are the built-in default rather than the operator's choice,
    /// so an IPv6-less host may fall back to IPv4.
    public var listenAddressesAreDefault: Bool
    /// Where the admin password hash is read from, at start and on every reload.
    public var adminPasswordSource: AdminPasswordSource
    /// Where bans are kept across restarts (`$STATE_DIRECTORY` under systemd); nil keeps
    /// them in memory only.
    public var stateDirectory: String?
    public var logMessageBodies: Bool
    public var maximumFrameLength: Int
    public var maximumQueuedBytes: Int
    /// How long members get to receive the shutdown notice before connections are dropped.
    public var shutdownGraceNanoseconds: UInt64

    public static let defaultPort: UInt16 = 12000

    public init(
        listenAddresses: [SocketAddress] = [],
        adminPasswordSource: AdminPasswordSource = .none,
        stateDirectory: String? = nil,
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
        self.adminPasswordSource = adminPasswordSource
        self.stateDirectory = stateDirectory
        self.logMessageBodies = logMessageBodies
        self.maximumFrameLength = maximumFrameLength
        self.maximumQueuedBytes = maximumQueuedBytes
        self.shutdownGraceNanoseconds = shutdownGraceNanoseconds
    }
}
