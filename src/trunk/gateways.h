/* The carrier gateways at run time (SPEC 3, 4): the configured list plus what changes while
 * vcsd runs. Each gateway's address (a literal IP at once; a DNS name once a resolver has set
 * it) is what the SIP thread recognises PSTN calls by and sends legs to; `up` is what the
 * OPTIONS probes decide and call:dial reads (up until a probe says otherwise). Any thread:
 * readers never wait on the network, only on a short lock around the address table. */
#ifndef VCS_GATEWAYS_H
#define VCS_GATEWAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/config.h"

struct gateways;

/* The registry of cfg's gateways (cfg must outlive it); NULL when out of memory. */
struct gateways *gateways_create(const struct vcs_config *cfg);
void gateways_destroy(struct gateways *g);

size_t gateways_count(const struct gateways *g);
const struct gateway_config *gateways_config(const struct gateways *g, size_t i);
/* The index of the gateway named name, or -1. */
int gateways_find(const struct gateways *g, const char *name);

/* SPEC 4 step 1: the inbound gateway whose address is sa's (any port), or -1. */
int gateways_match_source(struct gateways *g, const struct sockaddr *sa);

/* The resolver's result for gateway i (the configured port already in sa), or len 0 when the
 * name does not resolve now. */
void gateways_set_address(struct gateways *g, size_t i, const struct sockaddr *sa, socklen_t len);
/* The last known address of gateway i: true and *out filled, or false while unresolved. */
bool gateways_address(struct gateways *g, size_t i, struct sockaddr_storage *out, socklen_t *len);

void gateways_set_up(struct gateways *g, size_t i, bool up);
bool gateways_is_up(const struct gateways *g, size_t i);

/* What gw_health.h finds, for GET /v1/gateways and /metrics: whether the gateway's REGISTER
 * is in force, and the round-trip time of its last answered OPTIONS probe (-1: none yet). */
void gateways_set_registered(struct gateways *g, size_t i, bool registered);
bool gateways_registered(const struct gateways *g, size_t i);
void gateways_set_probe_ms(struct gateways *g, size_t i, long long ms);
long long gateways_probe_ms(const struct gateways *g, size_t i);

#endif
