/* The order in which a bare number is tried over the carrier gateways (SPEC 5.5): lower
 * priority first; among equal priorities a weighted random order (a gateway of weight 3 comes
 * first three times as often as one of weight 1); gateways that are down (OPTIONS probes) or
 * full (max_channels legs up) are left out. Pure: the caller passes the state and the random
 * source, so tests can pin both. */
#ifndef VCS_GATEWAY_ORDER_H
#define VCS_GATEWAY_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gateway_state {
    int priority;
    int weight;        /* >= 1 */
    bool up;
    int calls;         /* legs up now */
    int max_channels;  /* 0: no limit */
};

#define GATEWAY_ORDER_MAX 64

/* Fills order[] with indexes into gw (n <= GATEWAY_ORDER_MAX) in the order to try them;
 * returns how many. rnd(ctx) returns a uniformly random 32-bit value. */
size_t gateway_order(const struct gateway_state *gw, size_t n, uint32_t (*rnd)(void *ctx),
                     void *ctx, int *order);

#endif
