/* Address keys for the SIP thread's per-source tables (see addr_key.h). */
#include "sip/addr_key.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

void addr_key_make(const struct sockaddr *src, uint8_t key[ADDR_KEY_LEN])
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    memset(key, 0, ADDR_KEY_LEN);
    if (src != NULL && src->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, src, sizeof(sin));
        memcpy(key, v4mapped, sizeof(v4mapped));
        memcpy(key + 12, &sin.sin_addr, 4);
    } else if (src != NULL && src->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, src, sizeof(sin6));
        if (memcmp(sin6.sin6_addr.s6_addr, v4mapped, sizeof(v4mapped)) == 0)
            memcpy(key, sin6.sin6_addr.s6_addr, ADDR_KEY_LEN);
        else
            memcpy(key, sin6.sin6_addr.s6_addr, 8);
    } else {
        memset(key, 0xff, ADDR_KEY_LEN);
    }
}

static uint64_t mix64(uint64_t x)
{
    /* The splitmix64 finaliser: every input bit affects every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    return x;
}

size_t addr_key_hash(const uint64_t seed[2], const uint8_t key[ADDR_KEY_LEN])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (size_t)mix64(mix64(a ^ seed[0]) ^ b ^ seed[1]);
}

void addr_key_seed(uint64_t seed[2])
{
    if (getrandom(seed, 2 * sizeof seed[0], GRND_NONBLOCK) != (ssize_t)(2 * sizeof seed[0])) {
        seed[0] = 0x9e3779b97f4a7c15u;
        seed[1] = 0xc2b2ae3d27d4eb4fu;
    }
}
