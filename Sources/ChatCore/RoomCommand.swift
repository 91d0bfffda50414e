/// One slash command, declared once: its name, who may run it, its usage and help, and
/// its handler. `/help`, the usage errors, the admin-only refusals and the commands the
/// local operator may run through `chatroomctl` all come from `Room.commands`.
public struct RoomCommand: Sendable {
    public enum Access: Sendable {
        /// Any member.
        case everyone
        /// Members logged in as an admin.
        case admin
    }

    public let name: String
    public let access: Access
    /// Whether the local operator may run it through `chatroomctl` (which needs no member).
    public let operatorMayUse: Bool
    /// What follows the name in the usage line: `<nick> [reason]`.
    public let arguments: String
    /// One line for `/help`.
    public let summary: String
    let run: @Sendable (Room, CommandCall, inout [RoomEffect]) -> CommandResult

    public var usage: String { "/" + name + (arguments.isEmpty ? "" : " " + arguments) }
}

/// How a command ended: for `chatroomctl`'s exit status and JSON `ok`.
public enum CommandResult: Sendable, Equatable {
    case done
    /// Not carried out (a usage error, no such member, ...); the caller was told why.
    case refused
}

/// What a command run by the local operator came to: the lines it was told, and whether
/// it was carried out.
public struct ControlOutcome: Sendable, Equatable {
    public let succeeded: Bool
    public let lines: [String]

    public init(succeeded: Bool, lines: [String]) {
        self.succeeded = succeeded
        self.lines = lines
    }
}

/// One run of a command: who runs it, with what, when.
struct CommandCall {
    let command: RoomCommand
    let arguments: String
    /// Who acts: an admin member or the operator. Every moderation action is logged with it.
    let moderator: Moderator
    /// The member running it, with their connection and peer; nil for the operator.
    let speaker: (client: ClientID, member: Room.Member, peer: String)?
    let now: RoomTime

    var tokens: [String] { arguments.split(whereSeparator: \.isWhitespace).map(String.init) }
}

/// Who performs a command: an admin member, or the local operator through the control
/// socket (`chatroomctl:<user>`).
struct Moderator {
    let name: String
    /// The member's own connection and address, for replies and self-protection checks.
    let client: ClientID?
    let address: IPAddress?
}
