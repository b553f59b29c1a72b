/* Carrier-gateway health on the SIP thread (SPEC 3): OPTIONS probes every options_interval_s
 * per gateway; a miss is no final answer within 2 s, a 408 or a 5xx; 3 misses in a row take the
 * gateway down, 1 answer brings it back (gateways_set_up, which call:dial reads from any
 * thread). Gateways with register = true are REGISTERed with their credentials (401/407
 * answered once per challenge); nua refreshes the binding before it expires, and a refused
 * or lost registration is tried again after a while. Only the resolved address is used
 * (gw_resolver.h): Sofia never resolves a name itself. While running, a probe's handle is
 * destroyed only after its final event, also when the probe was already counted as missed. */
#ifndef VCS_GW_HEALTH_H
#define VCS_GW_HEALTH_H

#include <stdbool.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

struct gateways;
struct gw_health;

struct gw_health *gw_health_start(su_root_t *root, nua_t *nua, struct gateways *g);
/* Before nua_shutdown: no more probes or registrations; every handle of ours is destroyed (a
 * silent carrier would otherwise hold the shutdown 30 s), no unREGISTER is sent. */
void gw_health_stop(struct gw_health *h);
void gw_health_free(struct gw_health *h);
/* A response event on a handle with no leg: true when it was one of ours (handled). */
bool gw_health_event(struct gw_health *h, nua_event_t event, int status, nua_handle_t *nh,
                     const sip_t *sip);

#endif
