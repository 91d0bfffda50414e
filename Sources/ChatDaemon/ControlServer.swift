import ChatProtocol
import Logging
import Reactor

/// The control socket's connections: each is checked against `ControlAccess` when
/// accepted, sends one request frame within a deadline, gets one reply frame, and is closed.
final class ControlServer {
    /// A chatroomctl connection waiting for its request.
    final class Session {
        var decoder = FrameDecoder(maximumPayloadLength: 64 << 10)
        let actor: String
        var deadline: TimerID? = nil
        init(actor: String) { self.actor = actor }
    }

    static let requestDeadlineNanoseconds: UInt64 = 10_000_000_000

    private let reactor: Reactor
    private let access: ControlAccess
    private let answer: (_ request: String, _ actor: String, _ connection: ConnectionID) -> String
    private let log: (_ level: Logger.Level, _ event: String, _ message: String, _ fields: [String: String]) -> Void
    let listener: ListenerID
    /// Removed at stop only if still ours (`UnixSocketFile.removeIfStillOurs`).
    let socketFile: UnixSocketFile
    var path: String { socketFile.path }
    private var sessions: [ConnectionID: Session] = [:]

    init(reactor: Reactor, listener: ListenerID, path socketFile: UnixSocketFile, access: ControlAccess,
         answer: @escaping (String, String, ConnectionID) -> String,
         log: @escaping (Logger.Level, String, String, [String: String]) -> Void) {
        self.reactor = reactor
        self.listener = listener
        self.socketFile = socketFile
        self.access = access
        self.answer = answer
        self.log = log
    }

    func accepted(_ connection: ConnectionID) {
        guard let credentials = reactor.peerCredentials(connection),
              access.allows(uid: credentials.uid, gid: credentials.gid) else {
            let who = reactor.peerCredentials(connection).map { "uid \($0.uid)" } ?? "unknown peer"
            reactor.send(FrameEncoder.frame(ControlSyntax.permissionDeniedPrefix + " (root, the daemon's user or group \(access.groupName ?? "(none configured)") only)"), to: connection)
            reactor.close(connection, reason: "control access refused")
            log(.warning, "control-refused", "refused a control connection from \(who)", ["chat_peer": who])
            return
        }
        let session = Session(actor: "chatroomctl:" + (ControlAccess.userName(credentials.uid) ?? "uid\(credentials.uid)"))
        sessions[connection] = session
        // A request is one small frame; a client that does not finish it is dropped.
        session.deadline = reactor.schedule(afterNanoseconds: Self.requestDeadlineNanoseconds) { [weak self] in
            guard let self, self.sessions.removeValue(forKey: connection) != nil else { return }
            self.reactor.close(connection, reason: "control request timed out")
        }
    }

    /// Handles bytes if the connection is a control connection; false if it is not.
    func received(_ bytes: UnsafeRawBufferPointer, on connection: ConnectionID) -> Bool {
        guard let session = sessions[connection] else { return false }
        var request: String? = nil
        do {
            try session.decoder.feed(bytes) { payload in
                request = String(decoding: payload, as: UTF8.self)
                return false  // one request per connection
            }
        } catch {
            finish(connection, session, reply: ControlSyntax.errorPrefix + "\(error)", reason: "control protocol error")
            return true
        }
        if let request { finish(connection, session, reply: answer(request, session.actor, connection), reason: "control request done") }
        return true
    }

    func closed(_ connection: ConnectionID) {
        if let session = sessions.removeValue(forKey: connection), let deadline = session.deadline { reactor.cancel(deadline) }
    }

    func closeAll() {
        for (connection, session) in sessions {
            if let deadline = session.deadline { reactor.cancel(deadline) }
            reactor.close(connection, reason: "server shutting down")
        }
        sessions.removeAll()
    }

    private func finish(_ connection: ConnectionID, _ session: Session, reply: String, reason: String) {
        sessions[connection] = nil
        if let deadline = session.deadline { reactor.cancel(deadline) }
        reactor.send(FrameEncoder.frame(reply), to: connection)
        reactor.close(connection, reason: reason)
    }
}
