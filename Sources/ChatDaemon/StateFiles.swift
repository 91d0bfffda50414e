import ChatCore
import Foundation

/// The state directory's JSON files (version 1), read and checked without touching the
/// disk, so the fuzz target `state-file` (Tests/Fuzz) runs exactly this code. The file may
/// have been edited by hand, restored from an old backup or damaged: every number is
/// range-checked and every entry checked on its own. A bad entry is rejected with its
/// index and why, and the good ones still load; only a file that is not this format at
/// all (not JSON, wrong shape, unknown version) is unreadable as a whole.
enum StateFiles {
    /// What one file held: the entries that passed, and one line per entry that did not
    /// (`sanctions[3]: expiresAt ... is before setAt ...`).
    struct Contents<Entry> {
        var entries: [Entry] = []
        var rejected: [String] = []
    }

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// Seconds since the epoch from 1970 to the end of 9999: far wider than any real
    /// timestamp, narrow enough that sums and differences of two never overflow.
    static let times: ClosedRange<Int64> = 0...253_402_300_799
    /// A nickname or an actor (`admin`, `chatroomctl:root`): far above any the room allows.
    static let maximumNameBytes = 256
    /// A history line or a reason: at most one frame, whose largest allowed size is 16 MiB.
    static let maximumTextBytes = 16 << 20
    static let version = 1

    // MARK: Reading

    static func sanctions(_ bytes: [UInt8]) throws(Unreadable) -> Contents<Sanction> {
        let file: SanctionsFile = try decode(bytes)
        return check(file.sanctions, name: "sanctions") { record throws(Unreadable) in try record.sanction() }
    }

    static func history(_ bytes: [UInt8]) throws(Unreadable) -> Contents<History.Entry> {
        let file: HistoryFile = try decode(bytes)
        return check(file.lines, name: "lines") { record throws(Unreadable) in try record.entry() }
    }

    /// At most one entry: the topic.
    static func room(_ bytes: [UInt8]) throws(Unreadable) -> Contents<Topic> {
        let file: RoomFile = try decode(bytes)
        guard let topic = file.topic else { return Contents() }
        return check([topic], name: "topic") { record throws(Unreadable) in try record.topic() }
    }

    // MARK: Writing

    static func encode(sanctions: [Sanction]) throws -> [UInt8] {
        try encode(SanctionsFile(version: version, sanctions: sanctions.map { Lenient(.success(SanctionRecord($0))) }))
    }

    static func encode(history: [History.Entry]) throws -> [UInt8] {
        try encode(HistoryFile(version: version, lines: history.map { Lenient(.success(HistoryRecord($0))) }))
    }

    static func encode(topic: Topic?) throws -> [UInt8] {
        try encode(RoomFile(version: version, topic: topic.map { Lenient(.success(TopicRecord($0))) }))
    }

    private static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(value)) + [0x0A]
    }

    // MARK: Checking

    private static func decode<T: Decodable & Versioned>(_ bytes: [UInt8]) throws(Unreadable) -> T {
        let file: T
        do { file = try JSONDecoder().decode(T.self, from: Data(bytes)) } catch { throw Unreadable(description: describe(error)) }
        guard file.version == version else { throw Unreadable(description: "unknown version \(file.version) (this chatroomd reads \(version))") }
        return file
    }

    private static func check<Record, Entry>(_ records: [Lenient<Record>], name: String,
                                             _ make: (Record) throws(Unreadable) -> Entry) -> Contents<Entry> {
        var contents = Contents<Entry>()
        for (index, record) in records.enumerated() {
            do throws(Unreadable) {
                switch record.result {
                case let .success(record): contents.entries.append(try make(record))
                case let .failure(error): throw Unreadable(description: describe(error))
                }
            } catch {
                contents.rejected.append("\(name)[\(index)]: \(error.description)")
            }
        }
        return contents
    }

    static func time(_ value: Int64, _ field: String) throws(Unreadable) -> Int64 {
        guard times.contains(value) else {
            throw Unreadable(description: "\(field) \(value) is outside \(times.lowerBound)...\(times.upperBound) (the years 1970 to 9999)")
        }
        return value
    }

    static func text(_ value: String, _ field: String, maximumBytes: Int) throws(Unreadable) -> String {
        guard value.utf8.count <= maximumBytes else {
            throw Unreadable(description: "\(field) is \(value.utf8.count) bytes long (at most \(maximumBytes))")
        }
        return value
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? Unreadable { return error.description }
        guard let error = error as? DecodingError else {
            // Foundation's JSONDecoder reports a number beyond Int64 (or a fraction) with
            // an internal error naming neither the field nor the type.
            let text = "\(error)"
            let prefix = "numberIsNotRepresentableInSwift(parsed: \""
            guard text.hasPrefix(prefix) else { return text }
            let number = text.dropFirst(prefix.count).prefix { $0 != "\"" }
            return "number \(number) is not a whole number within Int64"
        }
        switch error {
        case let .keyNotFound(key, _): return "missing \(key.stringValue)"
        case let .dataCorrupted(context), let .typeMismatch(_, context), let .valueNotFound(_, context):
            let field = context.codingPath.last { Int($0.stringValue) == nil && $0.intValue == nil }?.stringValue
            return (field.map { "\($0): " } ?? "") + context.debugDescription
        @unknown default: return "\(error)"
        }
    }
}

// MARK: On-disk format (version 1)

/// An array element decoded on its own, so that one bad entry (a number beyond Int64, a
/// missing key) does not make the whole file unreadable. Encodes as the record itself.
struct Lenient<Record: Codable>: Codable {
    let result: Result<Record, Error>

    init(_ result: Result<Record, Error>) { self.result = result }

    init(from decoder: Decoder) {
        do { result = .success(try Record(from: decoder)) } catch { result = .failure(error) }
    }

    func encode(to encoder: Encoder) throws {
        if case let .success(record) = result { try record.encode(to: encoder) }
    }
}

protocol Versioned { var version: Int { get } }

struct SanctionsFile: Codable, Versioned {
    var version: Int
    var sanctions: [Lenient<SanctionRecord>]
}

struct SanctionRecord: Codable {
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

    func sanction() throws(StateFiles.Unreadable) -> Sanction {
        guard let kind = Sanction.Kind(rawValue: kind) else {
            throw .init(description: "kind \(kind.debugDescription) is neither ban nor mute")
        }
        guard let range = IPRange(parsing: range) else { throw .init(description: "range \(range.debugDescription) is not an address or CIDR range") }
        let setAt = try StateFiles.time(setAt, "setAt")
        if let expiresAt {
            _ = try StateFiles.time(expiresAt, "expiresAt")
            guard expiresAt >= setAt else { throw .init(description: "expiresAt \(expiresAt) is before setAt \(setAt)") }
        }
        let maximumName = StateFiles.maximumNameBytes
        return Sanction(kind: kind, range: range, nick: try nick.map { v throws(StateFiles.Unreadable) in try StateFiles.text(v, "nick", maximumBytes: maximumName) },
                        reason: try reason.map { v throws(StateFiles.Unreadable) in try StateFiles.text(v, "reason", maximumBytes: StateFiles.maximumTextBytes) },
                        setBy: try StateFiles.text(setBy, "setBy", maximumBytes: maximumName), setAt: setAt, expiresAt: expiresAt)
    }
}

struct RoomFile: Codable, Versioned {
    var version: Int
    var topic: Lenient<TopicRecord>?
}

struct TopicRecord: Codable {
    var text: String
    var setBy: String
    var setAt: Int64

    init(_ topic: Topic) {
        text = topic.text
        setBy = topic.setBy
        setAt = topic.setAt
    }

    func topic() throws(StateFiles.Unreadable) -> Topic {
        guard text.count <= Topic.maximumCharacters else {
            throw .init(description: "text is \(text.count) characters long (at most \(Topic.maximumCharacters))")
        }
        return Topic(text: text, setBy: try StateFiles.text(setBy, "setBy", maximumBytes: StateFiles.maximumNameBytes),
                     setAt: try StateFiles.time(setAt, "setAt"))
    }
}

struct HistoryFile: Codable, Versioned {
    var version: Int
    var lines: [Lenient<HistoryRecord>]
}

struct HistoryRecord: Codable {
    var time: Int64
    var text: String
    var address: String

    init(_ entry: History.Entry) {
        time = entry.unixSeconds
        text = entry.text
        address = "\(entry.address)"
    }

    func entry() throws(StateFiles.Unreadable) -> History.Entry {
        guard let parsed = IPAddress(parsing: address) else { throw .init(description: "address \(address.debugDescription) is not an IP address") }
        return History.Entry(unixSeconds: try StateFiles.time(time, "time"),
                             text: try StateFiles.text(text, "text", maximumBytes: StateFiles.maximumTextBytes), address: parsed)
    }
}
