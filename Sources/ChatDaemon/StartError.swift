import Reactor

/// Why the daemon could not start, with the `sysexits.h` status it exits with.
public enum StartError: Error, CustomStringConvertible {
    case listen(String, SystemCallError)
    case setup(SystemCallError)
    case inheritedSocket(name: String, fd: Int32)
    case configuration(String)
    /// Something (another chatroomd, most likely) answers on the control socket's path.
    case controlSocketInUse(path: String)

    public var description: String {
        switch self {
        case let .listen(address, error): return "cannot listen on \(address): \(error)"
        case let .setup(error): return "cannot set up the event loop: \(error)"
        case let .inheritedSocket(name, fd):
            return "socket \(name) (fd \(fd)) passed by systemd is not a listening stream socket; check ListenStream= in the .socket unit"
        case let .configuration(text): return text
        case let .controlSocketInUse(path):
            return "control socket \(path) is in use: another process (a running chatroomd?) answers on it; stop it or set another control-socket"
        }
    }

    /// Configuration problems are EX_CONFIG (78), the rest EX_OSERR (71).
    public var exitCode: Int32 {
        switch self {
        case .configuration, .inheritedSocket, .controlSocketInUse: return 78
        case .listen, .setup: return 71
        }
    }
}
