import ArgumentParser
import ChatProtocol
import SystemCalls

/// A subcommand that is one request to the daemon: `[--json] COMMAND ARGUMENTS`.
protocol ControlRequest: ParsableCommand {
    var options: ControlOptions { get }
    /// The command and its arguments, as the daemon reads them.
    var words: [String] { get }
}

extension ControlRequest {
    func run() throws {
        let json = options.json
        let path = options.socketPath
        let request = ControlSyntax.request(json: json, words: words)
        let reply: ControlReply
        do {
            reply = ControlReply(text: try ControlConnection.exchange(request, path: path), json: json)
        } catch {
            writeStandardError("chatroomctl: \(error.message)\n")
            throw ExitCode(error.exitCode)
        }
        switch reply.outcome {
        case .success:
            print(reply.text)
        case .failure:
            if json { print(reply.text) } else { writeStandardError(reply.text + "\n") }
            throw ExitCode(1)
        case .permissionDenied:
            writeStandardError("chatroomctl: \(path): \(reply.text)\n")
            throw ExitCode(ControlConnection.Failure.permissionDeniedExitCode)
        }
    }
}
