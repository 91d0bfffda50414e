import ArgumentParser

/// Subcommands that read the daemon's state, and reload.
extension Chatroomctl {
    struct Who: ControlRequest {
        static let configuration = CommandConfiguration(abstract: "List the members online, with their addresses.")
        @OptionGroup var options: ControlOptions
        var words: [String] { ["who"] }
    }

    struct Bans: ControlRequest {
        static let configuration = CommandConfiguration(abstract: "List bans and mutes with the time left.")
        @OptionGroup var options: ControlOptions
        var words: [String] { ["bans"] }
    }

    struct Stats: ControlRequest {
        static let configuration = CommandConfiguration(abstract: "Show members, connections, messages relayed, bans, mutes, slowmode and uptime.")
        @OptionGroup var options: ControlOptions
        var words: [String] { ["stats"] }
    }

    struct Reload: ControlRequest {
        static let configuration = CommandConfiguration(
            abstract: "Read the configuration again and apply it, like SIGHUP.",
            discussion: "All or nothing: on an error the running configuration is kept and chatroomctl exits 1.")
        @OptionGroup var options: ControlOptions
        var words: [String] { ["reload"] }
    }

    struct Restart: ControlRequest {
        static let configuration = CommandConfiguration(
            abstract: "Restart the daemon without dropping anyone, like SIGUSR2.",
            discussion: """
                After a trial run of the program at its own path (a newly installed version, \
                after an upgrade), the daemon becomes it in place with every connection and the \
                room's state; members see a short pause. If the trial fails, the old program \
                carries on and chatroomctl exits 1 with the reason.
                """)
        @OptionGroup var options: ControlOptions
        var words: [String] { ["restart"] }
    }
}
