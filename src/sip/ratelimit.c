/* Per-source token buckets in a fixed open-addressing table (see ratelimit.h).
 * Keys: an IPv4 address (also when it arrives IPv4-mapped on a dual-stack socket), or the /64
 * prefix of an IPv6 address, because one IPv6 host normally owns a whole /64 and could
 * otherwise rotate through 2^64 fresh buckets. Tokens are integers in millionths of a token,
 * so refilling by elapsed microseconds times the rate is exact and never drifts.
 * Lookup probes a window of PROBE_WINDOW slots from a hash seeded at random per table, so a
 * sender cannot choose addresses that all land on (and evict) one victim's slot. Entries are
 * never deleted, only overwritten in place, so a key is always found within its window. */
#include "sip/ratelimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define UNITS_PER_TOKEN 1000000u
#define PROBE_WINDOW 8
#define MAX_RATE 1000000   /* per_second and burst bound: keeps all products far from overflow */
#define MAX_SLOTS (1u << 24)
#define KEY_LEN 16

struct slot {
    uint8_t key[KEY_LEN];
    uint64_t tokens;   /* in UNITS_PER_TOKEN units */
    uint64_t last_us;  /* last refill, also the "last seen" time used for eviction */
    bool used;
};

struct ratelimit {
    uint64_t per_second;
    uint64_t capacity; /* burst in units */
    uint64_t refused;
    uint64_t seed[2];
    size_t mask;       /* table size - 1: the size asked for, rounded up to a power of two */
    struct slot *slots;
};

struct ratelimit *ratelimit_create(int per_second, int burst, size_t slots)
{
    if (per_second < 0 || per_second > MAX_RATE) {
        errno = EINVAL;
        return NULL;
    }
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return NULL;
    rl->per_second = (uint64_t)per_second;
    if (per_second == 0)
        return rl; /* disabled: no table needed */

    if (burst < 1 || burst > MAX_RATE || slots == 0 || slots > MAX_SLOTS) {
        free(rl);
        errno = EINVAL;
        return NULL;
    }
    size_t n = PROBE_WINDOW;
    while (n < slots)
        n <<= 1;
    rl->slots = calloc(n, sizeof(*rl->slots));
    if (rl->slots == NULL) {
        free(rl);
        return NULL;
    }
    rl->mask = n - 1;
    rl->capacity = (uint64_t)burst * UNITS_PER_TOKEN;
    /* A failed getrandom leaves a fixed seed: the limiter still works, only the hash becomes
     * predictable, so this is not worth failing start-up for. */
    if (getrandom(rl->seed, sizeof(rl->seed), GRND_NONBLOCK) != (ssize_t)sizeof(rl->seed)) {
        rl->seed[0] = 0x9e3779b97f4a7c15u;
        rl->seed[1] = 0xc2b2ae3d27d4eb4fu;
    }
    return rl;
}

void ratelimit_destroy(struct ratelimit *rl)
{
    if (rl == NULL)
        return;
    free(rl->slots);
    free(rl);
}

uint64_t ratelimit_refused(const struct ratelimit *rl)
{
    return rl ? rl->refused : 0;
}

/* Fills key from src. Anything that is neither IPv4 nor IPv6 shares one all-ones key, which no
 * real address produces (an IPv6 key always ends in 8 zero bytes, an IPv4 one in the address). */
static void make_key(const struct sockaddr *src, uint8_t key[KEY_LEN])
{
    static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    memset(key, 0, KEY_LEN);
    if (src != NULL && src->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, src, sizeof(sin));
        memcpy(key, v4mapped, sizeof(v4mapped));
        memcpy(key + 12, &sin.sin_addr, 4);
    } else if (src != NULL && src->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, src, sizeof(sin6));
        if (memcmp(sin6.sin6_addr.s6_addr, v4mapped, sizeof(v4mapped)) == 0)
            memcpy(key, sin6.sin6_addr.s6_addr, KEY_LEN);
        else
            memcpy(key, sin6.sin6_addr.s6_addr, 8);
    } else {
        memset(key, 0xff, KEY_LEN);
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

static size_t hash_key(const struct ratelimit *rl, const uint8_t key[KEY_LEN])
{
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (size_t)mix64(mix64(a ^ rl->seed[0]) ^ b ^ rl->seed[1]);
}

/* The slot for key: its own, else an empty one, else the least recently seen in the window
 * (reset to a full bucket, as if the newcomer had never been seen). */
static struct slot *find_slot(struct ratelimit *rl, const uint8_t key[KEY_LEN], uint64_t now_us)
{
    size_t h = hash_key(rl, key);
    struct slot *empty = NULL, *oldest = NULL;
    for (size_t i = 0; i < PROBE_WINDOW; i++) {
        struct slot *s = &rl->slots[(h + i) & rl->mask];
        if (!s->used) {
            if (empty == NULL)
                empty = s;
        } else if (memcmp(s->key, key, KEY_LEN) == 0) {
            return s;
        } else if (oldest == NULL || s->last_us < oldest->last_us) {
            oldest = s;
        }
    }
    struct slot *s = empty ? empty : oldest;
    memcpy(s->key, key, KEY_LEN);
    s->used = true;
    s->tokens = rl->capacity;
    s->last_us = now_us;
    return s;
}

bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src, uint64_t now_us)
{
    if (rl == NULL || rl->per_second == 0)
        return true;
    uint8_t key[KEY_LEN];
    make_key(src, key);
    struct slot *s = find_slot(rl, key, now_us);

    /* A clock that steps back refills nothing rather than wrapping around. */
    if (now_us > s->last_us) {
        uint64_t elapsed = now_us - s->last_us;
        uint64_t missing = rl->capacity - s->tokens;
        /* Compare by division first: elapsed * per_second may not fit in 64 bits. */
        if (elapsed >= missing / rl->per_second + 1)
            s->tokens = rl->capacity;
        else
            s->tokens += elapsed * rl->per_second; /* <= missing, so within capacity */
        s->last_us = now_us;
    }
    if (s->tokens >= UNITS_PER_TOKEN) {
        s->tokens -= UNITS_PER_TOKEN;
        return true;
    }
    rl->refused++;
    return false;
}
