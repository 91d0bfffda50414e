import ChatCore
import Reactor

/// TLS handshakes in progress, per host and in all. A handshake costs the server an
/// asymmetric signature (about a millisecond of CPU), far more than accepting plaintext,
/// so a host that opens connections and never finishes them may hold only a few.
struct TLSHandshakes {
    var maximumPerAddress: Int
    var maximumTotal: Int
    private var perHost: [ConnectionLimits.Key: Int] = [:]
    /// Each handshaking connection's host and peer text (for the log line of a failure).
    private var inProgress: [ConnectionID: (host: ConnectionLimits.Key, peer: String)] = [:]

    init(maximumPerAddress: Int, maximumTotal: Int) {
        self.maximumPerAddress = maximumPerAddress
        self.maximumTotal = maximumTotal
    }

    var count: Int { inProgress.count }

    /// Counts a new handshake, or says no when its host or the server is at the cap.
    mutating func begin(_ connection: ConnectionID, host: ConnectionLimits.Key, peer: String) -> Bool {
        guard inProgress.count < maximumTotal, perHost[host, default: 0] < maximumPerAddress else { return false }
        perHost[host, default: 0] += 1
        inProgress[connection] = (host, peer)
        return true
    }

    /// The handshake finished or the connection went; returns its peer if it was counted.
    @discardableResult
    mutating func end(_ connection: ConnectionID) -> String? {
        guard let entry = inProgress.removeValue(forKey: connection) else { return nil }
        if let count = perHost[entry.host], count > 1 { perHost[entry.host] = count - 1 } else { perHost[entry.host] = nil }
        return entry.peer
    }
}
