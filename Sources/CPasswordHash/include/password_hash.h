#ifndef PASSWORD_HASH_H
#define PASSWORD_HASH_H
#include <stddef.h>

// libcrypt (libxcrypt): the /etc/shadow hash formats (yescrypt, sha512-crypt, ...).
// Returns 1 if `password` hashes to `hash`, 0 if not, -1 if the hash is not usable.
int password_crypt_matches(const char *password, const char *hash);
// 1 if `hash` is a complete crypt(3) hash (hashing with it gives a string of the same
// length: a setting without its hash part, or a cut-off hash, does not), else 0.
int password_crypt_is_complete(const char *hash);
// Writes a fresh salted hash of `password` with the method `prefix` ("$y$" yescrypt,
// "$6$" sha512-crypt) into `out`. Returns 0 on success, -1 on failure.
int password_crypt_new_hash(const char *password, const char *prefix, char *out, size_t size);
// The SHA-256 digest of `count` bytes into `out`. Returns 0 on success, -1 on failure.
int password_sha256(const void *bytes, size_t count, unsigned char out[32]);

#endif
