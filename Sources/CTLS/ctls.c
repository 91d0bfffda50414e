#include "ctls.h"

#include <errno.h>
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
    // The server picks the cipher: its list puts forward-secret AEADs first.
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
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
// is cleared by the next call, so the text is kept here).
struct ctls_session {
    SSL *ssl;
    char error[200];
};

ctls_session *ctls_session_new(ctls_context *context, int fd, int is_server) {
    ERR_clear_error();
    ctls_session *session = calloc(1, sizeof *session);
    if (session == NULL) return NULL;
    session->ssl = SSL_new((SSL_CTX *)context);
    if (session->ssl == NULL || SSL_set_fd(session->ssl, fd) != 1) {
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
    free(session);
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
    errno = 0;
    size_t done = 0;
    int result = SSL_read_ex(session->ssl, buffer, count, &done);
    if (result == 1) return (long)done;
    return failure(session, 0, "TLS read");
}

long ctls_write(ctls_session *session, const void *buffer, size_t count) {
    ERR_clear_error();
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
