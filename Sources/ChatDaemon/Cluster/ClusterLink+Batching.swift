import ChatCore

/// What one turn publishes, sent at the turn's end as one PUBLISH (and one RPUSH of the
/// kept lines), before the turn's fan-out is written: Redis and every node then handle
/// one message per turn rather than one per line (`ClusterMessage+Batch.swift`), and the
/// lines reach Redis at once rather than on the next writable event.
struct PublishBatch {
    /// Each message's encoding, in the order said.
    private(set) var messages: [[UInt8]] = []
    private(set) var bytes = 0
    /// `UNIXSECONDS TEXT` of each kept line, for the shared history.
    var history: [[UInt8]] = []

    var isEmpty: Bool { messages.isEmpty }

    mutating func add(_ encoded: [UInt8]) {
        messages.append(encoded)
        bytes += encoded.count
    }

    mutating func clear() {
        messages.removeAll(keepingCapacity: true)
        bytes = 0
        history.removeAll(keepingCapacity: true)
    }
}

extension ClusterLink {
    /// The cluster protocol this node speaks: 2 reads batches.
    static let protocolVersion = 2
    /// A batch is sent once it holds this much, within the turn: one message in Redis's
    /// output buffer for a subscriber must stay far below the limit an operator may set
    /// there (`client-output-buffer-limit pubsub`), and a node's reads stay small.
    static let maximumBatchBytes = 16 << 10
    /// Lines pushed on the history list between two trims of it.
    static let linesPerTrim = 32

    private static let publishWord = Array("PUBLISH".utf8)
    private static let rpushWord = Array("RPUSH".utf8)
    private static let ltrimWord = Array("LTRIM".utf8)

    /// At the end of each turn (the reactor's `beforeFlush`).
    func flushCommands() {
        guard flushBatch() else { return fail("could not send to Redis") }
        commands.flushIfPending()
    }

    /// Sends what waits; false if the connection would not take it.
    func flushBatch() -> Bool {
        guard !batch.isEmpty else { return true }
        defer { batch.clear() }
        var sent: Bool
        if batch.messages.count == 1 || !peersTakeBatches {
            sent = batch.messages.allSatisfy { commands.send([Self.publishWord, channel, $0]) }
        } else {
            var payload: [UInt8] = []
            payload.reserveCapacity(batch.messages.reduce(1) { $0 + $1.count + 6 })
            for message in batch.messages { ClusterMessage.appendToBatch(message, &payload) }
            sent = commands.send([Self.publishWord, channel, payload])
        }
        // Pipelined after the PUBLISH rather than one script with it: a script costs Redis
        // three times a PUBLISH (measured). Two nodes' lines may then reach the list in the
        // other order than the channel's, rarely; every node reads the same list.
        if sent, !batch.history.isEmpty {
            let key = Array((prefix + "history").utf8)
            sent = commands.send([Self.rpushWord, key] + batch.history)
            linesSinceTrim += batch.history.count
            if sent, linesSinceTrim >= Self.linesPerTrim {
                linesSinceTrim = 0
                sent = commands.send([Self.ltrimWord, key, Array("-\(historyLimit)".utf8), Array("-1".utf8)])
            }
        }
        return sent
    }

    /// Every second: states this node's protocol (for as long as its lease) and learns
    /// whether every node of the room reads batches. A node of 0.4 states nothing and so
    /// counts as 1. Until the first answer, and after a split, messages go one by one.
    func askAboutBatches() {
        eval(Self.protocolScript, keys: [prefix + "protocol:" + node, prefix + "nodes"],
             [prefix, "\(Self.protocolVersion)", "\(Self.leaseMilliseconds)"]) { [weak self] reply in
            guard let self, isLinked, let answer = reply?.integer else { return }
            peersTakeBatches = answer == 1
        }
    }

    /// KEYS: this node's protocol key, the set of nodes. ARGV: prefix, this node's
    /// protocol, lease in ms. 1 if every node in the room's set states at least this
    /// protocol. The other nodes' keys can only be named here, in the room's hash slot.
    static let protocolScript = """
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        for _, n in ipairs(redis.call('SMEMBERS', KEYS[2])) do
          if tonumber(redis.call('GET', ARGV[1] .. 'protocol:' .. n) or '1') < tonumber(ARGV[2]) then return 0 end
        end
        return 1
        """
}
