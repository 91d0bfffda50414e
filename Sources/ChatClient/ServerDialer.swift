import ChatProtocol

/// How to reach the server and introduce oneself again: kept by the session so that it
/// can reconnect on its own. The admin password (read once, without echo) is kept in
/// memory for the session's life so that an admin rejoins as admin.
public struct ServerDialer: Sendable {
    public var host: String
    public var port: UInt16
    public var adminPassword: String?
    /// Per address, when reconnecting: the input loop waits for it.
    public var timeoutSeconds: Double
    /// TLS, with the client's trust settings; nil for plaintext.
    public var tls: ClientTLS?

    public init(host: String, port: UInt16, adminPassword: String? = nil, timeoutSeconds: Double = 3, tls: ClientTLS? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.adminPassword = adminPassword
        self.timeoutSeconds = timeoutSeconds
    }

    /// The first frame: `NICK:alice`, or `admin:<password>` for the admin.
    public func greeting(nick: String) -> String? {
        guard nick == "admin" else { return ClientRequest.nickPrefix + nick }
        return adminPassword.map { ClientRequest.adminPrefix + $0 }
    }

    /// Connects and sends the greeting.
    public func dial(nick: String) throws -> ServerConnection {
        guard let greeting = greeting(nick: nick) else {
            throw ServerConnection.ConnectError(description: "no admin password to log in with")
        }
        let connection = try ServerConnection(host: host, port: port, timeoutSeconds: timeoutSeconds, tls: tls)
        guard connection.send(greeting) else {
            throw ServerConnection.ConnectError(description: "the connection closed before joining")
        }
        return connection
    }
}
