import Glibc
import Reactor
import Systemd

/// The descriptors systemd passed at start (`$LISTEN_FDS`), sorted by what they are:
/// listening sockets from chatroomd.socket, and what a predecessor put in the file
/// descriptor store: members' connections, the crash journal, a planned restart's state.
/// Anything else is closed, with a line in the log: a descriptor nobody recognises must
/// not stay open for the life of the process.
struct StoredDescriptors {
    /// The store's names for what the daemon keeps there (short: every stored descriptor's
    /// name comes back in one environment string).
    enum Name {
        static let connection = "c"
        static let journal = CrashJournal.storeName
        static let handover = "handover"
    }

    var listeners: [SocketActivation.InheritedSocket] = []
    /// Connections by their socket's inode.
    var connections: [UInt64: Int32] = [:]
    var journals: [Int32] = []
    var handover: Int32? = nil
    /// What was closed, for the log.
    var unrecognised: [String] = []
    /// The store names of what was closed: removed from the store too, since systemd's
    /// duplicates would otherwise keep them open for the life of the service.
    var unrecognisedNames: Set<String> = []

    var isEmpty: Bool { connections.isEmpty && journals.isEmpty && handover == nil }

    /// Takes what systemd passed (the `LISTEN_*` variables are then removed). A socket
    /// unit's descriptor that is not a listening stream is a configuration error; a
    /// stored one under a name this program does not know (a newer version's) is closed.
    static func take() throws(StartError) -> StoredDescriptors {
        var sorted = StoredDescriptors()
        for inherited in SocketActivation.inheritedSockets() {
            switch inherited.name {
            case Name.connection:
                guard let inode = inode(of: inherited.fd) else {
                    sorted.closeUnrecognised(inherited, why: "not a socket")
                    continue
                }
                sorted.connections[inode] = inherited.fd
            case Name.journal:
                sorted.journals.append(inherited.fd)
            case Name.handover where sorted.handover == nil:
                sorted.handover = inherited.fd
            default:
                if Socket.isListeningStream(inherited.fd) {
                    sorted.listeners.append(inherited)
                } else if inherited.name == "unknown" || inherited.name.hasSuffix(".socket") {
                    throw .inheritedSocket(name: inherited.name, fd: inherited.fd)
                } else {
                    sorted.closeUnrecognised(inherited, why: "not a listening socket")
                }
            }
        }
        return sorted
    }

    private mutating func closeUnrecognised(_ inherited: SocketActivation.InheritedSocket, why: String) {
        unrecognised.append("\(inherited.name) (descriptor \(inherited.fd), \(why))")
        unrecognisedNames.insert(inherited.name)
        close(inherited.fd)
    }

    /// A socket's inode: what identifies a connection across processes.
    static func inode(of fd: Int32) -> UInt64? {
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return nil }
        return UInt64(status.st_ino)
    }
}
