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
/// the node serves its members as a node that has never linked does. One connection that
/// sends more than `maximumBytesPerConnection` is let through on its own (its lines are
/// then this node's only, as in a split), so that no single client can end the hold for
/// everyone else.
final class ClusterInputHold {
    enum Held {
        case bytes(ConnectionID, [UInt8])
        case closed(ConnectionID, CloseReason)
    }

    enum Outcome {
        case kept
        /// Not held: this connection was let through earlier.
        case passed
        /// Over its own bound: let this connection through, after what it has held.
        case releaseConnection
        /// Over the bound for all: let everything through.
        case releaseAll
    }

    static let maximumBytes = 4 << 20
    static let maximumBytesPerConnection = 256 << 10

    private(set) var held: [Held] = []
    private var bytes = 0
    /// Bytes held per connection; a connection with an entry has something held, so its
    /// later events must wait behind it.
    private var holding: [ConnectionID: Int] = [:]
    private var released: Set<ConnectionID> = []
    var timer: TimerID? = nil

    func keep(_ data: UnsafeRawBufferPointer, from connection: ConnectionID) -> Outcome {
        guard !released.contains(connection) else { return .passed }
        let mine = holding[connection, default: 0] + data.count
        guard mine <= Self.maximumBytesPerConnection else { return .releaseConnection }
        guard bytes + data.count <= Self.maximumBytes else { return .releaseAll }
        bytes += data.count
        held.append(.bytes(connection, Array(data)))
        holding[connection] = mine
        return .kept
    }

    /// What `connection` has held, in order, taken out of the hold; from now on it passes.
    func release(_ connection: ConnectionID) -> [Held] {
        released.insert(connection)
        bytes -= holding.removeValue(forKey: connection) ?? 0
        var mine: [Held] = []
        held.removeAll { event in
            switch event {
            case let .bytes(id, _) where id == connection, let .closed(id, _) where id == connection:
                mine.append(event)
                return true
            default:
                return false
            }
        }
        return mine
    }

    /// Keeps a close behind the connection's held bytes; false if none are held (the
    /// close can be handled now).
    func keepClose(_ connection: ConnectionID, because reason: CloseReason) -> Bool {
        guard holding[connection] != nil else { return false }
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
        switch hold.keep(data, from: connection) {
        case .kept:
            return true
        case .passed:
            return false
        case .releaseConnection:
            log(.warning, "cluster-redis", "\(connection) sent more than \(ClusterInputHold.maximumBytesPerConnection >> 10) KiB before this node linked after its restart: its lines now reach this node's members only until then",
                ["chat_node": clusterNodeName])
            replay(hold.release(connection))
            return false
        case .releaseAll:
            log(.warning, "cluster-redis", "more than \(ClusterInputHold.maximumBytes >> 20) MiB arrived before this node linked after its restart: serving this node's members on their own",
                ["chat_node": clusterNodeName])
            releaseHeldInput()
            return false
        }
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
        replay(hold.held)
    }

    /// Held events to the Room, in the order they arrived.
    private func replay(_ events: [ClusterInputHold.Held]) {
        for event in events {
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
