/* DNS names of carrier gateways resolved off the SIP thread (sofia-sip-hardening.md: Debian's
 * Sofia has crash and hang bugs in its own resolver). One thread resolves every gateway whose
 * address is a name with getaddrinfo, at start and then every RESOLVE_EVERY_S seconds (sooner
 * after a failure), and stores the result in the gateway table; the SIP thread only reads the
 * last result (gateways_address). A name that stops resolving keeps its last address; an IPv4
 * answer is preferred to an IPv6 one. */
#ifndef VCS_GW_RESOLVER_H
#define VCS_GW_RESOLVER_H

struct gateways;
struct gw_resolver;

/* NULL when no gateway has a DNS name (nothing to do) or the thread cannot start. */
struct gw_resolver *gw_resolver_start(struct gateways *g);
void gw_resolver_stop(struct gw_resolver *r);

#endif
