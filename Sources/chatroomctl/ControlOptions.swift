import ArgumentParser
import Glibc

/// The options every subcommand takes, before or after its name.
struct ControlOptions: ParsableArguments {
    static let defaultSocket = "/run/chatroomd/control"

    @Option(help: ArgumentHelp("The daemon's control socket (default: $CHATROOMD_CONTROL_SOCKET, else \(defaultSocket)).",
                               valueName: "path"))
    var socket: String?

    @Flag(help: "Print the daemon's reply as JSON, for scripts.")
    var json = false

    var socketPath: String {
        if let socket { return socket }
        if let fromEnvironment = getenv("CHATROOMD_CONTROL_SOCKET"), fromEnvironment.pointee != 0 {
            return String(cString: fromEnvironment)
        }
        return Self.defaultSocket
    }
}
