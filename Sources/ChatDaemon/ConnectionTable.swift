import ChatCore
import ChatProtocol
import Reactor

/// The chat connections the daemon holds: each one's frame decoder and address, and the
/// per-address and total counts behind `max-connections` and `max-connections-per-address`.
///
/// A connection counts from accept until its socket is really gone: one the Room closed
/// may linger (flushing, then waiting for the peer's EOF) and still holds its place, so a
/// client cannot exceed its limit by getting itself closed over and over.
struct ConnectionTable {
    /// Per connection: a class, so the decoder can be fed in place while the frames it
    /// yields change the table.
    final class Session {
        var decoder: FrameDecoder
        let address: IPAddress
        init(maximumFrameLength: Int, address: IPAddress) {
            decoder = FrameDecoder(maximumPayloadLength: maximumFrameLength)
            self.address = address
        }
    }

    var limits: ConnectionLimits
    private var sessions: [ConnectionID: Session] = [:]
    /// Connections the Room is done with whose sockets are still lingering.
    private var closing: [ConnectionID: IPAddress] = [:]

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// Admits a new connection within the limits, or says which limit refused it.
    mutating func open(_ connection: ConnectionID, address: IPAddress, maximumFrameLength: Int, now: UInt64 = 0) -> ConnectionLimits.Verdict {
        let verdict = limits.admit(address, now: now)
        if verdict == .admitted { sessions[connection] = Session(maximumFrameLength: maximumFrameLength, address: address) }
        return verdict
    }

    /// A connection handed over by a predecessor process: it was admitted there, so it is
    /// counted here whatever the limits say now.
    mutating func adopt(_ connection: ConnectionID, address: IPAddress, maximumFrameLength: Int) {
        limits.count(address)
        sessions[connection] = Session(maximumFrameLength: maximumFrameLength, address: address)
    }

    /// The live session of a connection the Room still serves.
    func session(_ connection: ConnectionID) -> Session? { sessions[connection] }

    /// The Room closed it: no more frames are decoded, but it counts until the socket goes.
    mutating func stopServing(_ connection: ConnectionID) {
        if let session = sessions.removeValue(forKey: connection) { closing[connection] = session.address }
    }

    /// The socket is gone: its place is free again.
    mutating func socketClosed(_ connection: ConnectionID) {
        if let session = sessions.removeValue(forKey: connection) {
            limits.release(session.address)
        } else if let address = closing.removeValue(forKey: connection) {
            limits.release(address)
        }
    }

    var servingCount: Int { sessions.count }
    var lingeringCount: Int { closing.count }
}
