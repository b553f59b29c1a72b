/* Per-source token buckets in a fixed open-addressing table (see ratelimit.h).
 * Keys: addr_key.h (an IPv4 address, or the /64 of an IPv6 one). Tokens are integers in
 * millionths of a token, so refilling by elapsed microseconds times the rate is exact and never
 * drifts.
 * Lookup probes a window of PROBE_WINDOW slots from a hash seeded at random per table, so a
 * sender cannot choose addresses that all land on (and evict) one victim's slot. Entries are
 * never deleted, only overwritten in place, so a key is always found within its window. */
#include "sip/ratelimit.h"
#include "sip/addr_key.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define UNITS_PER_TOKEN 1000000u
#define PROBE_WINDOW 8
#define MAX_RATE 1000000   /* per_second and burst bound: keeps all products far from overflow */
#define MAX_SLOTS (1u << 24)
#define KEY_LEN ADDR_KEY_LEN

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
    addr_key_seed(rl->seed);
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

/* The slot for key: its own, else an empty one, else the least recently seen in the window
 * (reset to a full bucket, as if the newcomer had never been seen). */
static struct slot *find_slot(struct ratelimit *rl, const uint8_t key[KEY_LEN], uint64_t now_us)
{
    size_t h = addr_key_hash(rl->seed, key);
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
    addr_key_make(src, key);
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
