/// Several messages published as one: what one node said in one turn of its loop, in
/// order. A batch costs Redis one PUBLISH and every node one reply to parse, where the
/// messages one by one would cost each of them as many; under load a turn carries tens to
/// hundreds of lines.
///
/// Encoding: the byte `B`, then each message's encoding as a field (`LENGTH:BYTES`). A
/// node of version 0.4 ignores a batch (its first byte is not a version it knows), so a
/// node sends batches only while every linked node has said it reads them
/// (`ClusterLink+Batching.swift`).
extension ClusterMessage {
    static let batchMark = UInt8(ascii: "B")

    /// Appends one encoded message to a batch being built (empty at first).
    public static func appendToBatch(_ encoded: [UInt8], _ batch: inout [UInt8]) {
        if batch.isEmpty { batch.append(batchMark) }
        batch.append(contentsOf: String(encoded.count).utf8)
        batch.append(UInt8(ascii: ":"))
        batch.append(contentsOf: encoded)
    }

    /// Each message a payload holds, in order: one message, or every message of a batch.
    /// A malformed entry ends the batch there (its length cannot be trusted, so nothing
    /// after it can be found); malformed messages are skipped, like a lone one.
    public static func forEach(in payload: UnsafeRawBufferPointer, _ body: (ClusterMessage) -> Void) {
        guard let first = payload.first else { return }
        guard first == batchMark else {
            if let message = ClusterMessage(decoding: payload) { body(message) }
            return
        }
        var index = 1
        while index < payload.count, let field = field(in: payload, at: index) {
            let entry = UnsafeRawBufferPointer(rebasing: payload[field])
            if entry.first != batchMark, let message = ClusterMessage(decoding: entry) { body(message) }
            index = field.upperBound
        }
    }
}
