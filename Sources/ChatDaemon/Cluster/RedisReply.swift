import CHiredis

/// A Redis reply, copied out of hiredis's (which frees its own after the callback).
enum RedisReply: Equatable {
    case string([UInt8])
    case integer(Int64)
    case array([RedisReply])
    case status(String)
    case error(String)
    case null

    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = r.str, r.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: Int(r.len)))
        }
        switch r.type {
        case REDIS_REPLY_STRING: self = .string(bytes())
        case REDIS_REPLY_INTEGER: self = .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(Int(r.elements))
            for i in 0..<Int(r.elements) {
                if let element = r.element[i] { items.append(RedisReply(UnsafePointer(element))) } else { items.append(.null) }
            }
            self = .array(items)
        case REDIS_REPLY_STATUS: self = .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: self = .error(String(decoding: bytes(), as: UTF8.self))
        default: self = .null
        }
    }

    var text: String? {
        switch self {
        case let .string(bytes): return String(decoding: bytes, as: UTF8.self)
        case let .status(text): return text
        default: return nil
        }
    }

    var integer: Int64? { if case let .integer(value) = self { return value }; return nil }
    var items: [RedisReply] { if case let .array(items) = self { return items }; return [] }
}
