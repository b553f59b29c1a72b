/* OPTIONS probes and REGISTER to carrier gateways (see gw_health.h). */
#define SU_TIMER_ARG_T struct gw_health
#include "trunk/gw_health.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "core/clock.h"
#include "core/log.h"
#include "trunk/gateways.h"

#define TICK_MS 100
#define PROBE_TIMEOUT_US 2000000u
#define MISSES_DOWN 3
#define PROBES_IN_FLIGHT 8          /* per gateway: those counted as missed, still in nta */
#define REGISTER_EXPIRES_S 3600
#define REGISTER_RETRY_US 30000000u

struct probe {
    nua_handle_t *nh;
    uint64_t sent_us;
    bool counted;                   /* missed already (timed out) */
};

struct gw {
    struct probe probes[PROBES_IN_FLIGHT];
    uint64_t next_probe_us;
    int misses;
    nua_handle_t *reg;              /* the REGISTER handle, while registering */
    bool reg_authed;                /* credentials sent for the current challenge */
    uint64_t reg_retry_us;          /* 0: no retry due */
};

struct gw_health {
    nua_t *nua;
    struct gateways *g;
    su_timer_t *timer;
    bool stopped;
    size_t n;
    struct gw gws[];
};

/* "sip:IP:PORT;transport=tcp" of gateway i, user@ when given; false while unresolved. */
static bool gateway_uri(struct gw_health *h, size_t i, const char *user, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (!gateways_address(h->g, i, &ss, &sl))
        return false;
    const struct gateway_config *gc = gateways_config(h->g, i);
    char ip[64];
    unsigned port;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        char raw[48];
        inet_ntop(AF_INET6, &a->sin6_addr, raw, sizeof raw);
        snprintf(ip, sizeof ip, "[%s]", raw);
        port = ntohs(a->sin6_port);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
    }
    snprintf(out, len, "sip:%s%s%s:%u%s", user ? user : "", user ? "@" : "", ip, port,
             gc->transport == SIP_TRANSPORT_TCP ? ";transport=tcp" : "");
    return true;
}

static void answered(struct gw_health *h, size_t i, uint64_t rtt_us)
{
    struct gw *w = &h->gws[i];
    w->misses = 0;
    gateways_set_probe_ms(h->g, i, (long long)(rtt_us / 1000));
    if (!gateways_is_up(h->g, i)) {
        gateways_set_up(h->g, i, true);
        log_info("gateway %s is up (OPTIONS answered)", gateways_config(h->g, i)->name);
    }
}

static void missed(struct gw_health *h, size_t i, const char *why)
{
    struct gw *w = &h->gws[i];
    if (++w->misses >= MISSES_DOWN && gateways_is_up(h->g, i)) {
        gateways_set_up(h->g, i, false);
        log_warn("gateway %s is down: %d OPTIONS probes missed in a row (last: %s)",
                 gateways_config(h->g, i)->name, w->misses, why);
    }
}

static void send_probe(struct gw_health *h, size_t i, uint64_t now)
{
    struct gw *w = &h->gws[i];
    char uri[128];
    struct probe *p = NULL;
    for (size_t k = 0; k < PROBES_IN_FLIGHT && !p; k++)
        p = w->probes[k].nh ? NULL : &w->probes[k];
    if (!p || !gateway_uri(h, i, NULL, uri, sizeof uri)) {
        missed(h, i, p ? "address unresolved" : "too many probes unanswered");
        return;
    }
    p->nh = nua_handle(h->nua, NULL, NUTAG_URL(uri), SIPTAG_TO_STR(uri), TAG_END());
    if (!p->nh) {
        missed(h, i, "out of memory");
        return;
    }
    p->sent_us = now;
    p->counted = false;
    nua_options(p->nh, TAG_END());
}

static void start_register(struct gw_health *h, size_t i)
{
    struct gw *w = &h->gws[i];
    const struct gateway_config *gc = gateways_config(h->g, i);
    char aor[192], registrar[128], expires[16];
    w->reg_retry_us = 0;
    if (!gateway_uri(h, i, gc->username, aor, sizeof aor) ||
        !gateway_uri(h, i, NULL, registrar, sizeof registrar)) {
        w->reg_retry_us = clock_mono_us() + REGISTER_RETRY_US / 6; /* once resolved */
        return;
    }
    snprintf(expires, sizeof expires, "%d", REGISTER_EXPIRES_S);
    w->reg = nua_handle(h->nua, NULL, SIPTAG_TO_STR(aor), SIPTAG_FROM_STR(aor), TAG_END());
    if (!w->reg) {
        w->reg_retry_us = clock_mono_us() + REGISTER_RETRY_US;
        return;
    }
    w->reg_authed = false;
    nua_register(w->reg, NUTAG_REGISTRAR(registrar), NUTAG_M_USERNAME(gc->username),
                 SIPTAG_EXPIRES_STR(expires), TAG_END());
}

static void on_tick(su_root_magic_t *magic, su_timer_t *t, struct gw_health *h)
{
    (void)magic;
    (void)t;
    if (h->stopped)
        return;
    uint64_t now = clock_mono_us();
    for (size_t i = 0; i < h->n; i++) {
        struct gw *w = &h->gws[i];
        const struct gateway_config *gc = gateways_config(h->g, i);
        for (size_t k = 0; k < PROBES_IN_FLIGHT; k++) {
            struct probe *p = &w->probes[k];
            if (p->nh && !p->counted && now - p->sent_us >= PROBE_TIMEOUT_US) {
                p->counted = true; /* its handle goes with its final event */
                missed(h, i, "no answer within 2 s");
            }
        }
        if (gc->options_interval_s > 0 && now >= w->next_probe_us) {
            w->next_probe_us = now + (uint64_t)gc->options_interval_s * 1000000u;
            send_probe(h, i, now);
        }
        if (gc->register_ && !w->reg && w->reg_retry_us && now >= w->reg_retry_us)
            start_register(h, i);
    }
}

struct gw_health *gw_health_start(su_root_t *root, nua_t *nua, struct gateways *g)
{
    size_t n = gateways_count(g);
    struct gw_health *h = calloc(1, sizeof *h + n * sizeof h->gws[0]);
    if (!h)
        return NULL;
    h->nua = nua;
    h->g = g;
    h->n = n;
    h->timer = su_timer_create(su_root_task(root), TICK_MS);
    if (!h->timer || su_timer_set_for_ever(h->timer, on_tick, h) != 0) {
        su_timer_destroy(h->timer);
        free(h);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (gateways_config(g, i)->register_)
            start_register(h, i);
    return h;
}

void gw_health_stop(struct gw_health *h)
{
    if (!h)
        return;
    h->stopped = true;
    su_timer_destroy(h->timer);
    h->timer = NULL;
    /* nua_shutdown would un-REGISTER and wait for every transaction in flight: 30 s when a
     * carrier is silent (measured). Our handles go now; the carrier's binding simply expires. */
    for (size_t i = 0; i < h->n; i++) {
        struct gw *w = &h->gws[i];
        for (size_t k = 0; k < PROBES_IN_FLIGHT; k++)
            if (w->probes[k].nh) {
                nua_handle_destroy(w->probes[k].nh);
                w->probes[k].nh = NULL;
            }
        if (w->reg) {
            nua_handle_destroy(w->reg);
            w->reg = NULL;
        }
    }
}

void gw_health_free(struct gw_health *h)
{
    free(h);
}

static bool on_options(struct gw_health *h, int status, nua_handle_t *nh)
{
    for (size_t i = 0; i < h->n; i++) {
        for (size_t k = 0; k < PROBES_IN_FLIGHT; k++) {
            struct probe *p = &h->gws[i].probes[k];
            if (p->nh != nh)
                continue;
            log_debug("gateway %s: OPTIONS answered %d", gateways_config(h->g, i)->name, status);
            if (status < 200)
                return true;
            if (!p->counted && !h->stopped) {
                if (status == 408 || status >= 500)
                    missed(h, i, status == 408 ? "408" : "5xx");
                else
                    answered(h, i, clock_mono_us() - p->sent_us);
            }
            nua_handle_destroy(nh);
            p->nh = NULL;
            return true;
        }
    }
    return false;
}

/* The realm of a 401/407, for NUTAG_AUTH ("Digest:\"realm\":user:password"). */
static const char *challenge_realm(const sip_t *sip)
{
    const msg_auth_t *a = sip ? (sip->sip_www_authenticate ? sip->sip_www_authenticate
                                                           : sip->sip_proxy_authenticate)
                              : NULL;
    return a ? msg_header_find_param(a->au_common, "realm=") : NULL;
}

static bool on_register(struct gw_health *h, int status, nua_handle_t *nh, const sip_t *sip)
{
    for (size_t i = 0; i < h->n; i++) {
        struct gw *w = &h->gws[i];
        if (w->reg != nh)
            continue;
        const struct gateway_config *gc = gateways_config(h->g, i);
        const char *realm = challenge_realm(sip);
        if ((status == 401 || status == 407) && !w->reg_authed && realm && !h->stopped) {
            char auth[400];
            snprintf(auth, sizeof auth, "Digest:%s%s%s:%s:%s", realm[0] == '"' ? "" : "\"",
                     realm, realm[0] == '"' ? "" : "\"", gc->username, gc->password);
            w->reg_authed = true;
            nua_authenticate(nh, NUTAG_AUTH(auth), TAG_END());
            return true;
        }
        if (status < 200)
            return true;
        bool ok = status < 300;
        if (ok && !gateways_registered(h->g, i))
            log_info("gateway %s: registered", gc->name);
        else if (!ok)
            log_warn("gateway %s: registration failed (%d), trying again in %u s", gc->name,
                     status, (unsigned)(REGISTER_RETRY_US / 1000000u));
        gateways_set_registered(h->g, i, ok);
        w->reg_authed = false; /* the next refresh may be challenged anew */
        if (!ok) {
            nua_handle_destroy(nh);
            w->reg = NULL;
            w->reg_retry_us = clock_mono_us() + REGISTER_RETRY_US;
        }
        return true;
    }
    return false;
}

bool gw_health_event(struct gw_health *h, nua_event_t event, int status, nua_handle_t *nh,
                     const sip_t *sip)
{
    if (!h)
        return false;
    if (event == nua_r_options)
        return on_options(h, status, nh);
    if (event == nua_r_register)
        return on_register(h, status, nh, sip);
    return false;
}
