import ChatCore
import Reactor
import SystemCalls

/// This node's link to the rest of its room over Redis: two connections on the reactor
/// (one subscribed to the room's channel, one for commands: a subscribed connection can
/// do nothing else), the node's lease, nickname claims, and the state of the link:
///
/// idle ─connect─► connecting ─both up, subscribed─► linking ─LINK script─► linked
///   ▲                                                                        │
///   └──── backoff (0.1 s doubling to 5 s) ◄── lost, slow, or reaped ◄────────┘
///
/// Nothing here waits: every command's answer comes back as a callback in a later turn.
/// While linked, this node's own lines reach its members only when they come back from
/// the channel (so every node shows the same order); a line that has not come back when
/// the link fails is shown locally then, so the speaker's node loses nothing.
final class ClusterLink {
    struct Hooks {
        var received: (ClusterMessage) -> Void
        var split: (String) -> Void
        var linked: (_ claims: [ClientID: Bool], _ roster: [(nick: String, node: String)], _ departed: [String],
                     _ shared: SharedState) -> Void
        var claimAnswered: (ClientID, ClaimOutcome) -> Void
        var localNicknames: () -> [(client: ClientID, key: String, nick: String)]
        var log: (_ warning: Bool, _ message: String) -> Void
    }

    enum State { case idle, connecting, linking, linked, leaving }

    /// What Redis keeps for nodes that link later: the history, the last sanctions and topic.
    struct SharedState {
        var history: [History.Entry] = []
        var sanctions: ClusterMessage? = nil
        var topic: ClusterMessage? = nil
    }

    /// Lines kept in Redis' history list (the Room's `history-lines`); 0 keeps none.
    var historyLimit = 50
    /// How long a busy node waits between reads of the channel (`redis-coalesce`).
    var coalesceNanoseconds: UInt64 {
        get { subscriber.busyReadDelayNanoseconds }
        set { subscriber.busyReadDelayNanoseconds = newValue }
    }

    let endpoint: RedisEndpoint
    let node: String
    let reactor: Reactor
    /// `chatroomd:{ROOM}:`, the start of every key of this room.
    let prefix: String
    let channel: [UInt8]
    private let nodeHash: String
    let commands: RedisConnection
    private let subscriber: RedisConnection
    private(set) var state = State.idle
    private var subscribed = false
    /// Link attempts so far; the current one's marker tells pre-link messages apart.
    private var attempt: UInt64 = 0
    private var markerSeen = false
    /// Messages after the marker that arrived before the link script's answer.
    private var heldWhileLinking: [ClusterMessage] = []
    private var sequence: UInt64 = 0
    /// What this turn published so far, sent at its end (`ClusterLink+Batching.swift`).
    var batch = PublishBatch()
    /// Whether every linked node reads batches; asked of Redis every second.
    var peersTakeBatches = false
    var linesSinceTrim = 0
    /// This node's published messages not yet back from the channel, oldest first.
    private var unechoed: [(sequence: UInt64, message: ClusterMessage, at: UInt64)] = []
    private var unechoedHead = 0
    /// SHA1 of `publishKeeping` as Redis knows it (`SCRIPT LOAD` on each connection): every
    /// chat line runs it, and `EVALSHA` spares Redis hashing and parsing the script each time.
    private var publishKeepingSHA: [UInt8]? = nil
    private var retryDelay = ClusterLink.firstRetry
    private var retryTimer: TimerID? = nil
    private var lastFailure: String? = nil
    var hooks: Hooks! = nil

    static let firstRetry: UInt64 = 100_000_000
    static let lastRetry: UInt64 = 5_000_000_000
    static let leaseMilliseconds = 3000
    /// A Redis that has not answered for this long is treated as gone: local delivery
    /// must never wait longer than this for it.
    static let stallNanoseconds: UInt64 = 1_500_000_000
    /// How long a restart may wait for Redis to take what this node has sent.
    static let handoverDrainNanoseconds: UInt64 = 200_000_000
    /// Unsent commands hiredis may hold before the link is treated as broken.
    static let maximumPendingOutput = 8 << 20
    private static let evalWord = Array("EVAL".utf8)
    private static let evalSHAWord = Array("EVALSHA".utf8)

    init(endpoint: RedisEndpoint, node: String, room: String, reactor: Reactor) {
        self.endpoint = endpoint
        self.node = node
        self.reactor = reactor
        prefix = "chatroomd:{\(room)}:"
        channel = Array("chatroomd:{\(room)}:channel".utf8)
        nodeHash = "chatroomd:{\(room)}:nicks:\(node)"
        commands = RedisConnection(reactor: reactor)
        subscriber = RedisConnection(reactor: reactor)
        commands.onConnected = { [unowned self] in loadScripts(); maybeLink() }
        commands.onLost = { [unowned self] reason in fail(reason) }
        subscriber.onConnected = { [unowned self] in subscribe() }
        subscriber.onLost = { [unowned self] reason in fail(reason) }
    }

    var isLinked: Bool { state == .linked }

    func start() { connect() }

    /// Every 250 ms: a Redis that stopped answering, or whose output backs up, is treated as
    /// lost; every fourth call renews the lease and reaps dead nodes.
    func check(renewLease: Bool) {
        guard state == .linking || state == .linked else { return }
        let now = MonotonicClock.now()
        let oldestLine = unechoedHead < unechoed.count ? now &- unechoed[unechoedHead].at : 0
        if max(oldestLine, commands.oldestWaitNanoseconds) > Self.stallNanoseconds {
            return fail("Redis did not answer within \(Self.stallNanoseconds / 1_000_000) ms")
        }
        if commands.pendingOutputBytes > Self.maximumPendingOutput {
            return fail("more than \(Self.maximumPendingOutput >> 20) MiB waiting to be sent to Redis")
        }
        guard renewLease, state == .linked else { return }
        askAboutBatches()
        eval(ClusterScripts.tick, keys: [prefix + "nodes", prefix + "lease:" + node], [prefix, node, "\(Self.leaseMilliseconds)"]) { [weak self] reply in
            guard let self, state == .linked, let reply else { return }
            if reply.integer == -1 { fail("this node's lease ran out and the others declared it gone") }
        }
    }

    // MARK: For the Room's effects

    /// Lines, notices and roster changes wait for the end of the turn and go out as one
    /// PUBLISH (`flushBatch`); a message that is also state (sanctions, topic) is a script,
    /// sent at once after what waits, so the channel's order is the order they were said.
    func publish(_ body: ClusterMessage.Body) {
        guard state == .linked else { return }
        sequence += 1
        let message = ClusterMessage(node: node, sequence: sequence, body: body)
        let encoded = message.encoded()
        // Awaited before it is sent: if sending fails, `fail` shows it here with the rest.
        unechoed.append((sequence, message, MonotonicClock.now()))
        switch body {
        case .sanctions, .topic:
            let key = prefix + ({ if case .topic = body { return "topic" } else { return "sanctions" } }())
            guard evalBytes(ClusterScripts.publishKeeping, [Array("1".utf8), Array(key.utf8), channel, encoded, Array("s".utf8), [], Array("0".utf8)]) else {
                return fail("could not send to Redis")
            }
        default:
            if batch.bytes + encoded.count > Self.maximumBatchBytes, !flushBatch() { return fail("could not send to Redis") }
            batch.add(encoded)
            if case let .line(text, kept: true, from) = body, historyLimit > 0 {
                batch.history.append(Array(Self.historyEntry(text, from: from).utf8))
            }
        }
    }

    func claim(_ client: ClientID, key: String, nick: String) {
        let sent = state == .linked && eval(ClusterScripts.claim, keys: [prefix + "nick:" + key, nodeHash], [node, nick]) { [weak self] reply in
            guard let self else { return }
            switch reply {
            case .integer(1)?: hooks.claimAnswered(client, .granted)
            case .integer(0)?: hooks.claimAnswered(client, .taken)
            default: hooks.claimAnswered(client, .unavailable)  // the link failed; the join goes ahead locally
            }
        }
        if !sent {
            reactor.schedule(afterNanoseconds: 0) { [weak self] in self?.hooks.claimAnswered(client, .unavailable) }
        }
    }

    func release(key: String) {
        _ = eval(ClusterScripts.release, keys: [prefix + "nick:" + key, nodeHash], [node], nil)
    }

    /// A graceful stop: the other nodes announce this node's members at once instead of
    /// when its lease runs out. Written straight away, since the loop may end soon.
    func leave() {
        if let retryTimer { reactor.cancel(retryTimer) }
        retryTimer = nil
        guard state == .linked else { return }
        _ = flushBatch()
        subscriber.stopHoldingReads()  // nothing it hears matters now; no timer left behind
        state = .leaving
        _ = eval(ClusterScripts.leave, keys: [prefix + "nodes", nodeHash, prefix + "lease:" + node], [prefix, node], nil)
        commands.flushNow()
    }

    /// A planned restart: the state is about to go to a successor, which links anew and
    /// hears only what is published after its own link. So what this node said is written
    /// to Redis now, and its lines not yet back from the channel are shown to its members
    /// now, as when the link fails (in the channel's order: after everything heard so far).
    /// Should the exec then fail and this process carry on, their echoes show them again.
    func handingOver() {
        guard state == .linked else { return }
        _ = flushBatch()  // this turn's lines, which would otherwise wait for its end
        let unsent = commands.drainForExit(withinNanoseconds: Self.handoverDrainNanoseconds)
        if unsent > 0 { hooks.log(true, "\(unsent) bytes for Redis were still unsent after \(Self.handoverDrainNanoseconds / 1_000_000) ms: this node's last lines may not reach the others") }
        let pending = unechoed[unechoedHead...].map(\.message)
        unechoed.removeAll()
        unechoedHead = 0
        for message in pending { if case .line = message.body { hooks.received(message) } }
    }

    // MARK: The link's life

    private func connect() {
        retryTimer = nil
        state = .connecting
        subscribed = false
        attempt += 1
        markerSeen = false
        heldWhileLinking.removeAll()
        batch.clear()
        peersTakeBatches = false
        commands.connect(endpoint, timeoutNanoseconds: 2_000_000_000)
        subscriber.connect(endpoint, timeoutNanoseconds: 2_000_000_000)
    }

    private func subscribe() {
        _ = subscriber.send([Array("SUBSCRIBE".utf8), channel], persistent: true) { [weak self] reply in
            guard let self, let reply else { return }
            let items = reply.items
            guard items.count == 3, let kind = items[0].text else { return }
            if kind == "message", case let .string(payload) = items[2] {
                received(payload)
            } else if kind == "subscribe" {
                subscribed = true
                maybeLink()
            }
        }
    }

    private func maybeLink() {
        guard state == .connecting, commands.connected, subscribed else { return }
        state = .linking
        let members = hooks.localNicknames()
        var keys = [nodeHash, prefix + "lease:" + node, prefix + "nodes", prefix + "history", prefix + "sanctions", prefix + "topic"]
        var arguments = [prefix, node, "\(Self.leaseMilliseconds)", "\(attempt)", prefix + "channel"]
        for member in members {
            keys.append(prefix + "nick:" + member.key)
            arguments.append(member.nick)
        }
        eval(ClusterScripts.link, keys: keys, arguments) { [weak self] reply in
            guard let self, state == .linking else { return }
            let parts = reply?.items ?? []
            guard parts.count == 6 else { return fail("linking failed: \(String(describing: reply))") }
            let outcomes = parts[0].items
            var claims: [ClientID: Bool] = [:]
            for (index, member) in members.enumerated() where index < outcomes.count {
                claims[member.client] = outcomes[index].integer == 1
            }
            let pairs = parts[1].items.compactMap(\.text)
            var roster: [(nick: String, node: String)] = []
            var index = 0
            while index + 1 < pairs.count { roster.append((pairs[index + 1], pairs[index])); index += 2 }
            state = .linked
            retryDelay = Self.firstRetry
            if lastFailure != nil { hooks.log(false, "Redis at \(endpoint) answers again") }
            lastFailure = nil
            var shared = SharedState()
            shared.history = parts[3].items.compactMap { $0.text.flatMap(Self.historyEntry(parsing:)) }
            if case let .string(bytes) = parts[4] { shared.sanctions = bytes.withUnsafeBytes(ClusterMessage.init(decoding:)) }
            if case let .string(bytes) = parts[5] { shared.topic = bytes.withUnsafeBytes(ClusterMessage.init(decoding:)) }
            hooks.linked(claims, roster, parts[2].items.compactMap(\.text), shared)
            let held = heldWhileLinking
            heldWhileLinking.removeAll()
            for message in held where state == .linked { hooks.received(message) }
            check(renewLease: true)  // reap nodes that died while no node was looking
        }
    }

    private func received(_ payload: [UInt8]) {
        payload.withUnsafeBytes { bytes in ClusterMessage.forEach(in: bytes) { received($0) } }
    }

    private func received(_ message: ClusterMessage) {
        // Only what was published after this node's link script ran belongs to this link:
        // earlier messages were seen by the others while this node was apart.
        guard markerSeen else {
            if case .linkMarker = message.body, message.node == node, message.sequence == attempt { markerSeen = true }
            return
        }
        if state == .linking { return heldWhileLinking.append(message) }
        guard state == .linked else { return }
        if message.node == node {
            if case .nodeGone = message.body {
                if state == .linked { fail("the other nodes declared this node gone") }
                return
            }
            while unechoedHead < unechoed.count, unechoed[unechoedHead].sequence <= message.sequence { unechoedHead += 1 }
            if unechoedHead == unechoed.count { unechoed.removeAll(keepingCapacity: true); unechoedHead = 0 }
        }
        hooks.received(message)
    }

    func fail(_ reason: String) {
        guard state != .idle, state != .leaving else { return }
        let wasLinked = state == .linked
        state = .idle
        batch.clear()
        commands.abort(reason)
        subscriber.abort(reason)
        // Lines that did not come back: shown here now, before the notice of the split.
        let pending = unechoed[unechoedHead...].map(\.message)
        unechoed.removeAll()
        unechoedHead = 0
        if wasLinked {
            for message in pending { if case .line = message.body { hooks.received(message) } }
            hooks.split(reason)
        }
        if lastFailure != reason { hooks.log(true, "Redis at \(endpoint): \(reason); retrying in \(retryDelay / 1_000_000) ms and then with backoff") }
        lastFailure = reason
        retryTimer = reactor.schedule(afterNanoseconds: retryDelay) { [weak self] in self?.connect() }
        retryDelay = min(retryDelay * 2, Self.lastRetry)
    }

    /// A message published by `script` rather than by `publish` (`ClusterLink+Sanctions`):
    /// its ARGV start with the channel, this node and the message's sequence, then
    /// `arguments`; it publishes exactly one message as this node with that sequence,
    /// which is then awaited like any of this node's messages (a Redis that does not run it
    /// counts as stalled).
    func publishScripted(_ script: String, keys: [String], arguments: [[UInt8]]) {
        guard state == .linked else { return }
        guard flushBatch() else { return fail("could not send to Redis") }
        sequence += 1
        var argv: [[UInt8]] = [Self.evalWord, Array(script.utf8), Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) }
        argv += [channel, Array(node.utf8), Array(String(sequence).utf8)] + arguments
        let sent = commands.send(argv) { [weak self] reply in
            if case let .error(text)? = reply { self?.hooks.log(true, "Redis refused a script: \(text)") }
        }
        guard sent else { return fail("could not send to Redis") }
        unechoed.append((sequence, ClusterMessage(node: node, sequence: sequence, body: .linkMarker), MonotonicClock.now()))
    }

    /// `arguments` start with the number of keys, then the keys.
    private func evalBytes(_ script: String, _ arguments: [[UInt8]]) -> Bool {
        guard flushBatch() else { fail("could not send to Redis"); return false }
        if script == ClusterScripts.publishKeeping, let sha = publishKeepingSHA {
            return commands.send([Self.evalSHAWord, sha] + arguments)
        }
        return commands.send([Self.evalWord, Array(script.utf8)] + arguments)
    }

    private func loadScripts() {
        publishKeepingSHA = nil
        _ = commands.send(["SCRIPT", "LOAD", ClusterScripts.publishKeeping]) { [weak self] reply in
            if case let .string(sha)? = reply, sha.count == 40 { self?.publishKeepingSHA = sha }
        }
    }

    /// Every command but the batch's own goes through here or `evalBytes`: what the turn
    /// published so far goes first, so Redis sees everything in the order it was said.
    @discardableResult
    func eval(_ script: String, keys: [String], _ arguments: [String], _ callback: RedisConnection.Callback?) -> Bool {
        guard flushBatch() else { fail("could not send to Redis"); return false }
        var argv: [[UInt8]] = [Self.evalWord, Array(script.utf8), Array(String(keys.count).utf8)]
        argv.reserveCapacity(keys.count + arguments.count + 3)
        for key in keys { argv.append(Array(key.utf8)) }
        for argument in arguments { argv.append(Array(argument.utf8)) }
        return commands.send(argv, callback)
    }
}
