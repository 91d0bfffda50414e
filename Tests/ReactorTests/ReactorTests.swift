import Bytes
import CLinux
import Glibc
import Reactor
import SystemCalls
import Testing

/// Records what the reactor reports, and drives it until a condition holds.
final class Recorder: ReactorDelegate {
    var accepted: [ConnectionID] = []
    var received: [ConnectionID: [UInt8]] = [:]
    var closed: [(ConnectionID, CloseReason)] = []
    var signals: [Int32] = []
    var onReceive: ((Reactor, ConnectionID, [UInt8]) -> Void)?

    func reactor(_ reactor: Reactor, accepted connection: ConnectionID, from peer: SocketAddress?, on listener: ListenerID) {
        accepted.append(connection)
    }
    func reactor(_ reactor: Reactor, received bytes: UnsafeRawBufferPointer, on connection: ConnectionID) {
        received[connection, default: []].append(contentsOf: bytes)
        onReceive?(reactor, connection, Array(bytes))
    }
    func reactor(_ reactor: Reactor, closed connection: ConnectionID, because reason: CloseReason) {
        closed.append((connection, reason))
    }
    func reactor(_ reactor: Reactor, received signal: Int32) { signals.append(signal) }
    func reactor(_ reactor: Reactor, pausedAccepting listener: ListenerID, because error: SystemCallError) {}
}

struct Fixture {
    let reactor: Reactor
    let recorder = Recorder()
    let port: UInt16

    init(configuration: Reactor.Configuration = Reactor.Configuration()) throws {
        reactor = try Reactor(configuration: configuration)
        reactor.delegate = recorder
        let fd = try Socket.listen(on: SocketAddress.ipv4("127.0.0.1", port: 0)!)
        try reactor.addListener(fd: fd)
        port = try Socket.localAddress(fd).port
    }

    /// Turns the loop until `condition` holds; fails after `timeout` seconds.
    func pump(until description: String, timeout: Double = 5, _ condition: () -> Bool) throws {
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        while !condition() {
            guard MonotonicClock.now() < deadline else { throw PumpTimeout(description: description) }
            reactor.runOnce(maximumWaitNanoseconds: 10_000_000)
        }
    }

    /// A non-blocking client connected to the fixture and accepted by the reactor.
    func connect() throws -> (fd: Int32, id: ConnectionID) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(result == 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let before = recorder.accepted.count
        try pump(until: "accept") { recorder.accepted.count > before }
        return (fd, recorder.accepted.last!)
    }
}

struct PumpTimeout: Error { let description: String }

/// Reads whatever is available without blocking; nil at EOF.
func readAvailable(_ fd: Int32) -> [UInt8]? {
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    if n == 0 { return nil }
    if n < 0 { return [] }
    return Array(buffer[..<n])
}

@Suite("Reactor")
struct ReactorTests {
    @Test func receivedBytes_reachTheDelegate_andSentBytesReachThePeer() throws {
        let fixture = try Fixture()
        fixture.recorder.onReceive = { reactor, id, bytes in reactor.send(SharedBytes.copying(bytes.reversed()), to: id) }
        let (fd, id) = try fixture.connect()
        defer { close(fd) }
        _ = send(fd, "hello", 5, 0)
        var echoed: [UInt8] = []
        try fixture.pump(until: "echo") {
            echoed += readAvailable(fd) ?? []
            return echoed.count == 5
        }
        #expect(fixture.recorder.received[id] == Array("hello".utf8))
        #expect(echoed == Array("olleh".utf8))
    }

    @Test func oneSharedFrame_isDeliveredToEveryConnection() throws {
        let fixture = try Fixture()
        let clients = try (0..<3).map { _ in try fixture.connect() }
        defer { clients.forEach { close($0.fd) } }
        let frame = SharedBytes.copying(Array("broadcast".utf8))
        for client in clients { fixture.reactor.send(frame, to: client.id) }
        var got = Array(repeating: [UInt8](), count: 3)
        try fixture.pump(until: "all delivered") {
            for i in 0..<3 { got[i] += readAvailable(clients[i].fd) ?? [] }
            return got.allSatisfy { $0.count == 9 }
        }
        #expect(got.allSatisfy { $0 == Array("broadcast".utf8) })
    }

    @Test func close_flushesEverythingQueuedFirst_thenTheConnectionEnds() throws {
        let fixture = try Fixture()
        let (fd, id) = try fixture.connect()
        defer { close(fd) }
        let big = SharedBytes.make(count: 1 << 20) { buffer in
            for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i) }
        }
        fixture.reactor.send(big, to: id)
        fixture.reactor.close(id, reason: "done")
        fixture.reactor.send(SharedBytes.copying([1, 2, 3]), to: id)  // after close: dropped
        var got: [UInt8] = []
        var sawEOF = false
        try fixture.pump(until: "EOF after all bytes") {
            if let bytes = readAvailable(fd) { got += bytes } else { sawEOF = true }
            return sawEOF
        }
        #expect(got.count == 1 << 20)
        #expect(got == big.array)
        close(fd)
        try fixture.pump(until: "closed reported") { !fixture.recorder.closed.isEmpty }
        guard case .requested("done") = fixture.recorder.closed[0].1 else {
            Issue.record("unexpected reason \(fixture.recorder.closed[0].1)")
            return
        }
    }

    @Test func peerThatStopsReading_isCutOffAtTheQueueBound() throws {
        var configuration = Reactor.Configuration()
        configuration.maximumQueuedBytes = 256 << 10
        let fixture = try Fixture(configuration: configuration)
        let (fd, id) = try fixture.connect()
        defer { close(fd) }
        let chunk = SharedBytes.make(count: 64 << 10) { $0.initializeMemory(as: UInt8.self, repeating: 7) }
        try fixture.pump(until: "cut off") {
            fixture.reactor.send(chunk, to: id)
            return !fixture.recorder.closed.isEmpty
        }
        guard case let .sendQueueExceeded(queued, limit) = fixture.recorder.closed[0].1 else {
            Issue.record("unexpected reason \(fixture.recorder.closed[0].1)")
            return
        }
        #expect(limit == 256 << 10)
        #expect(queued > limit)
        #expect(fixture.reactor.connectionCount == 0)
    }

    @Test func peerThatSendsButDoesNotRead_isPausedInsteadOfBuffered() throws {
        var configuration = Reactor.Configuration()
        configuration.maximumQueuedBytes = 4 << 20
        configuration.pauseReadingAboveQueuedBytes = 256 << 10
        let fixture = try Fixture(configuration: configuration)
        // An echo service that answers every byte with 64 bytes: the output outgrows the input.
        let reply = SharedBytes.make(count: 64 << 10) { $0.initializeMemory(as: UInt8.self, repeating: 1) }
        fixture.recorder.onReceive = { reactor, id, bytes in
            for _ in 0..<max(bytes.count / 1024, 1) { reactor.send(reply, to: id) }
        }
        let (fd, id) = try fixture.connect()
        defer { close(fd) }
        let chunk = [UInt8](repeating: 7, count: 16 << 10)
        var sent = 0
        // Keep writing (never reading) until the kernel's buffers are full both ways:
        // the reactor must have stopped reading us, not grown its queue without bound.
        try fixture.pump(until: "the peer's writes block", timeout: 10) {
            let n = chunk.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { sent += n }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }
        for _ in 0..<20 { fixture.reactor.runOnce(maximumWaitNanoseconds: 5_000_000) }
        #expect(fixture.recorder.closed.isEmpty, "paused, not disconnected")
        #expect(fixture.reactor.queuedBytes(id) < configuration.maximumQueuedBytes)
        #expect((fixture.recorder.received[id]?.count ?? 0) < sent, "part of the input is still unread in the kernel")
    }

    @Test func peerEOF_isReportedOnce_asPeerClosed() throws {
        let fixture = try Fixture()
        let (fd, id) = try fixture.connect()
        close(fd)
        try fixture.pump(until: "closed") { !fixture.recorder.closed.isEmpty }
        #expect(fixture.recorder.closed.count == 1)
        #expect(fixture.recorder.closed[0].0 == id)
        guard case .peerClosed = fixture.recorder.closed[0].1 else {
            Issue.record("unexpected reason \(fixture.recorder.closed[0].1)")
            return
        }
    }

    @Test func staleConnectionID_neverReachesTheSlotsNextOwner() throws {
        let fixture = try Fixture()
        let (first, oldID) = try fixture.connect()
        close(first)
        try fixture.pump(until: "first closed") { fixture.recorder.closed.count == 1 }
        let (second, newID) = try fixture.connect()
        defer { close(second) }
        #expect(oldID != newID)
        fixture.reactor.send(SharedBytes.copying(Array("stale".utf8)), to: oldID)
        fixture.reactor.send(SharedBytes.copying(Array("fresh".utf8)), to: newID)
        var got: [UInt8] = []
        try fixture.pump(until: "fresh delivered") {
            got += readAvailable(second) ?? []
            return got.count >= 5
        }
        #expect(got == Array("fresh".utf8))
    }

    @Test func timers_fireInDeadlineOrder_andCancelledOnesNever() throws {
        let fixture = try Fixture()
        var fired: [String] = []
        fixture.reactor.schedule(afterNanoseconds: 30_000_000) { fired.append("late") }
        fixture.reactor.schedule(afterNanoseconds: 1_000_000) { fired.append("early") }
        let cancelled = fixture.reactor.schedule(afterNanoseconds: 2_000_000) { fired.append("cancelled") }
        fixture.reactor.cancel(cancelled)
        try fixture.pump(until: "both fired") { fired.count == 2 }
        #expect(fired == ["early", "late"])
    }

    @Test func signals_arriveAsLoopEvents() throws {
        let fixture = try Fixture()
        try fixture.reactor.handleSignals([SIGUSR2])
        defer {
            var signal = SIGUSR2
            _ = clinux_unblock_signals(&signal, 1)
        }
        raise(SIGUSR2)
        try fixture.pump(until: "signal") { !fixture.recorder.signals.isEmpty }
        #expect(fixture.recorder.signals == [SIGUSR2])
    }
}
