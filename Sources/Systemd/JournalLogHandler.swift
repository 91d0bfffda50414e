import CSystemd
import Glibc
import Logging

/// A swift-log backend writing structured entries to the journal with
/// `sd_journal_sendv(3)` (the variadic `sd_journal_send` cannot be called from Swift).
///
/// Each entry has `MESSAGE`, `PRIORITY` (from the level), `SYSLOG_IDENTIFIER`,
/// `CODE_FILE`/`CODE_LINE`/`CODE_FUNC`, and every metadata key as a valid journal field
/// (`chat_nick` → `CHAT_NICK`). A value-semantic struct, as swift-log requires; it holds
/// no resources, the journal connection is libsystemd's.
///
/// `MESSAGE` and every metadata field go through `LogText.escape`. The journal itself
/// would keep a raw value intact (libsystemd sends a value with a newline length-prefixed),
/// but its fields do not stay structured on the way out: `journalctl --all -o verbose`
/// and `--output-fields` print them raw to a terminal, and syslog forwarding and
/// exporters flatten them into lines. The escape is reversible, so the journal still
/// holds exactly what a client sent, and `journalctl CHAT_NICK=alice` still matches.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let identifier: String
    private let eventKey: String
    private let messageIDs: [String: String]

    /// - Parameters:
    ///   - identifier: `SYSLOG_IDENTIFIER` of every entry.
    ///   - eventKey: the metadata key naming an entry's event.
    ///   - messageIDs: the `MESSAGE_ID` (32 hex digits) for each event that has one.
    public init(identifier: String, logLevel: Logger.Level = .info,
                eventKey: String = "event", messageIDs: [String: String] = [:]) {
        self.identifier = identifier
        self.logLevel = logLevel
        self.eventKey = eventKey
        self.messageIDs = messageIDs
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        Self.send(fields(for: event))
    }

    func fields(for event: LogEvent) -> [[UInt8]] {
        var fields = Self.fields(for: event, identifier: identifier,
                                 handlerMetadata: metadata, providerMetadata: metadataProvider?.get())
        if case let .string(name)? = event.metadata?[eventKey] ?? metadata[eventKey], let id = messageIDs[name] {
            fields.append(Self.field("MESSAGE_ID", id))
        }
        return fields
    }

    /// The entry's fields as `NAME=value` byte strings, in the order sent. Explicit
    /// metadata wins over the provider's, which wins over the handler's.
    static func fields(for event: LogEvent, identifier: String,
                       handlerMetadata: Logger.Metadata, providerMetadata: Logger.Metadata?) -> [[UInt8]] {
        var merged = handlerMetadata
        if let providerMetadata { merged.merge(providerMetadata) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        var fields: [[UInt8]] = [
            field("MESSAGE", LogText.escape("\(event.message)")),
            field("PRIORITY", "\(priority(event.level))"),
            field("SYSLOG_IDENTIFIER", identifier),
            field("CODE_FILE", event.file),
            field("CODE_LINE", "\(event.line)"),
            field("CODE_FUNC", event.function),
        ]
        let reserved: Set<String> = ["MESSAGE_ID", "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC"]
        for key in merged.keys.sorted() {
            let name = JournalFieldName.sanitize(key)
            guard !reserved.contains(name), let value = merged[key] else { continue }
            fields.append(field(name, LogText.escape(render(value))))
        }
        return fields
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    private static func field(_ name: String, _ value: String) -> [UInt8] {
        Array(name.utf8) + [UInt8(ascii: "=")] + Array(value.utf8)
    }

    private static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case let .string(text): return text
        case let .stringConvertible(convertible): return convertible.description
        case let .array(values): return "[" + values.map(render).joined(separator: ", ") + "]"
        case let .dictionary(values):
            return "[" + values.keys.sorted().map { "\($0): \(render(values[$0]!))" }.joined(separator: ", ") + "]"
        }
    }

    /// All fields laid out in one buffer, one `iovec` each: a single pinned allocation
    /// instead of one per field.
    private static func send(_ fields: [[UInt8]]) {
        var storage: [UInt8] = []
        storage.reserveCapacity(fields.reduce(0) { $0 + $1.count })
        for field in fields { storage.append(contentsOf: field) }
        storage.withUnsafeMutableBytes { bytes in
            var vectors: [iovec] = []
            vectors.reserveCapacity(fields.count)
            var offset = 0
            for field in fields {
                vectors.append(iovec(iov_base: bytes.baseAddress! + offset, iov_len: field.count))
                offset += field.count
            }
            _ = vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }
}
