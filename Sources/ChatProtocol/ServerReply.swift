/// Server texts that clients act on, shared so the client and the Room agree.
public enum ServerReply {
    /// The first frame a newcomer receives once it has joined.
    public static let connected = "Connected to the server"
}
