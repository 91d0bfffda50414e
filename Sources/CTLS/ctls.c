#include "ctls.h"

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

static void copy_error(const char *prefix, char *error, size_t size) {
    if (error == NULL || size == 0) return;
    unsigned long code = ERR_get_error();
    unsigned long last;
    // The first error is usually the cause, the last the most specific: report the last.
    while ((last = ERR_get_error()) != 0) code = last;
    char reason[256] = "unknown error";
    if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
    snprintf(error, size, "%s: %s", prefix, reason);
}

static SSL_CTX *common_context(const SSL_METHOD *method) {
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (ctx == NULL) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;
#ifdef SSL_OP_ENABLE_KTLS
    options |= SSL_OP_ENABLE_KTLS;
#endif
    SSL_CTX_set_options(ctx, options);
    // Idle connections give their read and write buffers (~34 KiB) back; the queued
    // frames may sit in a different place on a retried write (the caller copies them
    // into its scratch buffer again).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

ctls_context *ctls_server_context_new(const char *certificate_path, const char *key_path, char *error, size_t size) {
    ERR_clear_error();
    SSL_CTX *ctx = common_context(TLS_server_method());
    if (ctx == NULL) { copy_error("SSL_CTX_new", error, size); return NULL; }
    if (SSL_CTX_use_certificate_chain_file(ctx, certificate_path) != 1) {
        copy_error("reading the certificate", error, size);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        copy_error("reading the key", error, size);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        copy_error("the key does not match the certificate", error, size);
        SSL_CTX_free(ctx);
        return NULL;
    }
    // The server picks the cipher, from forward-secret AEAD suites only, AES-128-GCM first:
    // as strong as TLS needs (the suite TLS 1.3 makes mandatory) and the cheapest with
    // AES-NI, which matters when every line is encrypted once per member.
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1 ||
        SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        copy_error("setting the cipher suites", error, size);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return (ctls_context *)ctx;
}

ctls_context *ctls_client_context_new(const char *ca_file, char *error, size_t size) {
    ERR_clear_error();
    SSL_CTX *ctx = common_context(TLS_client_method());
    if (ctx == NULL) { copy_error("SSL_CTX_new", error, size); return NULL; }
    int loaded = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
    if (loaded != 1) {
        copy_error(ca_file != NULL ? "reading the CA file" : "loading the system CAs", error, size);
        SSL_CTX_free(ctx);
        return NULL;
    }
    // Verified, but not fatal: the caller decides on the result (trust on first use).
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    return (ctls_context *)ctx;
}

void ctls_context_free(ctls_context *context) { SSL_CTX_free((SSL_CTX *)context); }

// The session and the text of its last failure (OpenSSL's error queue is per thread and
// is cleared by the next call, so the text is kept here). A batched session's records go
// through `out_write` below: into the caller's staging buffer during a batch, else
// straight to the socket, and what the socket does not take waits in `backlog`.
struct ctls_session {
    SSL *ssl;
    int fd;
    unsigned char *staging;
    size_t staging_capacity, staging_length;
    unsigned char *backlog;
    size_t backlog_length, backlog_offset;
    int write_errno;
    char error[200];
};

// Appends to the backlog (ciphertext the socket has not taken yet). 0, or -1 out of memory.
static int backlog_append(ctls_session *s, const unsigned char *data, size_t length) {
    if (length == 0) return 0;
    if (s->backlog_offset > 0) {
        memmove(s->backlog, s->backlog + s->backlog_offset, s->backlog_length - s->backlog_offset);
        s->backlog_length -= s->backlog_offset;
        s->backlog_offset = 0;
    }
    unsigned char *grown = realloc(s->backlog, s->backlog_length + length);
    if (grown == NULL) return -1;
    memcpy(grown + s->backlog_length, data, length);
    s->backlog = grown;
    s->backlog_length += length;
    return 0;
}

// Writes what it can of `data` to the socket and keeps the rest. 0, or -1 with errno.
static int send_or_keep(ctls_session *s, const unsigned char *data, size_t length) {
    size_t sent = 0;
    if (s->backlog_length == s->backlog_offset) {
        while (sent < length) {
            ssize_t n = send(s->fd, data + sent, length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) { sent += (size_t)n; continue; }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            s->write_errno = n < 0 ? errno : EPIPE;
            return -1;
        }
    }
    if (backlog_append(s, data + sent, length - sent) != 0) { s->write_errno = ENOMEM; return -1; }
    return 0;
}

static int out_write(BIO *bio, const char *data, int length) {
    ctls_session *s = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (s->staging != NULL) {
        if (s->staging_length + (size_t)length > s->staging_capacity) { s->write_errno = ENOBUFS; return -1; }
        memcpy(s->staging + s->staging_length, data, (size_t)length);
        s->staging_length += (size_t)length;
        return length;
    }
    return send_or_keep(s, (const unsigned char *)data, (size_t)length) == 0 ? length : -1;
}

static long out_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)bio; (void)number; (void)pointer;
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *out_method(void) {
    static BIO_METHOD *method = NULL;  // made once; the daemon is single-threaded
    if (method == NULL) {
        method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "chatroomd records out");
        if (method == NULL) return NULL;
        BIO_meth_set_write(method, out_write);
        BIO_meth_set_ctrl(method, out_ctrl);
    }
    return method;
}

ctls_session *ctls_session_new(ctls_context *context, int fd, int is_server, int batched) {
    ERR_clear_error();
    ctls_session *session = calloc(1, sizeof *session);
    if (session == NULL) return NULL;
    session->fd = fd;
    session->ssl = SSL_new((SSL_CTX *)context);
    if (session->ssl == NULL) { free(session); return NULL; }
    int ok;
    if (batched) {
        BIO *in = BIO_new_socket(fd, BIO_NOCLOSE);
        BIO_METHOD *method = out_method();
        BIO *out = method != NULL ? BIO_new(method) : NULL;
        ok = in != NULL && out != NULL;
        if (ok) {
            BIO_set_data(out, session);
            BIO_set_init(out, 1);
            SSL_set_bio(session->ssl, in, out);
        } else {
            BIO_free(in);
            BIO_free(out);
        }
    } else {
        ok = SSL_set_fd(session->ssl, fd) == 1;
    }
    if (!ok) {
        SSL_free(session->ssl);
        free(session);
        return NULL;
    }
    if (is_server) SSL_set_accept_state(session->ssl); else SSL_set_connect_state(session->ssl);
    return session;
}

void ctls_session_free(ctls_session *session) {
    if (session == NULL) return;
    SSL_free(session->ssl);
    free(session->backlog);
    free(session);
}

void ctls_batch_begin(ctls_session *session, void *staging, size_t capacity) {
    session->staging = staging;
    session->staging_capacity = capacity;
    session->staging_length = 0;
}

int ctls_batch_end(ctls_session *session) {
    unsigned char *staging = session->staging;
    session->staging = NULL;
    if (send_or_keep(session, staging, session->staging_length) != 0) {
        snprintf(session->error, sizeof session->error, "TLS write: %s", strerror(session->write_errno));
        return CTLS_FAILED;
    }
    return session->backlog_length > session->backlog_offset ? CTLS_WANT_WRITE : CTLS_DONE;
}

int ctls_has_backlog(ctls_session *session) { return session->backlog_length > session->backlog_offset; }

int ctls_flush_backlog(ctls_session *session) {
    while (session->backlog_offset < session->backlog_length) {
        ssize_t n = send(session->fd, session->backlog + session->backlog_offset,
                         session->backlog_length - session->backlog_offset, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) { session->backlog_offset += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return CTLS_WANT_WRITE;
        snprintf(session->error, sizeof session->error, "TLS write: %s", strerror(n < 0 ? errno : EPIPE));
        return CTLS_FAILED;
    }
    free(session->backlog);  // idle connections keep no buffer
    session->backlog = NULL;
    session->backlog_length = session->backlog_offset = 0;
    return CTLS_DONE;
}

int ctls_session_set_host(ctls_session *session, const char *host) {
    ERR_clear_error();
    // An address literal is checked against the certificate's IP entries and is not sent
    // as SNI (RFC 6066 allows names only).
    X509_VERIFY_PARAM *param = SSL_get0_param(session->ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1) return 0;
    ERR_clear_error();
    if (SSL_set_tlsext_host_name(session->ssl, host) != 1) return -1;
    return SSL_set1_host(session->ssl, host) == 1 ? 0 : -1;
}

// Maps a failed call's SSL_get_error to a result, keeping the reason of a failure.
static long failure(ctls_session *session, int result, const char *operation) {
    int code = SSL_get_error(session->ssl, result);
    switch (code) {
    case SSL_ERROR_WANT_READ: return CTLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return CTLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return CTLS_DONE;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (session->write_errno != 0) {
                snprintf(session->error, sizeof session->error, "%s: %s", operation, strerror(session->write_errno));
                return CTLS_FAILED;
            }
            if (errno == 0) return CTLS_DONE;  // EOF without close_notify (allowed: frames carry their length)
            snprintf(session->error, sizeof session->error, "%s: %s", operation, strerror(errno));
            return CTLS_FAILED;
        }
        /* fall through */
    default:
        copy_error(operation, session->error, sizeof session->error);
        return CTLS_FAILED;
    }
}

int ctls_handshake(ctls_session *session) {
    ERR_clear_error();
    session->write_errno = 0;
    errno = 0;
    int result = SSL_do_handshake(session->ssl);
    if (result == 1) return CTLS_DONE;
    long mapped = failure(session, result, "TLS handshake");
    if (mapped == CTLS_DONE) {
        snprintf(session->error, sizeof session->error, "TLS handshake: the peer closed the connection");
        return CTLS_FAILED;
    }
    return (int)mapped;
}

long ctls_read(ctls_session *session, void *buffer, size_t count) {
    ERR_clear_error();
    session->write_errno = 0;
    errno = 0;
    size_t done = 0;
    int result = SSL_read_ex(session->ssl, buffer, count, &done);
    if (result == 1) return (long)done;
    return failure(session, 0, "TLS read");
}

long ctls_write(ctls_session *session, const void *buffer, size_t count) {
    ERR_clear_error();
    session->write_errno = 0;
    errno = 0;
    size_t done = 0;
    int result = SSL_write_ex(session->ssl, buffer, count, &done);
    if (result == 1) return (long)done;
    long mapped = failure(session, 0, "TLS write");
    if (mapped == CTLS_DONE) {
        snprintf(session->error, sizeof session->error, "TLS write: the peer closed the connection");
        return CTLS_FAILED;
    }
    return mapped;
}

int ctls_pending(ctls_session *session) { return SSL_has_pending(session->ssl); }

void ctls_shutdown(ctls_session *session) {
    ERR_clear_error();
    if (SSL_is_init_finished(session->ssl)) (void)SSL_shutdown(session->ssl);
    ERR_clear_error();
}

void ctls_session_error(ctls_session *session, char *error, size_t size) {
    snprintf(error, size, "%s", session->error[0] ? session->error : "TLS: unknown error");
}

int ctls_session_ktls_send(ctls_session *session) {
    BIO *wbio = SSL_get_wbio(session->ssl);
    return wbio != NULL && BIO_get_ktls_send(wbio) ? 1 : 0;
}

const char *ctls_session_version(ctls_session *session) { return SSL_get_version(session->ssl); }

const char *ctls_session_cipher(ctls_session *session) { return SSL_get_cipher_name(session->ssl); }

long ctls_session_verify_result(ctls_session *session) { return SSL_get_verify_result(session->ssl); }

const char *ctls_verify_result_text(long result) { return X509_verify_cert_error_string(result); }

int ctls_session_peer_fingerprint(ctls_session *session, unsigned char out[32]) {
    X509 *certificate = SSL_get1_peer_certificate(session->ssl);
    if (certificate == NULL) return -1;
    unsigned int length = 0;
    int ok = X509_digest(certificate, EVP_sha256(), out, &length);
    X509_free(certificate);
    return ok == 1 && length == 32 ? 0 : -1;
}

int ctls_ktls_compiled(void) {
#ifdef OPENSSL_NO_KTLS
    return 0;
#else
    return 1;
#endif
}
