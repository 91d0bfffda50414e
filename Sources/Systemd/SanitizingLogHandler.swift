import Logging

/// Wraps any log handler (the daemon's is swift-log's `StreamLogHandler` on stderr) so
/// that everything it prints has gone through `LogText.escape`: the message, every
/// metadata key and value (handler, provider and per-event), and an attached error's
/// description. Done here rather than at call sites, so no call site can forget.
public struct SanitizingLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped

    public init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
        self.wrapped.metadata = Self.escape(wrapped.metadata)
        if let provider = wrapped.metadataProvider { self.metadataProvider = provider }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = Self.escape(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: LogText.escape(key)] }
        set { wrapped[metadataKey: LogText.escape(key)] = newValue.map(Self.escape) }
    }

    /// A provider set here is itself wrapped, so what it supplies is escaped too.
    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue.map { provider in .init { Self.escape(provider.get()) } } }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(LogText.escape("\(event.message)"))"
        var metadata = event.metadata.map(Self.escape)
        if let error = event.error {
            // The wrapped handler would print `"\(error)"` as is; an error can quote input.
            event.error = nil
            metadata = metadata ?? [:]
            metadata?["error.message"] = .string(LogText.escape("\(error)"))
            metadata?["error.type"] = .string(LogText.escape(String(reflecting: type(of: error))))
        }
        event.metadata = metadata
        wrapped.log(event: event)
    }

    static func escape(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result: Logger.Metadata = [:]
        for (key, value) in metadata { result[LogText.escape(key)] = escape(value) }
        return result
    }

    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case let .string(text): return .string(LogText.escape(text))
        case let .stringConvertible(convertible): return .string(LogText.escape(convertible.description))
        case let .array(values): return .array(values.map(escape))
        case let .dictionary(values): return .dictionary(escape(values))
        }
    }
}
