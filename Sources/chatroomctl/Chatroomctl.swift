import ArgumentParser
import ChatProtocol

@main
struct Chatroomctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatroomctl",
        abstract: "Administer a running chatroomd through its local control socket.",
        discussion: """
            Moderation goes through the room exactly like an admin's /command, and the \
            daemon's log names the actor chatroomctl:<your user>. Only root, the daemon's \
            user and members of its control-group may use the socket.

            Durations: 30s 10m 2h 7d 1h30m; none means permanent.

            Exit codes: 0 done, 1 the daemon reported an error, 64 usage error, \
            69 the daemon is unreachable, 76 the reply was not understood, 77 permission denied.
            """,
        version: ChatroomVersion.current,
        subcommands: [
            Who.self, Bans.self, Stats.self, Reload.self, Restart.self,
            Topic.self, Kick.self, Ban.self, Unban.self, Mute.self, Unmute.self, Slowmode.self, Say.self,
        ]
    )

    // Parsed here when given before the subcommand; each subcommand's own group reuses the value.
    @OptionGroup var options: ControlOptions
}
