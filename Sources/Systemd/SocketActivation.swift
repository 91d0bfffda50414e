import CSystemd
import Glibc

/// Listening sockets passed in by systemd (`sd_listen_fds(3)`).
public enum SocketActivation {
    public struct InheritedSocket: Sendable, Equatable {
        public let fd: Int32
        /// From `FileDescriptorName=` or the socket unit's name.
        public let name: String
    }

    /// The sockets systemd passed to this process, in order, or an empty list when it
    /// passed none. The `LISTEN_*` variables are removed, so children do not inherit them.
    public static func inheritedSockets() -> [InheritedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(count) { free(names[i]) }
                free(names)
            }
        }
        return (0..<Int(count)).map { i in
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            return InheritedSocket(fd: SD_LISTEN_FDS_START + Int32(i), name: name)
        }
    }
}
