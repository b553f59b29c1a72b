/* Per-source request rate limit: a token bucket per source address in a fixed-size table
 * (no allocation per packet; the least recently seen source is evicted when full), so a flood
 * from many addresses cannot grow memory. Single-threaded: owned by the SIP thread. */
#ifndef VCS_RATELIMIT_H
#define VCS_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct ratelimit;

/* per_second tokens refill per second, up to burst; per_second == 0 disables the limit.
 * slots: table size (e.g. 4096). */
struct ratelimit *ratelimit_create(int per_second, int burst, size_t slots);
void ratelimit_destroy(struct ratelimit *rl);
/* Takes one token for the source address (port ignored) at time now_us (monotonic).
 * Returns true when the request may proceed. */
bool ratelimit_allow(struct ratelimit *rl, const struct sockaddr *src, uint64_t now_us);
/* Requests refused so far (for metrics). */
uint64_t ratelimit_refused(const struct ratelimit *rl);

#endif
