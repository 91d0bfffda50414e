import Reactor

/// A cluster node that took over from a predecessor (`chatroomctl restart`, `systemctl
/// restart`, a crash) has its members back before it has linked to the other nodes. A line
/// one of them says in that moment (typed during the pause, waiting in the kernel) would
/// otherwise be shown only on this node, as during a split, but with no notice: the other
/// nodes would never see it, and this node's members would see an order no one else sees.
/// So until the link is made the daemon reads its members' bytes but does not act on them:
/// what each connection sent, and its closing, are kept in arrival order and handed to the
/// Room once linked, when lines go through the channel again.
///
/// The hold is bounded: if the link is not made within `ClusterLink.stallNanoseconds`
/// (Redis down or slow), or more than `maximumBytes` arrive, everything is let through and
/// the node serves its members as a node that has never linked does.
final class ClusterInputHold {
    enum Held {
        case bytes(ConnectionID, [UInt8])
        case closed(ConnectionID, CloseReason)
    }

    static let maximumBytes = 4 << 20

    private(set) var held: [Held] = []
    private var bytes = 0
    /// Connections with something held: their later events must wait behind it.
    private var holding: Set<ConnectionID> = []
    var timer: TimerID? = nil

    /// Keeps `data` for later; false once over the bound (let everything through).
    func keep(_ data: UnsafeRawBufferPointer, from connection: ConnectionID) -> Bool {
        guard bytes + data.count <= Self.maximumBytes else { return false }
        bytes += data.count
        held.append(.bytes(connection, Array(data)))
        holding.insert(connection)
        return true
    }

    /// Keeps a close behind the connection's held bytes; false if none are held (the
    /// close can be handled now).
    func keepClose(_ connection: ConnectionID, because reason: CloseReason) -> Bool {
        guard holding.contains(connection) else { return false }
        held.append(.closed(connection, reason))
        return true
    }
}

extension ChatServer {
    /// At start, before taking over a predecessor's members, in a cluster.
    func holdInputUntilLinked() {
        guard settings.redis != nil else { return }
        let hold = ClusterInputHold()
        hold.timer = reactor.schedule(afterNanoseconds: ClusterLink.stallNanoseconds) { [weak self] in
            guard let self, inputHold != nil else { return }
            inputHold?.timer = nil
            log(.warning, "cluster-redis", "not linked to the cluster \(ClusterLink.stallNanoseconds / 1_000_000) ms after the restart: serving this node's members on their own",
                ["chat_node": clusterNodeName])
            releaseHeldInput()
        }
        inputHold = hold
    }

    /// Whether the Room must not see `data` yet (it was kept for later).
    func holdsInput(_ data: UnsafeRawBufferPointer, from connection: ConnectionID) -> Bool {
        guard let hold = inputHold else { return false }
        if hold.keep(data, from: connection) { return true }
        releaseHeldInput()
        return false
    }

    /// Whether a close must wait behind the connection's held bytes (it was kept).
    func holdsClose(_ connection: ConnectionID, because reason: CloseReason) -> Bool {
        inputHold?.keepClose(connection, because: reason) ?? false
    }

    /// Linked (or given up waiting): what was held goes to the Room, in arrival order.
    func releaseHeldInput() {
        guard let hold = inputHold else { return }
        inputHold = nil
        if let timer = hold.timer { reactor.cancel(timer) }
        for event in hold.held {
            switch event {
            case let .bytes(connection, data):
                // Closed by the Room meanwhile (a protocol error earlier in the held input).
                guard connections.session(connection) != nil else { continue }
                data.withUnsafeBytes { reactor(reactor, received: $0, on: connection) }
            case let .closed(connection, reason):
                reactor(reactor, closed: connection, because: reason)
            }
        }
    }
}
