import ChatProtocol

/// The room's topic: one line every joiner sees right after `Connected to the server`,
/// set by admins (`/topic <text>`) or the operator (`chatroomctl topic <text>`), kept in
/// the state directory.
public struct Topic: Equatable, Sendable {
    public var text: String
    public var setBy: String
    /// Wall-clock seconds since the epoch.
    public var setAt: Int64

    public init(text: String, setBy: String, setAt: Int64) {
        self.text = text
        self.setBy = setBy
        self.setAt = setAt
    }

    /// Long enough for a sentence or two, short enough to stay one line on most screens.
    public static let maximumCharacters = 300
}

extension Room {
    static let clearTopicFlag = "--clear"

    /// `/topic` shows it; `/topic <text>` and `/topic --clear` (admins and the operator)
    /// change it, announced to everyone and saved.
    func topicCommand(_ call: CommandCall, _ effects: inout [RoomEffect]) -> CommandResult {
        let text = call.arguments.trimmingWhitespace()
        if text.isEmpty {
            tell(call.moderator, topic.map(Notice.topic) ?? Notice.noTopic, effects: &effects)
            return .done
        }
        if let member = call.speaker?.member, !member.isAdmin {
            return refuse(call.moderator, Notice.topicAdminOnly, effects: &effects)
        }
        if text == Self.clearTopicFlag {
            guard topic != nil else { return refuse(call.moderator, Notice.noTopic, effects: &effects) }
            topic = nil
            broadcast(Notice.topicCleared(by: call.moderator.name), effects: &effects)
        } else {
            guard text.count <= Topic.maximumCharacters else {
                return refuse(call.moderator, Notice.topicTooLong, effects: &effects)
            }
            let next = Topic(text: text, setBy: call.moderator.name, setAt: call.now.unixSeconds)
            topic = next
            broadcast(Notice.topicChanged(next), effects: &effects)
        }
        effects.append(.durableStateChanged)
        _ = publishToOthers(.topic(text: topic?.text, setBy: call.moderator.name, setAt: call.now.unixSeconds))
        effects.append(.log(RoomLogRecord(level: .notice, event: "topic",
                                          message: topic.map { "\(call.moderator.name) set the topic: \($0.text)" }
                                              ?? "\(call.moderator.name) cleared the topic",
                                          fields: ["chat_by": call.moderator.name, "chat_topic": topic?.text ?? ""])))
        if call.moderator.client == nil || memberOrder.isEmpty {
            tell(call.moderator, topic == nil ? "Topic cleared." : "Topic set.", effects: &effects)
        }
        return .done
    }
}
