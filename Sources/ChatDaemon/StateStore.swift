import ChatCore
import Foundation
import Glibc

/// The daemon's state directory: `sanctions.json` (bans and mutes) and `room.json` (the
/// topic), saved on every change before it is confirmed, and `history.json` (the replay
/// buffer), saved every few seconds and at stop so that no `fsync` sits on the relay path.
///
/// A file that cannot be parsed at start is renamed aside (`NAME.corrupt-<time>`) and
/// reported, never overwritten, so an operator can recover it; the daemon then starts
/// without it. A leftover `NAME.tmp` (a crash between write and rename) is ignored.
final class StateStore {
    let directory: String
    /// `Room.relayedMessageCount` when the history was last saved.
    private var savedHistoryCount: UInt64 = 0

    init(directory: String) {
        self.directory = directory
    }

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    struct Loaded {
        var sanctions: [Sanction] = []
        var history: [History.Entry] = []
        var topic: Topic? = nil
        /// Files that were unreadable and set aside, with why.
        var setAside: [String] = []
    }

    var sanctionsPath: String { directory + "/sanctions.json" }
    var historyPath: String { directory + "/history.json" }
    var roomPath: String { directory + "/room.json" }
    /// The issue-3 format: one banned address per line.
    var legacyBansPath: String { directory + "/bans" }

    func load() -> Loaded {
        var loaded = Loaded()
        let hadSanctionsFile = access(sanctionsPath, F_OK) == 0
        if let file: SanctionsFile = decode(sanctionsPath, into: &loaded) {
            loaded.sanctions = file.sanctions.compactMap(\.sanction)
        } else if !hadSanctionsFile, let bytes = try? DurableFile.read(legacyBansPath) {
            // Only before the first save: once sanctions.json exists, the old list is stale.
            for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let text = line.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty, !text.hasPrefix("#"), let range = IPRange(parsing: text) else { continue }
                loaded.sanctions.append(Sanction(kind: .ban, range: range, setBy: "restored", setAt: 0))
            }
        }
        if let file: HistoryFile = decode(historyPath, into: &loaded) {
            loaded.history = file.lines.compactMap(\.entry)
        }
        if let file: RoomFile = decode(roomPath, into: &loaded) {
            loaded.topic = file.topic.map { Topic(text: $0.text, setBy: $0.setBy, setAt: $0.setAt) }
        }
        return loaded
    }

    /// After `.durableStateChanged`: sanctions and topic, and the history, which a ban may
    /// have purged.
    func saveDurable(_ room: Room) throws(Problem) {
        try save(sanctions: room.sanctions)
        try write(RoomFile(version: 1, topic: room.topic.map { TopicRecord(text: $0.text, setBy: $0.setBy, setAt: $0.setAt) }), to: roomPath)
        try save(history: room.history.entries)
        savedHistoryCount = room.relayedMessageCount
    }

    /// Every few seconds and at stop, when lines were relayed since the last save.
    func saveHistoryIfChanged(_ room: Room) throws(Problem) {
        guard room.relayedMessageCount != savedHistoryCount else { return }
        try save(history: room.history.entries)
        savedHistoryCount = room.relayedMessageCount
    }

    func save(sanctions: [Sanction]) throws(Problem) {
        try write(SanctionsFile(version: 1, sanctions: sanctions.map(SanctionRecord.init)), to: sanctionsPath)
    }

    func save(history: [History.Entry]) throws(Problem) {
        try write(HistoryFile(version: 1, lines: history.map(HistoryRecord.init)), to: historyPath)
    }

    private func write<T: Encodable>(_ value: T, to path: String) throws(Problem) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(value) } catch { throw Problem(description: "cannot encode \(path): \(error)") }
        do { try DurableFile.replace(path, with: Array(data) + [0x0A]) } catch { throw Problem(description: error.description) }
    }

    private func decode<T: Decodable>(_ path: String, into loaded: inout Loaded) -> T? {
        let bytes: [UInt8]?
        do { bytes = try DurableFile.read(path) } catch {
            loaded.setAside.append(error.description)
            return nil
        }
        guard let bytes else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            var aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
            // Never replace an earlier copy (a restart loop can hit the same second).
            var attempt = 1
            while access(aside, F_OK) == 0 {
                attempt += 1
                aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))-\(attempt)"
            }
            let moved = rename(path, aside) == 0
            loaded.setAside.append("\(path) is unreadable (\(Self.describe(error))); " +
                                   (moved ? "kept aside as \(aside)" : "could not move it aside: \(String(cString: strerror(errno)))"))
            return nil
        }
    }

    private static func describe(_ error: Error) -> String {
        if let error = error as? DecodingError {
            switch error {
            case let .dataCorrupted(context): return context.debugDescription
            case let .keyNotFound(key, _): return "missing \(key.stringValue)"
            case let .typeMismatch(_, context), let .valueNotFound(_, context): return context.debugDescription
            @unknown default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

// MARK: On-disk format (version 1)

private struct SanctionsFile: Codable {
    var version: Int
    var sanctions: [SanctionRecord]
}

private struct SanctionRecord: Codable {
    var kind: String
    var range: String
    var nick: String?
    var reason: String?
    var setBy: String
    var setAt: Int64
    var expiresAt: Int64?

    init(_ sanction: Sanction) {
        kind = sanction.kind.rawValue
        range = "\(sanction.range.network)/\(sanction.range.prefixLength)"
        nick = sanction.nick
        reason = sanction.reason
        setBy = sanction.setBy
        setAt = sanction.setAt
        expiresAt = sanction.expiresAt
    }

    var sanction: Sanction? {
        guard let kind = Sanction.Kind(rawValue: kind), let range = IPRange(parsing: range) else { return nil }
        return Sanction(kind: kind, range: range, nick: nick, reason: reason, setBy: setBy, setAt: setAt, expiresAt: expiresAt)
    }
}

private struct RoomFile: Codable {
    var version: Int
    var topic: TopicRecord?
}

private struct TopicRecord: Codable {
    var text: String
    var setBy: String
    var setAt: Int64
}

private struct HistoryFile: Codable {
    var version: Int
    var lines: [HistoryRecord]
}

private struct HistoryRecord: Codable {
    var time: Int64
    var text: String
    var address: String

    init(_ entry: History.Entry) {
        time = entry.unixSeconds
        text = entry.text
        address = "\(entry.address)"
    }

    var entry: History.Entry? {
        guard let address = IPAddress(parsing: address) else { return nil }
        return History.Entry(unixSeconds: time, text: text, address: address)
    }
}
