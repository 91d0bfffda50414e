import ArgumentParser
import ChatCore

/// Subcommands that act on the room exactly like an admin's /command. Which commands the
/// operator may run, and their one-line help, come from the Room's command table.
extension Chatroomctl {
    struct Kick: ControlRequest {
        static let configuration = roomCommand("kick", discussion: "Example: chatroomctl kick bob stop shouting")
        @OptionGroup var options: ControlOptions
        @Argument(help: "The member's nickname.") var nick: String
        @Argument(help: "Why, shown to the room.") var reason: [String] = []
        var words: [String] { ["kick", nick] + reason }
    }

    struct Ban: ControlRequest {
        static let configuration = roomCommand(
            "ban",
            discussion: """
                The first word after the target is a duration if it reads as one (30s 10m 2h 7d 1h30m); \
                without one the ban is permanent. The rest is the reason.
                Examples: chatroomctl ban 127.0.0.2 10m spamming
                          chatroomctl ban bob --purge 1h
                """)
        @OptionGroup var options: ControlOptions
        @Argument(help: "A nickname online, an address, or a CIDR range.") var target: String
        @Flag(help: "Also remove the banned addresses' lines from the history.") var purge = false
        @Argument(help: ArgumentHelp("An optional duration, then the reason.", valueName: "duration-and-reason"))
        var rest: [String] = []
        var words: [String] { ["ban", target] + (purge ? ["--purge"] : []) + rest }
    }

    struct Unban: ControlRequest {
        static let configuration = roomCommand("unban")
        @OptionGroup var options: ControlOptions
        @Argument(help: "An address, a CIDR range, or the nickname a ban was set on.") var target: String
        var words: [String] { ["unban", target] }
    }

    struct Mute: ControlRequest {
        static let configuration = roomCommand(
            "mute", discussion: "The first word after the nickname is a duration if it reads as one; the rest is the reason.")
        @OptionGroup var options: ControlOptions
        @Argument(help: "The member's nickname.") var nick: String
        @Argument(help: ArgumentHelp("An optional duration, then the reason.", valueName: "duration-and-reason"))
        var rest: [String] = []
        var words: [String] { ["mute", nick] + rest }
    }

    struct Unmute: ControlRequest {
        static let configuration = roomCommand("unmute")
        @OptionGroup var options: ControlOptions
        @Argument(help: "The member's nickname.") var nick: String
        var words: [String] { ["unmute", nick] }
    }

    struct Slowmode: ControlRequest {
        static let configuration = roomCommand("slowmode")
        @OptionGroup var options: ControlOptions
        @Argument(help: ArgumentHelp("Seconds or a duration (at most 1d), or off.", valueName: "seconds|off"))
        var interval: String
        var words: [String] { ["slowmode", interval] }
    }

    struct Say: ControlRequest {
        static let configuration = roomCommand("say", discussion: "Members see it as [server] <text>.")
        @OptionGroup var options: ControlOptions
        @Argument(help: "The notice.") var text: [String]

        func validate() throws {
            if text.allSatisfy({ $0.allSatisfy(\.isWhitespace) }) { throw ValidationError("nothing to say") }
            if text.contains(where: { $0.contains(where: \.isNewline) }) { throw ValidationError("the notice must be one line") }
        }

        var words: [String] { ["say"] + text }
    }

    struct Topic: ControlRequest {
        static let configuration = roomCommand(
            "topic", discussion: "Without text, prints the topic. Joiners see it right after 'Connected to the server'.")
        @OptionGroup var options: ControlOptions
        @Flag(help: "Remove the topic.") var clear = false
        @Argument(help: "The new topic.") var text: [String] = []

        func validate() throws {
            if clear && !text.isEmpty { throw ValidationError("give either --clear or a topic, not both") }
            if text.contains(where: { $0.contains(where: \.isNewline) }) { throw ValidationError("the topic must be one line") }
        }

        var words: [String] { ["topic"] + (clear ? ["--clear"] : text) }
    }

    /// A subcommand's help from the Room's table: its summary and its usage as an admin types it.
    static func roomCommand(_ name: String, discussion: String = "") -> CommandConfiguration {
        guard let command = Room.command(named: name), command.operatorMayUse else {
            preconditionFailure("chatroomctl offers \(name), which the Room's table does not give the operator")
        }
        let summary = command.summary.prefix(1).uppercased() + command.summary.dropFirst() + "."
        return CommandConfiguration(commandName: name, abstract: summary,
                                    discussion: "The same as an admin's \(command.usage)." + (discussion.isEmpty ? "" : "\n" + discussion))
    }
}
