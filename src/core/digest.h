/* Lowercase hex and SHA-256 (OpenSSL) for the modules that store or compare digests. */
#ifndef VCS_DIGEST_H
#define VCS_DIGEST_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

/* out holds 2 * n + 1 bytes. */
void hex_encode(const unsigned char *in, size_t n, char *out);
/* 0, or -1 when OpenSSL fails. */
int sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);

#endif
