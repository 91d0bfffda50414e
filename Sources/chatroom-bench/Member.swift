import ChatProtocol
import Reactor

/// One connection the bench drives through its reactor: a room member that reads.
final class Member {
    /// Position in its scenario (receiver number for the sequence tables).
    let index: Int
    let nick: String
    /// This member's number as a sender in chat lines, or -1 if it only listens.
    let senderIndex: Int
    var connection = ConnectionID(rawValue: 0)
    var decoder = FrameDecoder()
    var isOpen = false
    /// "Connected to the server" received.
    var hasJoined = false
    var joinNotices = 0
    /// Next sequence number this member sends.
    var nextSequence: UInt64 = 0
    /// Churn: which cycle this member is on and when it began.
    var cycle = 0
    var cycleStartedAt: UInt64 = 0
    /// Churn: "!DC" sent; the server's close that follows ends the cycle.
    var leaving = false

    init(index: Int, nick: String, senderIndex: Int = -1) {
        self.index = index
        self.nick = nick
        self.senderIndex = senderIndex
    }
}

/// Per (receiver, sender) pair: the next sequence number expected and how many lines
/// arrived. Flat, preallocated; the receive path indexes it directly.
final class SequenceTable {
    let receivers: Int
    let senders: Int
    let expected: UnsafeMutablePointer<UInt64>
    let received: UnsafeMutablePointer<UInt64>

    init(receivers: Int, senders: Int) {
        self.receivers = receivers
        self.senders = senders
        let count = max(1, receivers * senders)
        expected = .allocate(capacity: count)
        expected.initialize(repeating: 0, count: count)
        received = .allocate(capacity: count)
        received.initialize(repeating: 0, count: count)
    }

    deinit {
        expected.deallocate()
        received.deallocate()
    }

    /// Compares what each receiver got from each sender with what that sender sent.
    func audit(sent: [UInt64]) -> (lost: UInt64, duplicated: UInt64) {
        var lost: UInt64 = 0
        var duplicated: UInt64 = 0
        for receiver in 0..<receivers {
            for sender in 0..<senders {
                let got = received[receiver * senders + sender]
                let expectedCount = sent[sender]
                if got < expectedCount { lost += expectedCount - got } else { duplicated += got - expectedCount }
            }
        }
        return (lost, duplicated)
    }
}
