/* Gateway order. See gateway_order.h. */
#include "trunk/gateway_order.h"

#include <stdlib.h>

static bool usable(const struct gateway_state *g)
{
    return g->up && (g->max_channels <= 0 || g->calls < g->max_channels);
}

size_t gateway_order(const struct gateway_state *gw, size_t n, uint32_t (*rnd)(void *ctx),
                     void *ctx, int *order)
{
    if (n > GATEWAY_ORDER_MAX)
        n = GATEWAY_ORDER_MAX;
    bool taken[GATEWAY_ORDER_MAX] = { false };
    size_t out = 0;
    for (;;) {
        /* The lowest priority still waiting, and the total weight of its usable gateways. */
        int best = 0;
        bool any = false;
        for (size_t i = 0; i < n; i++)
            if (!taken[i] && usable(&gw[i]) && (!any || gw[i].priority < best)) {
                best = gw[i].priority;
                any = true;
            }
        if (!any)
            return out;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            if (!taken[i] && usable(&gw[i]) && gw[i].priority == best)
                total += (uint64_t)(gw[i].weight > 0 ? gw[i].weight : 1);
        uint64_t pick = rnd(ctx) % total;
        for (size_t i = 0; i < n; i++) {
            if (taken[i] || !usable(&gw[i]) || gw[i].priority != best)
                continue;
            uint64_t w = (uint64_t)(gw[i].weight > 0 ? gw[i].weight : 1);
            if (pick < w) {
                taken[i] = true;
                order[out++] = (int)i;
                break;
            }
            pick -= w;
        }
    }
}
