/* A source address as a fixed-size table key, and its seeded hash: shared by the per-source
 * tables of the SIP thread (rate limit, digest lock-out). An IPv4 address (also IPv4-mapped on
 * a dual-stack socket) is its own key; an IPv6 address is keyed by its /64, because one host
 * normally owns a whole /64 and could otherwise rotate through 2^64 fresh keys. */
#ifndef VCS_ADDR_KEY_H
#define VCS_ADDR_KEY_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_KEY_LEN 16

struct sockaddr;

/* Anything that is neither IPv4 nor IPv6 shares one all-ones key, which no real address
 * produces (an IPv6 key always ends in 8 zero bytes, an IPv4 one in the address). */
void addr_key_make(const struct sockaddr *src, uint8_t key[ADDR_KEY_LEN]);
/* seed: two random words per table, so that a sender cannot choose addresses that all land on
 * (and evict) one victim's slot. */
size_t addr_key_hash(const uint64_t seed[2], const uint8_t key[ADDR_KEY_LEN]);
/* Fills seed from getrandom, or with fixed words when that fails (the table still works, only
 * its hash becomes predictable: not worth failing start-up for). */
void addr_key_seed(uint64_t seed[2]);

#endif
