import ChatCore
import Foundation
import Glibc

/// The daemon's state directory: `sanctions.json` (bans and mutes) and `room.json` (the
/// topic), saved on every change before it is confirmed, and `history.json` (the replay
/// buffer), saved every few seconds and at stop so that no `fsync` sits on the relay path.
///
/// A file that cannot be parsed at start is renamed aside (`NAME.corrupt-<time>`) and
/// reported, never overwritten, so an operator can recover it; the daemon then starts
/// without it. A file with some bad entries (a time out of range, an unknown kind; see
/// `StateFiles`) loads its good ones; each bad one is reported with the file and its
/// index, the file as it was is copied aside the same way, and the file is rewritten with
/// the good ones. A leftover `NAME.tmp` (a crash between write and rename) is ignored.
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

    /// Bad entries reported one by one up to this many per file, then counted.
    static let reportedEntriesPerFile = 20

    func load() -> Loaded {
        var loaded = Loaded()
        let hadSanctionsFile = access(sanctionsPath, F_OK) == 0
        if let contents = read(sanctionsPath, StateFiles.sanctions, rewrite: StateFiles.encode(sanctions:), into: &loaded) {
            loaded.sanctions = contents.entries
        } else if !hadSanctionsFile, let bytes = try? DurableFile.read(legacyBansPath) {
            // Only before the first save: once sanctions.json exists, the old list is stale.
            for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let text = line.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty, !text.hasPrefix("#"), let range = IPRange(parsing: text) else { continue }
                loaded.sanctions.append(Sanction(kind: .ban, range: range, setBy: "restored", setAt: 0))
            }
        }
        if let contents = read(historyPath, StateFiles.history, rewrite: StateFiles.encode(history:), into: &loaded) {
            loaded.history = contents.entries
        }
        if let contents = read(roomPath, StateFiles.room, rewrite: { try StateFiles.encode(topic: $0.first) }, into: &loaded) {
            loaded.topic = contents.entries.first
        }
        return loaded
    }

    /// After `.durableStateChanged`: sanctions and topic, and the history, which a ban may
    /// have purged.
    func saveDurable(_ room: Room) throws(Problem) {
        try save(sanctions: room.sanctions)
        try write({ try StateFiles.encode(topic: room.topic) }, to: roomPath)
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
        try write({ try StateFiles.encode(sanctions: sanctions) }, to: sanctionsPath)
    }

    func save(history: [History.Entry]) throws(Problem) {
        try write({ try StateFiles.encode(history: history) }, to: historyPath)
    }

    private func write(_ encode: () throws -> [UInt8], to path: String) throws(Problem) {
        let bytes: [UInt8]
        do { bytes = try encode() } catch { throw Problem(description: "cannot encode \(path): \(error)") }
        do { try DurableFile.replace(path, with: bytes) } catch { throw Problem(description: error.description) }
    }

    /// The file's good entries, or nil when it is absent or unreadable as a whole (then
    /// renamed aside). Bad entries are reported in `loaded.setAside`; once the original is
    /// copied aside the file is rewritten with the good ones, so the next start neither
    /// reports them again nor makes another copy.
    private func read<Entry>(_ path: String, _ parse: ([UInt8]) throws(StateFiles.Unreadable) -> StateFiles.Contents<Entry>,
                             rewrite: ([Entry]) throws -> [UInt8],
                             into loaded: inout Loaded) -> StateFiles.Contents<Entry>? {
        let bytes: [UInt8]?
        do { bytes = try DurableFile.read(path) } catch {
            loaded.setAside.append(error.description)
            return nil
        }
        guard let bytes else { return nil }
        let contents: StateFiles.Contents<Entry>
        do { contents = try parse(bytes) } catch {
            let aside = Self.asideName(path)
            let moved = rename(path, aside) == 0
            loaded.setAside.append("\(path) is unreadable (\(error.description)); " +
                                   (moved ? "kept aside as \(aside)" : "could not move it aside: \(String(cString: strerror(errno)))"))
            return nil
        }
        guard !contents.rejected.isEmpty else { return contents }
        for problem in contents.rejected.prefix(Self.reportedEntriesPerFile) {
            loaded.setAside.append("\(path): \(problem); entry set aside")
        }
        let unreported = contents.rejected.count - Self.reportedEntriesPerFile
        if unreported > 0 { loaded.setAside.append("\(path): \(unreported) more bad entries set aside") }
        let copy = Self.asideName(path)
        var kept = "kept a copy of the file as it was as \(copy)"
        do {
            try DurableFile.replace(copy, with: bytes)
            do { try DurableFile.replace(path, with: try rewrite(contents.entries)) } catch {
                kept += " (could not rewrite \(path) without them: \(error))"
            }
        } catch {
            kept = "could not keep a copy: \(error.description)"
        }
        loaded.setAside.append("\(path): \(contents.rejected.count) bad entr\(contents.rejected.count == 1 ? "y" : "ies") set aside, " +
                               "\(contents.entries.count) loaded; \(kept)")
        return contents
    }

    /// `PATH.corrupt-<time>`, never an existing name (a restart loop can hit the same second).
    private static func asideName(_ path: String) -> String {
        var aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))"
        var attempt = 1
        while access(aside, F_OK) == 0 {
            attempt += 1
            aside = path + ".corrupt-\(Int(Date().timeIntervalSince1970))-\(attempt)"
        }
        return aside
    }
}
