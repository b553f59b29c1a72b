/* Brute-force lock-out of digest authentication (SPEC 4): max_failures requests with wrong
 * credentials from one source address within window_us lock that address out for lock_us.
 * A fixed-size table (no allocation per request): under a flood of spoofed sources an address
 * that is not locked is evicted first, the oldest failure first, so the table cannot grow and
 * a flood cannot unlock an attacker without also being as persistent. Single-threaded: owned
 * by the SIP thread. Addresses are keyed as addr_key.h says (an IPv6 host by its /64). */
#ifndef VCS_LOCKOUT_H
#define VCS_LOCKOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOCKOUT_MAX_FAILURES 16

struct sockaddr;
struct lockout;

/* NULL on bad arguments (max_failures 1..LOCKOUT_MAX_FAILURES, slots 1..2^24) or no memory. */
struct lockout *lockout_create(size_t slots, int max_failures, uint64_t window_us,
                               uint64_t lock_us);
void lockout_destroy(struct lockout *lo);
/* True while src is locked out at now_us (monotonic). */
bool lockout_locked(struct lockout *lo, const struct sockaddr *src, uint64_t now_us);
/* Notes one request with wrong credentials; true when it locks the address out. */
bool lockout_fail(struct lockout *lo, const struct sockaddr *src, uint64_t now_us);

#endif
