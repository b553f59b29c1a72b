/* Caller ID "auto" (SPEC 8, local presence): the account's active numbers in the order to try
 * as caller ID for a callee: those of the callee's region with a free channel first, then any
 * other with a free channel. The caller takes a limits ticket on each in turn (another leg may
 * have taken the last channel meanwhile); when none is left the call fails with over_limit. */
#ifndef VCS_CALLER_ID_H
#define VCS_CALLER_ID_H

#include <stdbool.h>
#include <stddef.h>

struct own_number {
    const char *number;
    const char *region;
    bool active;
    int calls;           /* legs up now on this number */
    int max_concurrent;  /* 0: no limit */
};

/* Fills order[] (room for n) with indexes into nums; returns how many may be tried. Within each
 * group the number with the most free channels comes first, so load spreads over the pool. */
size_t caller_id_order(const struct own_number *nums, size_t n, const char *callee_region, int *order);

#endif
