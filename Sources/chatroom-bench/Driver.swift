import Bytes
import ChatProtocol
import Glibc
import Reactor
import SystemCalls

/// What a scenario hears from the driver, always from inside the reactor loop.
protocol DriverEvents: AnyObject {
    /// The member received "Connected to the server".
    func joined(_ member: Member, now: UInt64)
    /// The member received `count` of its own chat lines back.
    func echoed(_ member: Member, count: Int, now: UInt64)
    func closed(_ member: Member, reason: CloseReason, now: UInt64)
}

/// Drives many members over one reactor: connects them, decodes what the server sends,
/// and accounts for every chat delivery (latency, sequence, count) on the way.
///
/// The receive path takes one clock reading per read (every frame in a read arrived
/// together), decodes frames in place, parses the numbers straight from the bytes and
/// updates preallocated tables; nothing is allocated per delivery.
final class Driver: ReactorDelegate {
    let reactor: Reactor
    let connector: Connector
    weak var events: DriverEvents?
    private var bySlot: [Member?] = []

    /// Sequence checks per (receiver, sender); nil when the scenario does not track them.
    var sequences: SequenceTable?
    let histogram = LatencyHistogram()
    /// Latencies and window deliveries are recorded only while this is set.
    var measuring = false

    private(set) var chatDeliveries: UInt64 = 0
    private(set) var windowDeliveries: UInt64 = 0
    private(set) var outOfOrder: UInt64 = 0
    private(set) var untracked: UInt64 = 0
    private(set) var joinNotices = 0
    private(set) var leaveNotices = 0
    private(set) var otherFrames = 0
    private(set) var historyFrames = 0
    /// Lines the server refused under flood control ("sending messages too fast").
    private(set) var refusedLines = 0
    private(set) var logins = 0
    private(set) var promotionNotices = 0
    private(set) var joinedCount = 0
    private(set) var firstOtherText: String?
    private(set) var unexpectedCloses = 0
    private(set) var firstUnexpectedClose: String?
    private(set) var protocolErrors = 0
    /// Set when a member's close is part of the plan (churn), so it is not a failure.
    var closesExpected = false

    init(connector: Connector) throws(BenchError) {
        var configuration = Reactor.Configuration()
        configuration.maximumQueuedBytes = 64 << 20
        do {
            reactor = try Reactor(configuration: configuration)
        } catch {
            throw BenchError("cannot create the bench's reactor: \(error)")
        }
        self.connector = connector
        reactor.delegate = self
    }

    // MARK: Connections

    /// Connects (blocking, on loopback), adopts the socket and sends the join frame.
    func connect(_ member: Member, ordinal: Int) throws(BenchError) {
        let fd = try connector.connect(ordinal: ordinal)
        let id: ConnectionID
        do {
            id = try reactor.adoptConnection(fd: fd, tls: BenchTLS.client)
        } catch {
            _ = close(fd)
            throw BenchError("adopting a connection: \(error)")
        }
        member.connection = id
        member.isOpen = true
        member.hasJoined = false
        member.decoder = FrameDecoder()
        let slot = Self.slot(id)
        while bySlot.count <= slot { bySlot.append(nil) }
        bySlot[slot] = member
        reactor.send(BenchMessage.join(nick: member.nick), to: id)
    }

    func send(_ frame: SharedBytes, from member: Member) {
        reactor.send(frame, to: member.connection)
    }

    /// Sends the member's next chat line, stamped now.
    func sendChat(from member: Member, padding: Int, now: UInt64) {
        let frame = BenchMessage.frame(sender: member.senderIndex, sequence: member.nextSequence, sentAt: now, padding: padding)
        member.nextSequence += 1
        reactor.send(frame, to: member.connection)
    }

    func leave(_ member: Member) {
        reactor.send(BenchMessage.leave(), to: member.connection)
    }

    private var turns = 0

    /// One turn of the loop, waiting at most 1 ms for something to happen. Every 64 turns
    /// it looks for SIGINT, SIGTERM or SIGHUP (blocked, see `Interruption`) and throws if
    /// one came, so that the run ends and its daemon is stopped.
    func turn() throws(BenchError) {
        reactor.runOnce(maximumWaitNanoseconds: 1_000_000)
        turns &+= 1
        if turns & 63 == 0 { try Interruption.check() }
    }

    /// Turns the loop until `done` says so or the deadline passes; false on timeout.
    func run(until deadline: UInt64, _ done: () -> Bool) throws(BenchError) -> Bool {
        while true {
            if done() { return true }
            if MonotonicClock.now() >= deadline { return false }
            try turn()
        }
    }

    /// Connects and joins `members` with at most `concurrency` joins unanswered at a time
    /// (well below the server's listen backlog, so no SYN is ever dropped), then waits
    /// until every member has received every join notice it is owed: `expectedNotices`.
    func join(_ members: [Member], firstOrdinal: Int = 0, concurrency: Int, expectedNotices: Int,
              deadline: UInt64) throws(BenchError) {
        let startJoined = joinedCount
        var next = 0
        while true {
            while next < members.count && next - (joinedCount - startJoined) < concurrency {
                try connect(members[next], ordinal: firstOrdinal + next)
                next += 1
            }
            if unexpectedCloses > 0 { throw BenchError("a member was disconnected while joining: \(firstUnexpectedClose ?? "?")") }
            if next == members.count && joinedCount - startJoined == members.count && joinNotices >= expectedNotices { return }
            if MonotonicClock.now() >= deadline {
                throw BenchError("""
                    joining timed out: \(joinedCount - startJoined) of \(members.count) joined, \
                    \(joinNotices) of \(expectedNotices) join notices delivered
                    """)
            }
            try turn()
        }
    }

    func resetWindow() {
        windowDeliveries = 0
        histogram.reset()
    }

    /// Closes every connection without waiting for anything.
    func closeAll() {
        reactor.abortAll(reason: "bench finished")
        reactor.runOnce(maximumWaitNanoseconds: 0)
    }

    // MARK: ReactorDelegate

    @inline(__always)
    private static func slot(_ id: ConnectionID) -> Int { Int(truncatingIfNeeded: id.rawValue & 0xFFFF_FFFF) }

    func reactor(_ reactor: Reactor, accepted connection: ConnectionID, from peer: SocketAddress?, on listener: ListenerID) {}

    func reactor(_ reactor: Reactor, received bytes: UnsafeRawBufferPointer, on connection: ConnectionID) {
        let slot = Self.slot(connection)
        guard slot < bySlot.count, let member = bySlot[slot], member.connection == connection else { return }
        let now = MonotonicClock.now()
        var batch = ReadBatch()
        let counts: UnsafeMutablePointer<UInt64>? = measuring ? histogram.counts : nil
        let receiver = member.index
        let own = UInt64(bitPattern: Int64(member.senderIndex))
        let table = sequences
        let expected = table?.expected
        let received = table?.received
        let senders = table?.senders ?? 0
        let receivers = table?.receivers ?? 0
        do {
            try member.decoder.feed(bytes) { payload in
                switch ServerFrame.classify(payload) {
                case let .chat(sender, sequence, sentAt):
                    batch.chat &+= 1
                    if sender == own { batch.echoes += 1 }
                    if let expected, let received, sender < UInt64(senders), receiver < receivers {
                        let cell = receiver * senders + Int(truncatingIfNeeded: sender)
                        if sequence != expected[cell] { batch.outOfOrder &+= 1 }
                        expected[cell] = sequence &+ 1
                        received[cell] &+= 1
                    } else {
                        batch.untracked &+= 1
                    }
                    if let counts {
                        let latency = now > sentAt ? now - sentAt : 0
                        counts[LatencyHistogram.bucket(latency)] &+= 1
                        if latency > batch.maxLatency { batch.maxLatency = latency }
                        if latency < batch.minLatency { batch.minLatency = latency }
                    }
                case .joined:
                    batch.joins += 1
                case .left:
                    batch.leaves += 1
                case .history:
                    batch.history += 1
                case .refused:
                    batch.refused += 1
                case .loggedIn:
                    batch.loggedIn += 1
                case .promoted:
                    batch.promoted += 1
                case .connected:
                    batch.connected = true
                case .other:
                    batch.other += 1
                    if batch.otherText == nil { batch.otherText = String(decoding: payload, as: UTF8.self) }
                }
                return true
            }
        } catch {
            protocolErrors += 1
            noteUnexpected("\(member.nick): undecodable frame from the server: \(error)")
            reactor.close(connection, reason: "bad frame")
        }
        chatDeliveries &+= batch.chat
        outOfOrder &+= batch.outOfOrder
        untracked &+= batch.untracked
        if counts != nil {
            windowDeliveries &+= batch.chat
            if batch.chat > 0 { histogram.noteExtremes(minimum: batch.minLatency, maximum: batch.maxLatency) }
        }
        joinNotices += batch.joins
        member.joinNotices += batch.joins
        leaveNotices += batch.leaves
        historyFrames += batch.history
        refusedLines += batch.refused
        logins += batch.loggedIn
        promotionNotices += batch.promoted
        if batch.other > 0 {
            otherFrames += batch.other
            if firstOtherText == nil { firstOtherText = "\(member.nick) got: \(batch.otherText ?? "")" }
        }
        if batch.connected && !member.hasJoined {
            member.hasJoined = true
            joinedCount += 1
            events?.joined(member, now: now)
        }
        if batch.echoes > 0 { events?.echoed(member, count: batch.echoes, now: now) }
    }

    func reactor(_ reactor: Reactor, closed connection: ConnectionID, because reason: CloseReason) {
        let slot = Self.slot(connection)
        guard slot < bySlot.count, let member = bySlot[slot], member.connection == connection else { return }
        bySlot[slot] = nil
        member.isOpen = false
        if !closesExpected { noteUnexpected("\(member.nick) was disconnected: \(reason)\(firstOtherText.map { " (\($0))" } ?? "")") }
        events?.closed(member, reason: reason, now: MonotonicClock.now())
    }

    func reactor(_ reactor: Reactor, received signal: Int32) {}
    func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError) {}

    private func noteUnexpected(_ text: String) {
        unexpectedCloses += 1
        if firstUnexpectedClose == nil { firstUnexpectedClose = text }
    }
}

/// What one read held, gathered in locals and folded into the driver once per read.
struct ReadBatch {
    var chat: UInt64 = 0
    var outOfOrder: UInt64 = 0
    var untracked: UInt64 = 0
    var echoes = 0
    var joins = 0
    var leaves = 0
    var history = 0
    var refused = 0
    var loggedIn = 0
    var promoted = 0
    var other = 0
    var connected = false
    var maxLatency: UInt64 = 0
    var minLatency: UInt64 = .max
    var otherText: String?
}
