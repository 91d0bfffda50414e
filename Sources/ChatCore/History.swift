import Bytes
import ChatProtocol

/// The last N chat lines, replayed to members who join so that someone who reconnects
/// sees what they missed. A ring: memory is bounded by N lines of at most one frame each,
/// plus each line's replay frame once rendered, so a join costs no encoding.
public struct History {
    public struct Entry: Equatable, Sendable {
        public var unixSeconds: Int64
        /// The line as the room saw it (`alice: hi`, `* alice waves`).
        public var text: String
        /// Whose line it was, so a ban can purge it.
        public var address: IPAddress

        public init(unixSeconds: Int64, text: String, address: IPAddress) {
            self.unixSeconds = unixSeconds
            self.text = text
            self.address = address
        }
    }

    public private(set) var limit: Int
    private var ring: [Entry] = []
    /// The replay frame of `ring[i]`, encoded on first use.
    private var rendered: [SharedBytes?] = []
    private var start = 0

    public init(limit: Int, entries: [Entry] = []) {
        self.limit = max(limit, 0)
        for entry in entries { append(entry) }
    }

    public var count: Int { ring.count }

    /// Oldest first.
    public var entries: [Entry] { Array(ring[start...] + ring[..<start]) }

    public mutating func append(_ entry: Entry) {
        guard limit > 0 else { return }
        if ring.count < limit {
            ring.append(entry)
            rendered.append(nil)
        } else {
            ring[start] = entry
            rendered[start] = nil
            start = (start + 1) % limit
        }
    }

    /// The replay frames, oldest first, encoding only lines not replayed before.
    public mutating func replayFrames() -> [SharedBytes] {
        var frames: [SharedBytes] = []
        frames.reserveCapacity(ring.count)
        for offset in 0..<ring.count {
            let index = (start + offset) % ring.count
            if let frame = rendered[index] {
                frames.append(frame)
            } else {
                let frame = FrameEncoder.frame(Self.render(ring[index]))
                rendered[index] = frame
                frames.append(frame)
            }
        }
        return frames
    }

    /// Removes every line from addresses in `range`; returns how many went.
    public mutating func purge(_ range: IPRange) -> Int {
        let kept = entries.filter { !range.contains($0.address) }
        let removed = ring.count - kept.count
        ring = kept
        rendered = Array(repeating: nil, count: kept.count)
        start = 0
        return removed
    }

    public mutating func resize(to newLimit: Int) {
        let kept = entries.suffix(max(newLimit, 0))
        limit = max(newLimit, 0)
        ring = Array(kept)
        rendered = Array(repeating: nil, count: ring.count)
        start = 0
    }

    /// `[history 14:05:33Z] alice: hi`, in UTC so every member reads the same time.
    public static func render(_ entry: Entry) -> String {
        let secondsOfDay = ((entry.unixSeconds % 86_400) + 86_400) % 86_400
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return ServerReply.historyPrefix + "\(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60))Z] \(entry.text)"
    }
}
