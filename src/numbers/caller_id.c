/* Caller ID "auto". See caller_id.h. */
#include "numbers/caller_id.h"

#include <limits.h>
#include <string.h>

static int free_channels(const struct own_number *x)
{
    return x->max_concurrent <= 0 ? INT_MAX : x->max_concurrent - x->calls;
}

static bool local(const struct own_number *x, const char *region)
{
    return region && x->region && strcmp(x->region, region) == 0;
}

size_t caller_id_order(const struct own_number *nums, size_t n, const char *callee_region, int *order)
{
    size_t out = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t start = out;
        for (size_t i = 0; i < n; i++) {
            const struct own_number *x = &nums[i];
            if (!x->active || free_channels(x) <= 0 || local(x, callee_region) != (pass == 0))
                continue;
            /* Insertion by free channels, most first; stable for equal counts. */
            size_t j = out++;
            while (j > start && free_channels(&nums[order[j - 1]]) < free_channels(x)) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = (int)i;
        }
    }
    return out;
}
