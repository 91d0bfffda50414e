import CHiredis
import CLinux
import Glibc
import Reactor
import SystemCalls

/// One hiredis asynchronous connection, its socket watched by the reactor: hiredis's
/// adapter hooks (`addRead`, `delRead`, `addWrite`, `delWrite`, `cleanup`) become the
/// reactor's interest in the descriptor, readiness calls `redisAsyncHandleRead/Write`, and
/// the connect timeout is a reactor timer (hiredis 0.14 has none of its own). Nothing
/// blocks: a command is appended to hiredis's output buffer and its reply comes back
/// through a callback in a later turn.
///
/// `onLost` is called once per connection, from a fresh turn (never from inside hiredis),
/// whether the connect failed, timed out, the server closed it or `abort` was called.
final class RedisConnection {
    typealias Callback = (RedisReply?) -> Void

    let reactor: Reactor
    private(set) var context: UnsafeMutablePointer<redisAsyncContext>? = nil
    private var watchID: WatchID? = nil
    private(set) var connected = false
    private var callbacks: [UInt: (callback: Callback, persistent: Bool)] = [:]
    private var nextID: UInt = 1
    /// When each command still waiting for its reply was sent, oldest first (Redis answers
    /// in order): how a slow server is noticed.
    private var sentTimes: [UInt64] = []
    private var sentHead = 0
    private var connectTimer: TimerID? = nil
    private var lostReported = true
    var onConnected: (() -> Void)?
    var onLost: ((String) -> Void)?

    init(reactor: Reactor) { self.reactor = reactor }

    static let readsPerTurn = 16
    /// A read that finds this much waiting marks the connection as busy.
    static let busyReadBytes = 8 << 10
    /// How long reading waits after a busy read; 0 never waits (`redis-coalesce`).
    var busyReadDelayNanoseconds: UInt64 = 0
    private var lastReadBytes = 0
    private var readHold: TimerID? = nil

    var isOpen: Bool { context != nil }

    /// Starts connecting; `onConnected` or `onLost` follows.
    func connect(_ endpoint: RedisEndpoint, timeoutNanoseconds: UInt64) {
        precondition(context == nil, "connect on an open connection")
        lostReported = false
        let made: UnsafeMutablePointer<redisAsyncContext>?
        switch endpoint {
        case let .tcp(host, port): made = redisAsyncConnect(host, port)
        case let .unix(path): made = redisAsyncConnectUnix(path)
        }
        guard let ac = made else { return lost("cannot allocate a Redis context") }
        if ac.pointee.err != 0 {
            let reason = ac.pointee.errstr.map { String(cString: $0) } ?? "error \(ac.pointee.err)"
            redisAsyncFree(ac)
            return lost(reason)
        }
        // hiredis 0.14 opens its socket without SOCK_CLOEXEC: a restart in place (execve)
        // would otherwise leave the old subscription open in the successor, unread, for
        // Redis to keep filling.
        _ = clinux_set_cloexec(chiredis_fd(ac), 1)
        do {
            watchID = try reactor.watch(fd: chiredis_fd(ac)) { [unowned self] readable, writable in ready(readable, writable) }
        } catch {
            redisAsyncFree(ac)
            return lost("\(error)")
        }
        context = ac
        let me = Unmanaged.passUnretained(self).toOpaque()
        ac.pointee.data = me
        chiredis_attach(ac, me, { $0.map(RedisConnection.from)?.interest(readable: true) },
                        { $0.map(RedisConnection.from)?.interest(readable: false) },
                        { $0.map(RedisConnection.from)?.interest(writable: true) },
                        { $0.map(RedisConnection.from)?.interest(writable: false) },
                        { $0.map(RedisConnection.from)?.cleanedUp() })
        // Installing the connect callback asks for the first write event (hiredis's way of
        // seeing the non-blocking connect complete), so the hooks must be in place first.
        redisAsyncSetConnectCallback(ac) { ac, status in
            guard let data = ac?.pointee.data else { return }
            let connection = RedisConnection.from(data)
            if status == REDIS_OK { connection.didConnect() } else {
                connection.lost(ac?.pointee.errstr.map { String(cString: $0) } ?? "connect failed")
            }
        }
        redisAsyncSetDisconnectCallback(ac) { ac, status in
            guard let data = ac?.pointee.data else { return }
            let reason = status == REDIS_OK ? "closed" : (ac?.pointee.errstr.map { String(cString: $0) } ?? "connection lost")
            RedisConnection.from(data).lost(reason)
        }
        connectTimer = reactor.schedule(afterNanoseconds: timeoutNanoseconds) { [weak self] in
            guard let self, !connected, context != nil else { return }
            abort("connect timed out")
        }
    }

    /// Sends a command; `callback` gets the reply, or nil if the connection is lost first.
    /// A `persistent` callback (SUBSCRIBE) is called for every message. False if there is
    /// no connection, and then the callback is never called.
    @discardableResult
    func send(_ arguments: [[UInt8]], persistent: Bool = false, _ callback: Callback? = nil) -> Bool {
        guard let ac = context else { return false }
        let id = nextID
        nextID += 1
        let lengths = arguments.map(\.count)
        var flat: [UInt8] = []
        flat.reserveCapacity(lengths.reduce(1, +))
        for argument in arguments { flat.append(contentsOf: argument) }
        flat.append(0)  // never empty, so the base address exists
        let status = flat.withUnsafeBytes { bytes -> Int32 in
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(lengths.count)
            var offset = 0
            for length in lengths {
                pointers.append(bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self))
                offset += length
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    // Argv, not the variadic format call: no parsing of the arguments, binary safe.
                    redisAsyncCommandArgv(ac, callback == nil ? nil : { ac, reply, privdata in
                        guard let data = ac?.pointee.data else { return }
                        RedisConnection.from(data).replied(UInt(bitPattern: privdata), reply)
                    }, UnsafeMutableRawPointer(bitPattern: id), Int32(lengths.count), argv.baseAddress, argvlen.baseAddress)
                }
            }
        }
        guard status == REDIS_OK else { return false }
        if let callback {
            callbacks[id] = (callback, persistent)
            if !persistent { sentTimes.append(MonotonicClock.now()) }
        }
        return true
    }

    func send(_ arguments: [String], persistent: Bool = false, _ callback: Callback? = nil) -> Bool {
        send(arguments.map { Array($0.utf8) }, persistent: persistent, callback)
    }

    /// How long the oldest unanswered command has waited, in nanoseconds (0 if none).
    var oldestWaitNanoseconds: UInt64 {
        guard sentHead < sentTimes.count else { return 0 }
        return MonotonicClock.now() &- sentTimes[sentHead]
    }

    /// Bytes hiredis holds that the socket has not taken yet.
    var pendingOutputBytes: Int { context.map { Int(chiredis_pending_output($0)) } ?? 0 }

    /// Drops the connection now, without waiting for replies (their callbacks get nil).
    func abort(_ reason: String) {
        guard let ac = context else { return lost(reason) }
        context = nil
        redisAsyncFree(ac)  // deferred by hiredis when called from one of its callbacks
        lost(reason)
    }

    // MARK: From hiredis

    private static func from(_ data: UnsafeMutableRawPointer) -> RedisConnection {
        Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
    }

    private func ready(_ readable: Bool, _ writable: Bool) {
        if !readable, !writable, readHold != nil {
            // An error or hang-up while reading waits (the descriptor waits for nothing, so
            // epoll reports it every turn): read now, which is how hiredis sees the loss.
            stopHoldingReads()
            readNow()
            return
        }
        if readable, context != nil {
            if busyReadDelayNanoseconds > 0, lastReadBytes >= Self.busyReadBytes { holdReading() } else { readNow() }
        }
        if writable, let ac = context { redisAsyncHandleWrite(ac) }
    }

    private func readNow() {
        guard let ac = context else { return }
        lastReadBytes = Int(chiredis_pending_input(chiredis_fd(ac)))
        redisAsyncHandleRead(ac)
        // hiredis reads 16 KiB at a time: under load, take what is already there in this
        // turn (bounded), so that one turn's lines reach each member in one writev.
        var rounds = 1
        while rounds < Self.readsPerTurn, let ac = context, chiredis_pending_input(chiredis_fd(ac)) > 0 {
            redisAsyncHandleRead(ac)
            rounds += 1
        }
    }

    /// The last read was a busy one: the next waits `busyReadDelayNanoseconds`, so that its
    /// lines and those arriving meanwhile go to each member in one write. A member's write
    /// costs the same for one line as for many (the kernel's work per call dominates), so
    /// under load this is most of what a node spends; a quiet room never waits.
    /// Ends a wait between reads, if one is on, and reads at once from now on.
    func stopHoldingReads() {
        busyReadDelayNanoseconds = 0
        lastReadBytes = 0
        guard let readHold else { return }
        reactor.cancel(readHold)
        self.readHold = nil
        if context != nil { interest(readable: true) }
    }

    private func holdReading() {
        lastReadBytes = 0
        guard readHold == nil else { return }
        interest(readable: false)
        readHold = reactor.schedule(afterNanoseconds: busyReadDelayNanoseconds) { [weak self] in
            guard let self else { return }
            readHold = nil
            guard context != nil else { return }
            interest(readable: true)
            readNow()
        }
    }

    private func interest(readable: Bool? = nil, writable: Bool? = nil) {
        if let watchID { reactor.setInterest(watchID, readable: readable, writable: writable) }
    }

    /// hiredis is about to free the context.
    private func cleanedUp() {
        if let watchID { reactor.unwatch(watchID) }
        watchID = nil
        context = nil
    }

    private func didConnect() {
        connected = true
        if let connectTimer { reactor.cancel(connectTimer) }
        connectTimer = nil
        onConnected?()
    }

    private func replied(_ id: UInt, _ reply: UnsafeMutableRawPointer?) {
        guard let entry = callbacks[id] else { return }
        guard let reply else {
            // hiredis is freeing the context: answered in a fresh turn, outside hiredis.
            callbacks[id] = nil
            reactor.schedule(afterNanoseconds: 0) { entry.callback(nil) }
            return
        }
        if !entry.persistent {
            callbacks[id] = nil
            sentHead += 1
            if sentHead == sentTimes.count { sentTimes.removeAll(keepingCapacity: true); sentHead = 0 }
        }
        entry.callback(RedisReply(reply.assumingMemoryBound(to: redisReply.self)))
    }

    private func lost(_ reason: String) {
        guard !lostReported else { return }
        lostReported = true
        connected = false
        context = nil
        if let connectTimer { reactor.cancel(connectTimer) }
        connectTimer = nil
        if let readHold { reactor.cancel(readHold) }
        readHold = nil
        lastReadBytes = 0
        // Replies that will never come: told now, in a fresh turn like the loss itself.
        let orphaned = callbacks.values.map(\.callback)
        callbacks.removeAll()
        sentTimes.removeAll()
        sentHead = 0
        reactor.schedule(afterNanoseconds: 0) { [weak self] in
            for callback in orphaned { callback(nil) }
            self?.onLost?(reason)
        }
    }
}

extension RedisConnection {
    /// Before the process execs or exits: writes what hiredis holds, waiting for the socket
    /// at most `nanoseconds` in all, then reads and drops whatever replies have come (closing
    /// a TCP socket with unread input sends a reset, which may cost the peer what it has
    /// not read yet). Returns the bytes still unsent.
    func drainForExit(withinNanoseconds nanoseconds: UInt64) -> Int {
        guard let context else { return 0 }
        let fd = chiredis_fd(context)
        let deadline = MonotonicClock.now() + nanoseconds
        while connected, let ac = self.context, chiredis_pending_output(ac) > 0 {
            redisAsyncHandleWrite(ac)
            guard let ac = self.context, chiredis_pending_output(ac) > 0 else { break }
            let now = MonotonicClock.now()
            guard now < deadline else { break }
            var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&waiting, 1, Int32(max(1, (deadline - now) / 1_000_000))) > 0 else { break }
        }
        clinux_discard_input(fd)
        return pendingOutputBytes
    }

    /// Tries to write what hiredis holds now rather than on the next writable event.
    func flushNow() {
        if let context { redisAsyncHandleWrite(context) }
    }

    /// `flushNow` if hiredis holds anything: called at the end of every turn.
    func flushIfPending() {
        if connected, let context, chiredis_pending_output(context) > 0 { redisAsyncHandleWrite(context) }
    }
}
