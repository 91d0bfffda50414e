/// Lines sent earlier, recalled with Up and Down. The line being typed when Up is first
/// pressed is kept as a draft and comes back after the newest entry.
public struct InputHistory: Sendable {
    public static let capacity = 500
    public private(set) var entries: [String] = []
    /// Index into `entries` while browsing; nil when editing a fresh line.
    private var position: Int? = nil
    private var draft = ""

    public init() {}

    /// A sent line; an empty line or a repeat of the newest entry is not recorded.
    mutating func record(_ line: String) {
        position = nil
        draft = ""
        guard !line.isEmpty, entries.last != line else { return }
        entries.append(line)
        if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
    }

    mutating func older(current: String) -> String? {
        guard !entries.isEmpty else { return nil }
        switch position {
        case nil:
            draft = current
            position = entries.count - 1
        case let index? where index > 0:
            position = index - 1
        default:
            return nil
        }
        return entries[position!]
    }

    mutating func newer() -> String? {
        guard let index = position else { return nil }
        if index + 1 < entries.count {
            position = index + 1
            return entries[index + 1]
        }
        position = nil
        return draft
    }
}
