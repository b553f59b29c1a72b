/* GET /v1/gateways (SPEC 7, the operator's): every carrier gateway with its address, state
 * from the OPTIONS probes, legs up now, max_channels, registration, and the round-trip time of
 * its last answered probe. In configuration order; the cursor is a gateway's name. */
#include <arpa/inet.h>
#include <string.h>

#include "api/api_internal.h"
#include "limits/limits.h"
#include "trunk/gateways.h"

static json_t *gateway_json(struct gateways *g, struct limits *l, size_t i)
{
    const struct gateway_config *gc = gateways_config(g, i);
    char address[300];
    snprintf(address, sizeof address, strchr(gc->host, ':') ? "[%s]:%u" : "%s:%u", gc->host,
             gc->port);
    long long probe = gateways_probe_ms(g, i);
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:o}", "name", gc->name, "address", address,
                     "state", gateways_is_up(g, i) ? "up" : "down", "calls",
                     l ? limits_count(l, LIMIT_GATEWAY, gc->name) : 0, "max_channels",
                     gc->max_channels, "registered", gateways_registered(g, i), "last_probe_ms",
                     probe >= 0 ? json_integer(probe) : json_null());
}

void api_gateways_list(struct api_call *c, struct api_reply *r)
{
    struct gateways *g = c->api->ops.gateways;
    json_t *items = json_array(), *next = json_null();
    size_t n = g ? gateways_count(g) : 0, i = 0;
    if (c->after[0]) {
        int at = g ? gateways_find(g, c->after) : -1;
        i = at >= 0 ? (size_t)at + 1 : n;
    }
    for (int taken = 0; items && i < n; i++, taken++) {
        if (taken == c->limit) {
            json_decref(next);
            next = json_string(gateways_config(g, i - 1)->name);
            break;
        }
        json_array_append_new(items, gateway_json(g, c->api->ops.limits, i));
    }
    json_t *page = items ? json_pack("{s:o, s:o}", "items", items, "next", next) : NULL;
    if (!page) {
        api_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    api_reply_json(r, 200, page);
}
