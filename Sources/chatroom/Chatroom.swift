import ArgumentParser
import ChatClient
import ChatProtocol
import Glibc
import Terminal

@main
struct Chatroom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatroom",
        abstract: "Chat in a chatroomd room from the terminal.",
        discussion: """
            Type a line and press Enter to send it. /quit, Ctrl-D on an empty line or Ctrl-C \
            leaves. Admins (nick 'admin') can /kick <nick> and /ban <nick>.

            In a pipe, each input line is sent; at end of input chatroom waits until its last \
            message comes back from the server, then leaves: printf 'hi\\n' | chatroom --nick bot

            Exit codes: 0 after leaving, 1 when the server closed the connection (its last \
            message is printed), 64 usage error, 69 cannot connect.
            """,
        version: ChatroomVersion.current
    )

    @Option(help: "Server host name or address.")
    var host: String = "127.0.0.1"

    @Option(help: "Server port.")
    var port: UInt16 = 12000

    @Option(help: "Your nickname (prompted for when absent). 'admin' logs in as the admin: the password is then read without echo, or as the first line of piped input.")
    var nick: String?

    func validate() throws {
        if let nick, !Self.isAcceptable(nick) {
            throw ValidationError("the nickname must contain at least one letter or digit")
        }
    }

    static func isAcceptable(_ nick: String) -> Bool {
        nick.unicodeScalars.contains { $0.properties.isAlphabetic || $0.properties.numericType != nil }
    }

    func run() throws {
        let interactive = TerminalMode.isTerminal(STDIN_FILENO) && TerminalMode.isTerminal(STDOUT_FILENO)
        guard let nick = nick ?? promptForNick(interactive: interactive) else {
            writeStandardError("chatroom: no nickname given\n")
            throw ExitCode(64)
        }
        var greeting = "NICK:\(nick)"
        if nick == "admin" {
            guard let password = readSecret(prompt: "Password for admin: ") else {
                writeStandardError("chatroom: no password given\n")
                throw ExitCode(64)
            }
            greeting = "admin:\(password)"
        }
        let connection: ServerConnection
        do {
            connection = try ServerConnection(host: host, port: port)
        } catch {
            writeStandardError("chatroom: \(error)\n")
            throw ExitCode(69)
        }
        guard connection.send(greeting) else {
            writeStandardError("chatroom: the connection closed before joining\n")
            throw ExitCode(1)
        }
        let session = ChatSession(connection: connection, nick: nick, interactive: interactive)
        switch session.run() {
        case .quit: return
        case .closedByServer:
            writeStandardError("chatroom: disconnected by the server\n")
            throw ExitCode(1)
        case .echoTimedOut:
            throw ExitCode(1)
        }
    }

    private func promptForNick(interactive: Bool) -> String? {
        while true {
            if TerminalMode.isTerminal(STDIN_FILENO) { writeStandardError("Nickname: ") }
            guard let line = readLineUnbuffered() else { return nil }
            if Self.isAcceptable(line) { return line }
            writeStandardError("A nickname needs at least one letter or digit.\n")
            if !TerminalMode.isTerminal(STDIN_FILENO) { return nil }
        }
    }
}
