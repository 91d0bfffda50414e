import ChatCore
import Foundation
#if canImport(ChatDaemon)
@testable import ChatDaemon  // in the fuzz package, StateFiles.swift is compiled alongside instead
#endif

// The check behind the libFuzzer target `fuzz-state-file` (Tests/Fuzz), kept here so the
// regression replay (StateFileFuzzRegressionTests.swift) runs exactly the same logic. This
// file is symlinked into the fuzz package with Sources/ChatDaemon/StateFiles.swift; it must
// not import Testing or use anything else from ChatDaemon.

/// The state loader's promises, over any bytes a state file can hold. The first byte picks
/// the file (sanctions, history, room), the rest is its content:
///
/// - it never traps, and a file is either unreadable as a whole or gives entries;
/// - every entry it accepts is within bounds (times 1970...9999, expiry not before it was
///   set, names and texts bounded), so nothing later can overflow on it, and ChatCore's
///   time arithmetic on it stays in range;
/// - when the JSON holds a list, every element is either loaded or reported, none lost;
/// - what it accepted saves and loads back identically, with nothing rejected.
enum StateFileFuzzCheck {
    static func check(_ input: [UInt8]) -> String? {
        guard let selector = input.first else { return nil }
        let bytes = Array(input.dropFirst())
        switch selector % 3 {
        case 0:
            guard let contents = try? StateFiles.sanctions(bytes) else { return nil }
            for sanction in contents.entries {
                if let problem = outOfBounds(sanction) { return problem }
            }
            if let problem = accounted(contents, bytes, key: "sanctions") { return problem }
            guard let again = try? StateFiles.sanctions(StateFiles.encode(sanctions: contents.entries)),
                  again.entries == contents.entries, again.rejected.isEmpty else { return "sanctions do not round-trip" }
        case 1:
            guard let contents = try? StateFiles.history(bytes) else { return nil }
            for entry in contents.entries {
                guard StateFiles.times.contains(entry.unixSeconds) else { return "history time \(entry.unixSeconds) accepted" }
                guard entry.text.utf8.count <= StateFiles.maximumTextBytes else { return "history text too long accepted" }
                _ = History.render(entry)
            }
            if let problem = accounted(contents, bytes, key: "lines") { return problem }
            guard let again = try? StateFiles.history(StateFiles.encode(history: contents.entries)),
                  again.entries == contents.entries, again.rejected.isEmpty else { return "history does not round-trip" }
        default:
            guard let contents = try? StateFiles.room(bytes) else { return nil }
            guard contents.entries.count + contents.rejected.count <= 1 else { return "more than one topic" }
            if let topic = contents.entries.first {
                guard StateFiles.times.contains(topic.setAt), topic.text.count <= Topic.maximumCharacters else { return "bad topic accepted" }
            }
            guard let again = try? StateFiles.room(StateFiles.encode(topic: contents.entries.first)),
                  again.entries == contents.entries, again.rejected.isEmpty else { return "topic does not round-trip" }
        }
        return nil
    }

    private static func outOfBounds(_ sanction: Sanction) -> String? {
        guard StateFiles.times.contains(sanction.setAt) else { return "setAt \(sanction.setAt) accepted" }
        if let expiresAt = sanction.expiresAt {
            guard StateFiles.times.contains(expiresAt), expiresAt >= sanction.setAt else { return "expiresAt \(expiresAt) accepted" }
        }
        guard sanction.setBy.utf8.count <= StateFiles.maximumNameBytes,
              (sanction.nick?.utf8.count ?? 0) <= StateFiles.maximumNameBytes,
              (sanction.reason?.utf8.count ?? 0) <= StateFiles.maximumTextBytes else { return "over-long text accepted" }
        // The sums and differences the Room makes stay exact within the bounds.
        // (The wall clock in nanoseconds ends in 2262, well before the bound's 9999.)
        for now in [RoomTime(nanoseconds: 0, unixNanoseconds: .max), RoomTime(nanoseconds: 0, unixNanoseconds: 0)] {
            if let left = sanction.secondsLeft(at: now), left != max(sanction.expiresAt! - now.unixSeconds, 0) {
                return "secondsLeft \(left) at \(now.unixSeconds)"
            }
        }
        if let duration = sanction.durationSeconds, duration != sanction.expiresAt! - sanction.setAt { return "durationSeconds wrong" }
        return nil
    }

    /// Loaded plus rejected is the number of elements the JSON list holds.
    private static func accounted<Entry>(_ contents: StateFiles.Contents<Entry>, _ bytes: [UInt8], key: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let list = object[key] as? [Any] else { return nil }
        let seen = contents.entries.count + contents.rejected.count
        return seen == list.count ? nil : "\(list.count) \(key) in the file, \(seen) loaded or rejected"
    }
}
