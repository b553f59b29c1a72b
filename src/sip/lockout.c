/* Digest lock-out table (see lockout.h): a seeded open-addressing table probed over a small
 * window, like the rate limiter's; each slot keeps the times of its last failures in a ring,
 * so "N failures within the window" is exact (a sliding window, not a fixed one). */
#include "sip/lockout.h"
#include "sip/addr_key.h"

#include <stdlib.h>
#include <string.h>

#define PROBE_WINDOW 8
#define MAX_SLOTS (1u << 24)

struct slot {
    uint8_t key[ADDR_KEY_LEN];
    bool used;
    unsigned next;                          /* ring position of the next failure */
    uint64_t fails[LOCKOUT_MAX_FAILURES];   /* 0 = none */
    uint64_t locked_until;                  /* 0 = not locked */
};

struct lockout {
    int max_failures;
    uint64_t window_us, lock_us;
    uint64_t seed[2];
    size_t mask;
    struct slot *slots;
};

struct lockout *lockout_create(size_t slots, int max_failures, uint64_t window_us,
                               uint64_t lock_us)
{
    if (max_failures < 1 || max_failures > LOCKOUT_MAX_FAILURES || slots == 0 ||
        slots > MAX_SLOTS)
        return NULL;
    struct lockout *lo = calloc(1, sizeof *lo);
    size_t n = PROBE_WINDOW;
    while (n < slots)
        n <<= 1;
    if (lo)
        lo->slots = calloc(n, sizeof *lo->slots);
    if (!lo || !lo->slots) {
        free(lo);
        return NULL;
    }
    lo->mask = n - 1;
    lo->max_failures = max_failures;
    lo->window_us = window_us;
    lo->lock_us = lock_us;
    addr_key_seed(lo->seed);
    return lo;
}

void lockout_destroy(struct lockout *lo)
{
    if (!lo)
        return;
    free(lo->slots);
    free(lo);
}

static bool is_locked(const struct slot *s, uint64_t now_us)
{
    return s->locked_until > now_us;
}

static uint64_t last_failure(const struct slot *s, int max_failures)
{
    return s->fails[(s->next + (unsigned)max_failures - 1) % (unsigned)max_failures];
}

/* The slot of key, or NULL when it has none (and create is false). A newcomer takes an empty
 * slot, else the unlocked one whose last failure is oldest, else the lock that ends first. */
static struct slot *find(struct lockout *lo, const uint8_t key[ADDR_KEY_LEN], bool create,
                         uint64_t now_us)
{
    size_t h = addr_key_hash(lo->seed, key);
    struct slot *empty = NULL, *victim = NULL;
    for (size_t i = 0; i < PROBE_WINDOW; i++) {
        struct slot *s = &lo->slots[(h + i) & lo->mask];
        if (!s->used) {
            if (!empty)
                empty = s;
            continue;
        }
        if (memcmp(s->key, key, ADDR_KEY_LEN) == 0)
            return s;
        if (!victim)
            victim = s;
        else if (is_locked(victim, now_us) != is_locked(s, now_us))
            victim = is_locked(s, now_us) ? victim : s;
        else if (is_locked(s, now_us) ? s->locked_until < victim->locked_until
                                      : last_failure(s, lo->max_failures) <
                                            last_failure(victim, lo->max_failures))
            victim = s;
    }
    if (!create)
        return NULL;
    struct slot *s = empty ? empty : victim;
    memset(s, 0, sizeof *s);
    memcpy(s->key, key, ADDR_KEY_LEN);
    s->used = true;
    return s;
}

bool lockout_locked(struct lockout *lo, const struct sockaddr *src, uint64_t now_us)
{
    uint8_t key[ADDR_KEY_LEN];
    addr_key_make(src, key);
    struct slot *s = find(lo, key, false, now_us);
    return s && is_locked(s, now_us);
}

bool lockout_fail(struct lockout *lo, const struct sockaddr *src, uint64_t now_us)
{
    uint8_t key[ADDR_KEY_LEN];
    addr_key_make(src, key);
    struct slot *s = find(lo, key, true, now_us);
    if (is_locked(s, now_us))
        return false;
    unsigned m = (unsigned)lo->max_failures;
    s->fails[s->next] = now_us ? now_us : 1;
    s->next = (s->next + 1) % m;
    uint64_t oldest = s->fails[s->next]; /* the failure max_failures - 1 before this one */
    if (!oldest || now_us - oldest >= lo->window_us)
        return false;
    s->locked_until = now_us + lo->lock_us;
    memset(s->fails, 0, sizeof s->fails); /* after the lock, counting starts afresh */
    s->next = 0;
    return true;
}
