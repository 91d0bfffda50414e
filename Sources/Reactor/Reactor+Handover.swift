import Bytes
import CLinux
import Glibc

/// What a successor process needs from the reactor to carry on: every open connection's
/// descriptor and the output still queued for it, and the listeners' descriptors.
public struct HandedOverConnection: Sendable {
    public let id: ConnectionID
    public let fd: Int32
    public let pendingOutput: [UInt8]
}

extension Reactor {
    /// Connections that are open (not closing) and listeners, for a successor. Nothing is
    /// closed or changed: if the successor fails, the loop carries on as before.
    public func handoverState() -> (connections: [HandedOverConnection], listeners: [Int32]) {
        var connections: [HandedOverConnection] = []
        // TLS sessions stay here: their keys live in this process's OpenSSL.
        for index in slots.indices where slots[index].phase == .open && !slots[index].closeScheduled && slots[index].tls == nil {
            let id = ConnectionID(slot: UInt32(index), generation: slots[index].generation)
            connections.append(HandedOverConnection(id: id, fd: slots[index].fd, pendingOutput: slots[index].queue.pendingBytes()))
        }
        return (connections, listeners.compactMap { $0?.fd })
    }

    /// The listeners' descriptors by `ListenerID`, for naming the control listener.
    public func listenerDescriptor(_ listener: ListenerID) -> Int32? {
        listeners.indices.contains(listener.index) ? listeners[listener.index]?.fd : nil
    }

    /// A live connection's descriptor (a control connection a successor answers).
    public func descriptor(_ connection: ConnectionID) -> Int32? {
        liveSlot(connection).map { slots[$0].fd }
    }
}
