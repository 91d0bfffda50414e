import Glibc
import Reactor

/// `--tls`: a spawned daemon serves a throwaway self-signed ECDSA P-256 certificate on a TLS
/// listener, and every bench connection is a TLS client of it, on the bench's own reactor
/// (the daemon's OpenSSL code, as a client). The certificate is not verified: the bench
/// measures the server's cost, and the address is always loopback.
enum BenchTLS {
    nonisolated(unsafe) static var client: TLSContext?
    nonisolated(unsafe) private static var directory: String?

    static func makeClient() throws(BenchError) -> TLSContext {
        if let client { return client }
        do { client = try TLSContext.client(caFile: nil) } catch { throw BenchError("TLS client context: \(error)") }
        return client!
    }

    /// The daemon's flags for a TLS listener with a fresh pair (made once per bench run with
    /// `openssl req`), and no handshake caps (the bench connects from few addresses).
    static func serverArguments() throws(BenchError) -> [String] {
        let directory: String
        if let existing = self.directory { directory = existing } else { directory = try makePair() }
        self.directory = directory
        return ["--listen-tls", "127.0.0.1:0", "--tls-certificate", directory + "/cert.pem", "--tls-key", directory + "/key.pem",
                "--tls-handshakes-per-address", "100000", "--tls-handshakes-in-flight", "1000000"]
    }

    private static func makePair() throws(BenchError) -> String {
        var template = Array("/tmp/chatroom-bench-tls-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchError("mkdtemp: \(Connector.lastError())") }
        let directory = String(cString: made)
        let arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "2",
                         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawnp(&pid, "openssl", &actions, nil, argv, environ) == 0 else {
            throw BenchError("cannot run openssl to make the bench's certificate")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw BenchError("openssl req failed (wait status \(status))") }
        atexit { BenchTLS.removePair() }
        return directory
    }

    static func removePair() {
        guard let directory else { return }
        unlink(directory + "/cert.pem")
        unlink(directory + "/key.pem")
        rmdir(directory)
    }
}
