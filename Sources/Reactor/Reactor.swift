import Bytes
import CLinux
import Glibc
import SystemCalls

/// One thread, one epoll instance, every socket and every per-connection buffer.
///
/// The loop: wait for readiness (or the next timer), read into one loop-owned buffer
/// and hand the bytes to the delegate, run due timers, close what was asked to close,
/// then flush every connection that got output this turn with `writev`. `EPOLLOUT` is
/// registered only while a connection's queue is non-empty. Epoll is level-triggered:
/// a connection with more input than one turn's read budget is simply served again on
/// the next turn, after everyone else.
public final class Reactor {
    public struct Configuration: Sendable {
        /// A connection whose unsent output passes this is cut off ("send queue exceeded").
        public var maximumQueuedBytes: Int = 4 << 20
        /// How long a connection asked to close may take to receive its last bytes.
        public var closeTimeoutNanoseconds: UInt64 = 5_000_000_000
        /// How long accepting stays paused after running out of descriptors.
        public var acceptPauseNanoseconds: UInt64 = 250_000_000
        public var readBufferSize: Int = 64 << 10
        public var readsPerWakeup: Int = 4
        public var acceptsPerWakeup: Int = 64
        /// Bytes written to one connection per turn, so one fast reader cannot starve the rest.
        public var writeBytesPerTurn: Int = 256 << 10
        /// Backpressure: a connection whose own unsent output passes this stops being read
        /// until the output drains below a quarter of it, so a peer that sends requests
        /// without reading the answers is slowed down rather than buffered for.
        public var pauseReadingAboveQueuedBytes: Int = 1 << 20
        /// TCP keepalive on accepted sockets: idle seconds, probe interval, probe count,
        /// so a vanished peer is noticed within minutes. Nil leaves the kernel default (off).
        public var keepAlive: (idle: Int32, interval: Int32, count: Int32)? = (60, 10, 6)
        /// TLS records of one turn leave in one send (user-space encryption); off, OpenSSL
        /// writes each record itself, which lets kernel TLS take over where it is available.
        public var tlsBatching = true

        public init() {}
    }

    enum Phase: UInt8 {
        case free
        case open
        /// Asked to close: remaining output is flushed, further input discarded.
        case closing
        /// Output flushed and our side shut down; waiting briefly for the peer's EOF so
        /// that unread input does not turn our close into a reset that destroys the
        /// final messages before the peer reads them.
        case lingering
    }

    struct Slot {
        var fd: Int32 = -1
        var generation: UInt32 = 0
        var phase: Phase = .free
        var flushScheduled = false
        var closeScheduled = false
        var readingPaused = false
        /// On `trimList`: the queue emptied with large storage, given back next turn if
        /// nothing was queued meanwhile.
        var trimScheduled = false
        var interest: UInt32 = 0
        var queue = OutboundQueue()
        var closeReason: CloseReason? = nil
        var closeTimer: TimerID? = nil
        /// The TLS session (`ctls_session`), nil for plaintext (see `Reactor+TLS.swift`).
        var tls: OpaquePointer? = nil
        var tlsEstablished = false
        /// OpenSSL needs the socket writable to go on (a handshake flight, a write retry).
        var tlsWantsOutput = false
        var tlsReadScheduled = false
        /// The length of a record write OpenSSL asked to repeat; 0 when none is pending.
        var tlsRetryLength: Int32 = 0
        /// Records are sent by the kernel: the queue goes out with the plaintext writev.
        var ktlsSend = false
        /// Records are collected per turn and sent with one send (see `Reactor+TLS.swift`).
        var tlsBatched = false
    }

    struct Listener {
        let fd: Int32
        var paused = false
        /// Connections accepted here speak TLS with `tlsServerContext`.
        var secure = false
    }

    enum Token {
        static let kindShift: UInt64 = 62
        static let listener: UInt64 = 1 << 62
        static let signal: UInt64 = 2 << 62
        static let watcher: UInt64 = 3 << 62
        /// Among watchers: one of `watched`, with its generation in bits 32...59.
        static let changeableWatch: UInt64 = 1 << 61
    }

    public let configuration: Configuration
    public weak var delegate: ReactorDelegate?

    let epollFD: Int32
    var signalFD: Int32 = -1
    // The loop's hot state. Unchecked exclusivity: these are touched for every delivery, and
    // the dynamic checks Swift adds to class properties (an access-set insert per touch)
    // cost more than the work itself (measured: over half of the daemon's user-space
    // instructions under load). Safe because the reactor is single-threaded and never holds
    // an access to them across a call that could re-enter: the delegate is called only from
    // the loop, between accesses.
    @exclusivity(unchecked) var slots = SlotTable()
    var freeSlots: [UInt32] = []
    var listeners: [Listener?] = []
    var timers = TimerQueue()
    @exclusivity(unchecked) var flushList: [Int] = []
    @exclusivity(unchecked) var closeList: [Int] = []
    @exclusivity(unchecked) var trimList: [Int] = []
    /// TLS connections with decrypted input waiting inside OpenSSL.
    var tlsReadList: [Int] = []
    /// The certificate and key new TLS handshakes use; replacing it (a reload) leaves
    /// established sessions on the pair they started with.
    public var tlsServerContext: TLSContext?
    /// TLS handshakes begun and not yet finished or failed.
    public internal(set) var tlsHandshakesInProgress = 0
    var running = false
    public internal(set) var connectionCount = 0
    /// Descriptors of the caller's (an eventfd, a client library's socket) whose
    /// readiness runs a handler in the loop.
    var watchers: [() -> Void] = []
    /// Descriptors watched with changing interest and removable (Reactor+Watched.swift).
    var watched: [WatchedDescriptor] = []
    /// The longest turn's work since start (dispatch, timers, closes and flushes; the wait
    /// excluded), and the handler told of any turn that took longer than `longTurnNanoseconds`.
    public private(set) var longestTurnNanoseconds: UInt64 = 0
    public var longTurnNanoseconds: UInt64 = 250_000_000
    public var onLongTurn: ((UInt64) -> Void)?
    /// Called once a turn after its events and timers, before the members' queues are
    /// written: a client library's socket (Redis) gets what the turn gave it before the
    /// turn's fan-out, rather than a turn later on its writable event.
    public var beforeFlush: (() -> Void)?

    let readBuffer: UnsafeMutableRawBufferPointer
    /// One record's plaintext, gathered from a TLS connection's queued frames.
    let tlsBuffer: UnsafeMutableRawPointer
    /// A turn's records for one connection, sent with one send; made with the first session.
    var tlsStaging: UnsafeMutableRawPointer? = nil
    var tlsStagingCapacity: Int {
        let records = configuration.writeBytesPerTurn / Self.tlsRecordBytes + 2
        return configuration.writeBytesPerTurn + Self.tlsRecordBytes + records * 256
    }
    // IOV_MAX: a member that fell behind by a whole turn of broadcasts gets them in one writev.
    let iovecCapacity = Int(CLINUX_IOV_MAX)
    let iovecs: UnsafeMutablePointer<iovec>
    let eventCapacity: Int32 = 256
    let eventMasks: UnsafeMutablePointer<UInt32>
    let eventData: UnsafeMutablePointer<UInt64>

    public init(configuration: Configuration = Configuration()) throws(SystemCallError) {
        self.configuration = configuration
        epollFD = try retryingInterrupts("epoll_create1") { clinux_epoll_create() }
        readBuffer = .allocate(byteCount: configuration.readBufferSize, alignment: 16)
        tlsBuffer = .allocate(byteCount: Self.tlsRecordBytes, alignment: 16)
        iovecs = .allocate(capacity: iovecCapacity)
        eventMasks = .allocate(capacity: Int(eventCapacity))
        eventData = .allocate(capacity: Int(eventCapacity))
    }

    deinit {
        for index in slots.indices {
            if slots[index].phase != .free { closeDescriptor(slots[index].fd) }
            endTLS(index)
            slots[index].queue.removeAll()
        }
        slots.deallocate()
        for listener in listeners { if let listener { closeDescriptor(listener.fd) } }
        if signalFD >= 0 { closeDescriptor(signalFD) }
        closeDescriptor(epollFD)
        readBuffer.deallocate()
        tlsBuffer.deallocate()
        tlsStaging?.deallocate()
        iovecs.deallocate()
        eventMasks.deallocate()
        eventData.deallocate()
    }

    // MARK: Setup

    /// Starts accepting on a listening socket we now own (bound here or inherited).
    /// With `secure`, its connections speak TLS with `tlsServerContext` (which must be set).
    @discardableResult
    public func addListener(fd: Int32, secure: Bool = false) throws(SystemCallError) -> ListenerID {
        try Socket.setNonBlocking(fd)
        let index = listeners.count
        try control(EPOLL_CTL_ADD, fd, CLINUX_EPOLLIN, Token.listener | UInt64(index))
        listeners.append(Listener(fd: fd, secure: secure))
        return ListenerID(index: index)
    }

    /// Closes every listener: no new connections, existing ones carry on.
    public func stopAccepting() {
        for index in listeners.indices {
            if let listener = listeners[index] { closeDescriptor(listener.fd) }
            listeners[index] = nil
        }
    }

    /// Delivers these signals through the loop (signalfd) instead of asynchronous
    /// handlers. Must be called before any other thread exists, so that no thread is
    /// left with the signals unblocked.
    public func handleSignals(_ signals: [Int32]) throws(SystemCallError) {
        _ = try retryingInterrupts("sigprocmask") { signals.withUnsafeBufferPointer { clinux_block_signals($0.baseAddress, Int32($0.count)) } }
        signalFD = try retryingInterrupts("signalfd") { signals.withUnsafeBufferPointer { clinux_signalfd_for($0.baseAddress, Int32($0.count)) } }
        try control(EPOLL_CTL_ADD, signalFD, CLINUX_EPOLLIN, Token.signal)
    }

    // MARK: Timers

    @discardableResult
    public func schedule(afterNanoseconds delay: UInt64, _ action: @escaping () -> Void) -> TimerID {
        timers.schedule(at: MonotonicClock.now() + delay, action)
    }

    public func cancel(_ timer: TimerID) { timers.cancel(timer) }

    /// Timers scheduled and not yet fired or cancelled: a leak check for soak runs.
    public var pendingTimerCount: Int { timers.count }

    // MARK: Connections

    /// Queues `bytes` for the connection; nothing is copied. Ignored for a connection that
    /// is gone or closing (output after a close request is dropped by design).
    public func send(_ bytes: SharedBytes, to connection: ConnectionID) {
        guard let index = openSlot(connection) else { return }
        slots[index].queue.append(bytes)
        let queued = slots[index].queue.queuedBytes
        // The bound is enforced after this turn's writev (see `flush`), so a burst that a
        // fast reader takes at once does not cut it off. Twice the bound is the hard stop
        // that keeps memory bounded even within one turn.
        if queued > 2 * configuration.maximumQueuedBytes {
            abort(index, .sendQueueExceeded(queuedBytes: queued, limit: configuration.maximumQueuedBytes))
            return
        }
        if queued > configuration.pauseReadingAboveQueuedBytes && !slots[index].readingPaused {
            slots[index].readingPaused = true
            updateInterest(index)
        }
        scheduleFlush(index)
    }

    /// Closes the connection once everything queued for it has been sent (bounded by
    /// the close timeout). Later sends to it are dropped.
    public func close(_ connection: ConnectionID, reason: String) {
        guard let index = openSlot(connection) else { return }
        slots[index].phase = .closing
        slots[index].closeReason = .requested(reason)
        slots[index].closeTimer = timers.schedule(at: MonotonicClock.now() + configuration.closeTimeoutNanoseconds) { [weak self] in
            self?.closeTimedOut(connection)
        }
        scheduleFlush(index)
    }

    /// Refuses a connection cheaply: one non-blocking attempt to write `notice` (a fresh
    /// socket's buffer takes a short frame whole), then the descriptor is closed at the end
    /// of the turn, with no flush and no lingering for the peer's EOF. For connections
    /// refused at a limit, which must not hold descriptors the limit is protecting.
    public func refuse(_ connection: ConnectionID, notice: SharedBytes, reason: String) {
        guard let index = openSlot(connection) else { return }
        let fd = slots[index].fd
        // A TLS peer could not read a plaintext notice, and a handshake costs more than the refusal protects.
        if slots[index].tls == nil { _ = notice.withUnsafeBytes { bytes in
            SystemCall.retryingInterrupts { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        } }
        // Closing with unread input sends a reset, which can destroy the notice before the
        // peer reads it: take what has already arrived (a greeting, typically) first.
        _ = SystemCall.retryingInterrupts { Glibc.recv(fd, readBuffer.baseAddress, readBuffer.count, Int32(MSG_DONTWAIT)) }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        abort(index, .requested(reason))
    }

    /// Drops every connection at once, without flushing: the last step of a shutdown
    /// whose grace period ran out.
    public func abortAll(reason: String) {
        for index in slots.indices where slots[index].phase != .free {
            abort(index, .closeTimedOut(reason))
        }
    }

    /// The peer's process credentials on a Unix-domain connection (`SO_PEERCRED`).
    public func peerCredentials(_ connection: ConnectionID) -> (pid: Int32, uid: UInt32, gid: UInt32)? {
        guard let index = liveSlot(connection) else { return nil }
        return Socket.peerCredentials(slots[index].fd)
    }

    public func queuedBytes(_ connection: ConnectionID) -> Int {
        guard let index = liveSlot(connection) else { return 0 }
        return slots[index].queue.queuedBytes
    }

    /// Runs `handler` in the loop whenever `fd` is readable (level-triggered: the handler
    /// must drain it). The descriptor stays the caller's to close.
    public func watchReadable(fd: Int32, _ handler: @escaping () -> Void) throws(SystemCallError) {
        try control(EPOLL_CTL_ADD, fd, CLINUX_EPOLLIN, Token.watcher | UInt64(watchers.count))
        watchers.append(handler)
    }

    // MARK: The loop

    public func run() {
        running = true
        while running { runOnce() }
    }

    /// Makes `run()` return after the current turn.
    public func stop() { running = false }

    /// One turn: wait, dispatch, timers, closes, flushes.
    public func runOnce(maximumWaitNanoseconds: UInt64? = nil) {
        let ready = waitForEvents(maximumWaitNanoseconds: maximumWaitNanoseconds)
        let started = MonotonicClock.now()
        for i in 0..<ready {
            dispatch(mask: eventMasks[i], token: eventData[i])
        }
        if !tlsReadList.isEmpty { runScheduledTLSReads() }
        let now = MonotonicClock.now()
        while let action = timers.popDue(now: now) { action() }
        finishTurn()
        let took = MonotonicClock.now() - started
        if took > longestTurnNanoseconds { longestTurnNanoseconds = took }
        if took > longTurnNanoseconds { onLongTurn?(took) }
    }

    func waitForEvents(maximumWaitNanoseconds: UInt64?) -> Int {
        var timeout: Int32 = -1
        if !flushList.isEmpty || !closeList.isEmpty || !tlsReadList.isEmpty {
            timeout = 0
        } else {
            var wait = maximumWaitNanoseconds
            if let deadline = timers.nextDeadline() {
                let now = MonotonicClock.now()
                let untilTimer = deadline > now ? deadline - now : 0
                wait = min(wait ?? untilTimer, untilTimer)
            }
            if let wait {
                // Round up: waking a little late is harmless, waking early spins.
                timeout = Int32(min((wait + 999_999) / 1_000_000, UInt64(Int32.max)))
            }
        }
        let count = clinux_epoll_wait(epollFD, eventMasks, eventData, eventCapacity, timeout)
        return count < 0 ? 0 : Int(count)  // EINTR: just another turn
    }

    func dispatch(mask: UInt32, token: UInt64) {
        switch token >> Token.kindShift {
        case 0:
            let id = ConnectionID(rawValue: token)
            guard let index = liveSlot(id) else { return }  // closed earlier in this batch
            if mask & (CLINUX_EPOLLIN | CLINUX_EPOLLHUP | CLINUX_EPOLLERR | CLINUX_EPOLLRDHUP) != 0 {
                readable(index, id)
            }
            if mask & (CLINUX_EPOLLOUT | CLINUX_EPOLLERR | CLINUX_EPOLLHUP) != 0, liveSlot(id) != nil {
                flush(index)
            }
        case 1:
            acceptConnections(on: Int(token & 0xFFFF_FFFF))
        case 2:
            drainSignals()
        default:
            if token & Token.changeableWatch != 0 { return dispatchWatched(mask: mask, token: token) }
            watchers[Int(token & 0xFFFF_FFFF)]()
        }
    }

    func finishTurn() {
        beforeFlush?()
        // Queues that emptied last turn with large storage and got nothing since: a
        // connection that is busy every turn keeps its ring, an idle one costs little.
        if !trimList.isEmpty {
            for index in trimList {
                slots[index].trimScheduled = false
                slots[index].queue.releaseStorageIfEmpty()
            }
            trimList.removeAll(keepingCapacity: true)
        }
        // Closing and flushing can produce more of each (a write error ends a member,
        // whose leave is broadcast), so repeat until both lists are empty.
        while !flushList.isEmpty || !closeList.isEmpty {
            var i = 0
            while i < closeList.count {
                let index = closeList[i]
                if slots[index].closeScheduled, let reason = slots[index].closeReason {
                    destroy(index, reason)
                }
                i += 1
            }
            closeList.removeAll(keepingCapacity: true)
            i = 0
            while i < flushList.count {
                let index = flushList[i]
                slots[index].flushScheduled = false
                flush(index)
                i += 1
            }
            flushList.removeAll(keepingCapacity: true)
        }
        // Members closed in this loop were announced to the other nodes after the first call.
        beforeFlush?()
    }

    // MARK: Signals

    func drainSignals() {
        while true {
            let signal = clinux_signalfd_read(signalFD)
            guard signal > 0 else { return }
            delegate?.reactor(self, received: signal)
        }
    }

    // MARK: Helpers

    @inline(__always)
    func liveSlot(_ id: ConnectionID) -> Int? {
        let index = id.slot
        guard index < slots.count, slots[index].generation == id.generation, slots[index].phase != .free else { return nil }
        return index
    }

    @inline(__always)
    func openSlot(_ id: ConnectionID) -> Int? {
        guard let index = liveSlot(id), slots[index].phase == .open, !slots[index].closeScheduled else { return nil }
        return index
    }

    func control(_ operation: Int32, _ fd: Int32, _ events: UInt32, _ data: UInt64) throws(SystemCallError) {
        _ = try retryingInterrupts("epoll_ctl") { clinux_epoll_ctl(epollFD, operation, fd, events, data) }
    }
}
