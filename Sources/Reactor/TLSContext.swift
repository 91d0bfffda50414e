import CTLS
import Glibc

/// An OpenSSL context (`SSL_CTX`): a server's certificate and key, or a client's trusted
/// CAs. TLS 1.2 and 1.3 only, no renegotiation, buffers released while a connection is
/// idle, kernel TLS asked for (see `CTLS`). Sessions keep a reference to the context they
/// were made from, so replacing a server's context (a certificate renewal) leaves
/// established connections on the old pair and gives new handshakes the new one.
public final class TLSContext: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let pointer: OpaquePointer
    public let isServer: Bool

    /// Reads a PEM certificate chain (leaf first) and its private key (ECDSA or RSA).
    public static func server(certificatePath: String, keyPath: String) throws(Failure) -> TLSContext {
        var error = [CChar](repeating: 0, count: 512)
        guard let pointer = ctls_server_context_new(certificatePath, keyPath, &error, error.count) else {
            throw Failure(description: cString(error))
        }
        return TLSContext(pointer, isServer: true)
    }

    /// Trusts `caFile` (PEM), or the system's CAs when nil. Verification does not stop a
    /// handshake; the caller checks the result (`TLSPeer`).
    public static func client(caFile: String?) throws(Failure) -> TLSContext {
        var error = [CChar](repeating: 0, count: 512)
        guard let pointer = ctls_client_context_new(caFile, &error, error.count) else {
            throw Failure(description: cString(error))
        }
        return TLSContext(pointer, isServer: false)
    }

    private init(_ pointer: OpaquePointer, isServer: Bool) {
        self.pointer = pointer
        self.isServer = isServer
    }

    deinit { ctls_context_free(pointer) }

    /// How records are sent, for the start-up log: kernel TLS needs OpenSSL built with it
    /// and the kernel's `tls` module; without either OpenSSL encrypts in user space.
    public static var transmitPath: String {
        guard ctls_ktls_compiled() != 0 else { return "user-space encryption (this OpenSSL has no kernel TLS)" }
        if kernelTLSPossible {
            return "kernel TLS where the cipher allows it (SSL_OP_ENABLE_KTLS; records then leave through writev)"
        }
        return "user-space encryption (kernel TLS unavailable: no tls module loaded)"
    }

    /// Whether the kernel's `tls` module is loaded or built in.
    public static var kernelHasTLSModule: Bool {
        access("/sys/module/tls", F_OK) == 0
    }

    /// Whether records may go out through kernel TLS: this OpenSSL built with it, and the
    /// kernel able to. The one test for batching, the log and the journal field.
    public static var kernelTLSPossible: Bool {
        ctls_ktls_compiled() != 0 && kernelHasTLSModule
    }
}

/// The text in a NUL-terminated buffer a C function filled.
func cString(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
