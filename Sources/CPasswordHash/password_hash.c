// Password hashing for the daemon: libcrypt (libxcrypt) for the /etc/shadow formats and
// OpenSSL's libcrypto for the seed's unsalted SHA-256. Kept apart from CLinux so that only
// the daemon links either library.
#define _GNU_SOURCE
#include "password_hash.h"
#include <crypt.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int password_crypt_matches(const char *password, const char *hash) {
    // struct crypt_data is large (32 KiB); keep it off the stack.
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return -1;
    const char *result = crypt_r(password, hash, data);
    int verdict = -1;
    if (result && result[0] != '*') {
        size_t a = strlen(result), b = strlen(hash);
        // Constant time over the hash length: timing says nothing about how close a guess was.
        unsigned char difference = (unsigned char)(a != b);
        for (size_t i = 0; i < b; i++) difference |= (unsigned char)(result[i < a ? i : 0] ^ hash[i]);
        verdict = difference == 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return verdict;
}

int password_crypt_new_hash(const char *password, const char *prefix, char *out, size_t size) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn(prefix, 0, NULL, 0, salt, sizeof salt)) return -1;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return -1;
    const char *result = crypt_r(password, salt, data);
    int status = -1;
    if (result && result[0] != '*' && strlen(result) < size) {
        strcpy(out, result);
        status = 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return status;
}

int password_crypt_is_complete(const char *hash) {
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return 0;
    const char *result = crypt_r("", hash, data);
    int complete = result && result[0] != '*' && strlen(result) == strlen(hash);
    explicit_bzero(data, sizeof *data);
    free(data);
    return complete;
}

int password_sha256(const void *bytes, size_t count, unsigned char out[32]) {
    unsigned int length = 0;
    return EVP_Digest(bytes, count, out, &length, EVP_sha256(), NULL) == 1 && length == 32 ? 0 : -1;
}
