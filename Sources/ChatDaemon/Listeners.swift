import Glibc
import Logging
import Reactor
import Systemd

/// Opens what the daemon listens on: the sockets systemd passed in if any (binding nothing
/// then), otherwise the configured addresses; and the control socket.
struct Listeners {
    let reactor: Reactor
    let log: (_ level: Logger.Level, _ event: String, _ message: String, _ fields: [String: String]) -> Void
    let warn: (String) -> Void

    /// Opens the plaintext and the TLS listeners; returns the TLS listeners' descriptors.
    /// Of systemd's listening sockets (`StoredDescriptors`), the one named `tls`
    /// (`FileDescriptorName=tls`) is TLS.
    func openChat(configured: [String], secure: [String], inherited: [SocketActivation.InheritedSocket]) throws(StartError) -> [Int32] {
        if !inherited.isEmpty {
            var secureDescriptors: [Int32] = []
            for socket in inherited {
                let isSecure = socket.name == "tls"
                try adopt(socket.fd, origin: " from systemd (\(socket.name))", secure: isSecure)
                if isSecure { secureDescriptors.append(socket.fd) }
            }
            return secureDescriptors
        }
        try openPlain(configured: configured)
        var secureDescriptors: [Int32] = []
        for text in secure {
            let address: SocketAddress
            do { address = try SocketAddress(parsing: text) } catch { throw .configuration("\(error)") }
            let fd: Int32
            do { fd = try Socket.listen(on: address) } catch { throw .listen(text, error) }
            try adopt(fd, origin: "", secure: true)
            secureDescriptors.append(fd)
        }
        return secureDescriptors
    }

    private func openPlain(configured: [String]) throws(StartError) {
        let isDefault = configured.isEmpty
        for text in isDefault ? ["[::]:12000"] : configured {
            let address: SocketAddress
            do { address = try SocketAddress(parsing: text) } catch { throw .configuration("\(error)") }
            do {
                try adopt(try Socket.listen(on: address), origin: "")
            } catch let error as SystemCallError {
                // The default dual-stack address on a host without IPv6.
                guard isDefault, error.errno == EAFNOSUPPORT, let fallback = SocketAddress.ipv4("0.0.0.0", port: address.port) else {
                    throw .listen(text, error)
                }
                warn("IPv6 is unavailable; listening on IPv4 only")
                do { try adopt(try Socket.listen(on: fallback), origin: "") } catch let error as SystemCallError {
                    throw .listen("\(fallback)", error)
                } catch { throw error as! StartError }
            } catch {
                throw error as! StartError
            }
        }
    }

    /// The control socket, at its configured path or `$RUNTIME_DIRECTORY/control`; nil
    /// when there is none. One daemon per control socket: if something answers on the
    /// path already, starting is a configuration error (two daemons would fight over it,
    /// and chatroomctl would reach whichever bound last); a stale file is replaced.
    func openControl(path configured: String?, group: String?, environment: [String: String]) throws(StartError) -> (ListenerID, UnixSocketFile)? {
        let path = configured ?? environment["RUNTIME_DIRECTORY"].map { String($0.split(separator: ":").first ?? "") + "/control" }
        guard let path, path != "none" else { return nil }
        let fd: Int32
        let file: UnixSocketFile
        do {
            (fd, file) = try Socket.listenUnix(path: path, mode: group == nil ? 0o600 : 0o660)
        } catch where error.errno == EADDRINUSE {
            throw .controlSocketInUse(path: path)
        } catch {
            throw .listen(path, error)
        }
        if let group, let entry = getgrnam(group) {
            _ = chown(path, UInt32.max, entry.pointee.gr_gid)  // -1 keeps the owner
        }
        do {
            let listener = try reactor.addListener(fd: fd)
            log(.info, "control-listen", "control socket at \(path)", ["chat_address": path])
            return (listener, file)
        } catch {
            file.removeIfStillOurs()
            throw .setup(error)
        }
    }

    private func adopt(_ fd: Int32, origin: String, secure: Bool = false) throws(StartError) {
        do {
            try reactor.addListener(fd: fd, secure: secure)
            let address = try Socket.localAddress(fd)
            log(.notice, "listen", "listening on \(address)\(secure ? " (TLS)" : "")\(origin)", ["chat_address": "\(address)"])
        } catch {
            throw .setup(error)
        }
    }
}
