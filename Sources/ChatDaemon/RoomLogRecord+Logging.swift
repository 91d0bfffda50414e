import ChatCore
import Logging

extension Logger {
    /// Logs a Room event with its fields as metadata; `chat_event` names the event so
    /// the journal can be queried by it.
    func log(_ record: RoomLogRecord) {
        var metadata: Logger.Metadata = ["chat_event": .string(record.event)]
        for (key, value) in record.fields { metadata[key] = .string(value) }
        log(level: record.level.loggerLevel, "\(record.message)", metadata: metadata)
    }
}

extension RoomLogRecord.Level {
    var loggerLevel: Logger.Level {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        case .error: return .error
        }
    }
}
