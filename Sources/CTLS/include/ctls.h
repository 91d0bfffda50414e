#ifndef CTLS_H
#define CTLS_H
#include <stddef.h>
#include <stdint.h>

// OpenSSL 3 behind small non-variadic functions, so that Swift sees no macro, no variadic
// call and no OpenSSL type: contexts and sessions are opaque pointers. Every function
// clears OpenSSL's (thread-local) error queue before it starts, so an error reported is
// the one this call caused. Errors are returned as text through `error`/`size`.

typedef struct ctls_context ctls_context;   // SSL_CTX
typedef struct ctls_session ctls_session;   // SSL

// Results of ctls_handshake, ctls_read and ctls_write besides a byte count.
enum {
    CTLS_DONE = 0,          // handshake: finished; read: the peer closed (close_notify or EOF)
    CTLS_WANT_READ = -1,    // wait for the socket to be readable, then call again
    CTLS_WANT_WRITE = -2,   // wait for the socket to be writable, then call again
    CTLS_FAILED = -3,       // the session is unusable: see ctls_session_error
};

// A server context: TLS 1.2 and 1.3 only, no renegotiation, no compression, kernel TLS
// asked for where OpenSSL and the kernel support it, buffers released while idle. The
// certificate file holds the chain (leaf first); the key may be ECDSA or RSA.
ctls_context *ctls_server_context_new(const char *certificate_path, const char *key_path, char *error, size_t size);
// A client context. `ca_file` NULL means the system's CAs. The certificate is checked
// (chain and, with ctls_session_set_host, the name) but a failure does not stop the
// handshake: the caller reads ctls_session_verify_result and decides (trust on first use).
ctls_context *ctls_client_context_new(const char *ca_file, char *error, size_t size);
void ctls_context_free(ctls_context *context);

// A session on a connected non-blocking socket, as the server or as the client.
//
// `batched` = 0: OpenSSL reads and writes the socket itself (SSL_set_fd), one write per
// record; kernel TLS can take over. `batched` = 1: records are collected and sent with one
// write per batch (see ctls_batch_begin), and a write never fails for a full socket: what
// the socket does not take waits in the session's backlog (ctls_flush_backlog), so
// ctls_write and ctls_handshake never return CTLS_WANT_WRITE.
ctls_session *ctls_session_new(ctls_context *context, int fd, int is_server, int batched);
// Batched sessions: records written until ctls_batch_end go into `staging` (which must
// hold them all: 16 KiB plus 256 bytes per record) and leave in one send. Returns
// CTLS_DONE, CTLS_WANT_WRITE (some wait in the backlog) or CTLS_FAILED.
void ctls_batch_begin(ctls_session *session, void *staging, size_t capacity);
int ctls_batch_end(ctls_session *session);
// Whether ciphertext waits for the socket, and sending it: CTLS_DONE when all is sent (the
// backlog's memory is freed), CTLS_WANT_WRITE, CTLS_FAILED.
int ctls_has_backlog(ctls_session *session);
int ctls_flush_backlog(ctls_session *session);
void ctls_session_free(ctls_session *session);
// The name a client expects (SNI, and checked against the certificate). 0 on success.
int ctls_session_set_host(ctls_session *session, const char *host);

int ctls_handshake(ctls_session *session);
// > 0 bytes, or one of CTLS_DONE (peer closed), CTLS_WANT_*, CTLS_FAILED.
long ctls_read(ctls_session *session, void *buffer, size_t count);
// Writes `count` bytes as one record when count <= 16384. After CTLS_WANT_*, call again
// with the same bytes and the same count. Returns count, or CTLS_WANT_*, CTLS_FAILED.
long ctls_write(ctls_session *session, const void *buffer, size_t count);
// Decrypted or undecrypted bytes OpenSSL holds that a read would return without the socket.
int ctls_pending(ctls_session *session);
// Sends close_notify (once, best effort, non-blocking).
void ctls_shutdown(ctls_session *session);

// Why the session failed (the last error of its last call), as text.
void ctls_session_error(ctls_session *session, char *error, size_t size);
// 1 when records are sent by the kernel (kTLS): plain write/writev on the socket then
// sends encrypted records.
int ctls_session_ktls_send(ctls_session *session);
// "TLSv1.3", "TLSv1.2", ... and the cipher suite's name.
const char *ctls_session_version(ctls_session *session);
const char *ctls_session_cipher(ctls_session *session);
// The chain check's result (0 is X509_V_OK) and its text.
long ctls_session_verify_result(ctls_session *session);
const char *ctls_verify_result_text(long result);
// SHA-256 of the peer certificate's DER into `out`; 0 on success, -1 without a certificate.
int ctls_session_peer_fingerprint(ctls_session *session, unsigned char out[32]);

// 1 if this OpenSSL was built with kernel TLS support.
int ctls_ktls_compiled(void);

#endif
