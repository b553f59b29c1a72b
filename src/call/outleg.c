/* Outbound call legs. See outleg.h. */
#include "call/outleg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "call/call.h"
#include "call/engine.h"
#include "call/worker.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "numbers/caller_id.h"
#include "numbers/number_table.h"
#include "numbers/region_dir.h"
#include "script/script_set.h"
#include "sip/sip_stack.h"
#include "store/store.h"
#include "trunk/gateway_order.h"
#include "trunk/gateways.h"
#include "trunk/trunks.h"

#define OPERATOR_ACCOUNT "admin" /* may present any caller ID (SPEC 8) */

void outleg_request_free(struct outleg_request *req)
{
    if (!req)
        return;
    for (size_t i = 0; i < req->n_vars; i++) {
        free(req->vars[i].key);
        free(req->vars[i].str);
    }
    free(req->vars);
    free(req);
}

const char *outleg_cause(int status)
{
    switch (status) {
    case 486: case 600: return "busy";
    case 404: case 484: case 604: return "not_found";
    case 480: return "no_answer";
    case 487: return "cancelled";
    case 408: return "failed";
    default: return status >= 500 && status < 600 ? "failed" : "rejected";
    }
}

/* A sip: URI we can put on the wire as it is: no spaces, no header breaks, no angle brackets. */
static bool sip_uri_ok(const char *to)
{
    if (strncmp(to, "sip:", 4) != 0 || strlen(to) < 6)
        return false;
    for (const char *p = to; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == 0x7f)
            return false;
    const char *at = strchr(to, '@');
    return strchr(to + 4, ':') != to + 4 && (!at || at[1]);
}

static bool number_ok(const char *n)
{
    size_t len = strlen(n);
    return len > 0 && len < 32 && strspn(n + (n[0] == '+'), "0123456789") == len - (n[0] == '+');
}

/* trunk:NAME/NUMBER: the trunk's registered contact as the request URI (the number in To),
 * else NUMBER at its static address; the leg counts against the trunk's max_calls. False once
 * the leg ended (unreachable trunk, a limit). */
static bool through_trunk(struct call *c, char **to_header)
{
    struct trunks *trunks = engine_services(worker_engine(c->w))->trunks;
    struct trunk_match m;
    char route[TRUNK_CONTACT_MAX], uri[TRUNK_CONTACT_MAX + 80];
    if (!trunks || !trunks_get(trunks, c->out->trunk, &m) ||
        trunks_route(trunks, c->out->trunk, clock_wall_ms(), route, sizeof route) != 0) {
        log_info("call %s: trunk %s has no contact and no static address", c->id, c->out->trunk);
        c->sip_gone = true;
        c->script_done = true;
        call_end_because(c, 480, "failed", "system", "trunk unreachable");
        return false;
    }
    snprintf(c->cdr.trunk, sizeof c->cdr.trunk, "%s", m.name);
    c->trunk_max_calls = m.max_calls;
    if (!call_take_channels(c))
        return false;
    const char *at = strchr(route, '@'), *host = at ? at + 1 : route + 4;
    size_t hostlen = strcspn(host, ";>");
    snprintf(uri, sizeof uri, "sip:%s@%.*s", c->out->number, (int)hostlen, host);
    *to_header = strdup(uri);
    free(c->to_uri);
    c->to_uri = strdup(at ? route : uri); /* a contact is the request URI as registered */
    return c->to_uri && *to_header;
}

/* "PREFIX:NAME/NUMBER": NAME into name (cap bytes); the number, or NULL when malformed. */
static const char *split_named(const char *to, size_t prefix, char *name, size_t cap)
{
    const char *slash = strchr(to + prefix, '/');
    size_t n = slash ? (size_t)(slash - to - prefix) : 0;
    if (!slash || n == 0 || n >= cap)
        return NULL;
    memcpy(name, to + prefix, n);
    name[n] = '\0';
    return slash + 1;
}

/* trunk:NAME/NUMBER: a trunk of the account (the operator: any). */
static int parse_trunk(struct engine *e, struct outleg_request *req, char *err, size_t errlen)
{
    struct trunks *trunks = engine_services(e)->trunks;
    struct trunk_match m;
    const char *number = split_named(req->to, 6, req->trunk, sizeof req->trunk);
    if (!number || !number_ok(number)) {
        snprintf(err, errlen, "to: trunk:NAME/NUMBER");
        return 400;
    }
    if (!trunks || !trunks_get(trunks, req->trunk, &m) ||
        (strcmp(req->account, OPERATOR_ACCOUNT) != 0 && strcmp(m.account, req->account) != 0)) {
        snprintf(err, errlen, "to: no trunk named '%s'", req->trunk);
        return 404;
    }
    snprintf(req->number, sizeof req->number, "%s", number);
    return 0;
}

/* The target: a sip: URI as it is, "gw:NAME/NUMBER", "trunk:NAME/NUMBER", or a number for the
 * gateways. */
static int parse_target(struct engine *e, struct outleg_request *req, char *err, size_t errlen)
{
    struct gateways *gws = engine_gateways(e);
    const char *number = req->to;
    if (strncmp(req->to, "trunk:", 6) == 0)
        return parse_trunk(e, req, err, errlen);
    if (strncmp(req->to, "gw:", 3) == 0) {
        if (!(number = split_named(req->to, 3, req->gateway, sizeof req->gateway))) {
            snprintf(err, errlen, "to: gw:NAME/NUMBER");
            return 400;
        }
    } else if (sip_uri_ok(req->to)) {
        if (req->gateway[0]) {
            snprintf(err, errlen, "gateway: only for numbers, not sip: URIs");
            return 400;
        }
        return 0;
    }
    if (!number_ok(number)) {
        snprintf(err, errlen, "to: a sip: URI (sip:user@host[:port]), gw:NAME/NUMBER or a number");
        return 400;
    }
    if (gateways_count(gws) == 0) {
        snprintf(err, errlen, "to: no carrier gateway is configured for numbers");
        return 400;
    }
    if (req->gateway[0] && gateways_find(gws, req->gateway) < 0) {
        snprintf(err, errlen, "gateway: no gateway named '%s'", req->gateway);
        return 404;
    }
    snprintf(req->number, sizeof req->number, "%s", number);
    return 0;
}

#define AUTO_MAX 256 /* numbers of one account considered for caller ID "auto" */

/* SPEC 8 caller ID "auto": the account's active number of the callee's region (the longest
 * prefix of the operator's region table) with the most free channels, else any other with the
 * most free channels. False when none has a free channel. */
static bool pick_caller_id(struct engine *e, const struct number_snapshot *numbers,
                           struct outleg_request *req)
{
    static _Thread_local const struct number_record *mine[AUTO_MAX];
    static _Thread_local struct own_number own[AUTO_MAX];
    static _Thread_local int order[AUTO_MAX];
    size_t n = number_snapshot_of_account(numbers, req->account, mine, AUTO_MAX);
    for (size_t i = 0; i < n; i++)
        own[i] = (struct own_number){ mine[i]->number, mine[i]->region, true,
                                      limits_count(engine_limits(e), LIMIT_NUMBER, mine[i]->number),
                                      mine[i]->max_concurrent };
    struct region_dir *rd = engine_services(e)->regions;
    struct region_ref *regions = rd ? region_dir_acquire(rd) : NULL;
    const char *callee = regions ? region_lookup(region_ref_table(regions), req->number) : NULL;
    size_t k = caller_id_order(own, n, callee, order);
    region_ref_release(regions);
    if (k == 0)
        return false;
    snprintf(req->from, sizeof req->from, "%s", mine[order[0]]->number);
    return true;
}

int outleg_check(struct engine *e, struct outleg_request *req, char *err, size_t errlen)
{
    int bad = parse_target(e, req, err, errlen);
    if (bad)
        return bad;
    if (!number_ok(req->from) && strcmp(req->from, "auto") != 0) {
        snprintf(err, errlen, "from: a number of the account, or auto");
        return 400;
    }
    if (req->timeout_ms <= 0 || req->timeout_ms > OUTLEG_TIMEOUT_MS_MAX) {
        snprintf(err, errlen, "timeout: 1 ms to %d s", OUTLEG_TIMEOUT_MS_MAX / 1000);
        return 400;
    }
    struct script_set *set = script_registry_acquire(engine_services(e)->scripts);
    struct number_snapshot *numbers = number_directory_acquire(engine_services(e)->numbers);
    const struct script_source *src = set ? script_set_find(set, req->script) : NULL;
    bool auto_ok = strcmp(req->from, "auto") != 0 || pick_caller_id(e, numbers, req);
    const struct number_record *num = number_snapshot_find(numbers, req->from);
    int status = 0;
    if (req->script[0] && (!src || !src->handler || strchr(req->script, '.'))) {
        snprintf(err, errlen, "script: no dialplan named '%s'", req->script);
        status = 404;
    } else if (!auto_ok) {
        snprintf(err, errlen, "from: auto: no number of the account has a free channel");
        status = 409;
    } else if (strcmp(req->account, OPERATOR_ACCOUNT) != 0 &&
               (!num || strcmp(num->account, req->account) != 0)) {
        snprintf(err, errlen, "from: %s is not an active number of the account", req->from);
        status = 400;
    }
    if (set)
        script_set_release(set);
    number_snapshot_release(numbers);
    return status;
}

static void on_ring_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct call *c = arg;
    c->cdr.sip_code = 487; /* what our CANCEL brings */
    call_end(c, 0, "no_answer", "system");
    call_script_wake(c);
}

/* Ends a leg that never reached SIP: nothing to cancel, nothing will terminate it. */
static void end_unplaced(struct call *c, int code, const char *cause)
{
    c->sip_gone = true;
    c->script_done = true;
    call_end(c, code, cause, "system");
    call_script_wake(c);
}

static uint32_t random32(void *ctx)
{
    (void)ctx;
    return arc4random();
}

/* Picks the gateway for c's number (the one asked for, else in priority/weight order without
 * those down) and takes the leg's channels with it: the first gateway with a free channel
 * wins. Sets the request URI, codec and credentials. False once the leg ended (over_limit). */
size_t outleg_gateway_order(struct engine *e, int order[])
{
    struct gateways *gws = engine_gateways(e);
    size_t n = gateways_count(gws);
    struct gateway_state st[GATEWAY_ORDER_MAX];
    n = n < GATEWAY_ORDER_MAX ? n : GATEWAY_ORDER_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct gateway_config *g = gateways_config(gws, i);
        /* Fullness is decided by the leg's ticket, atomically: not pre-filtered here. */
        st[i] = (struct gateway_state){ g->priority, g->weight, gateways_is_up(gws, i), 0, 0 };
    }
    return gateway_order(st, n, random32, NULL, order);
}

static bool through_gateway(struct call *c, struct sip_credentials *cred)
{
    struct engine *e = worker_engine(c->w);
    struct gateways *gws = engine_gateways(e);
    int order[GATEWAY_ORDER_MAX];
    size_t tries = 0;
    if (c->out->gateway[0])
        order[tries++] = gateways_find(gws, c->out->gateway);
    else
        tries = outleg_gateway_order(e, order);
    enum limit_scope full = LIMIT_GATEWAY;
    for (size_t i = 0; i < tries && order[i] >= 0; i++) {
        const struct gateway_config *g = gateways_config(gws, (size_t)order[i]);
        snprintf(c->cdr.gateway, sizeof c->cdr.gateway, "%s", g->name);
        if (call_claim_channels(c, &full) == 0) {
            char uri[400];
            bool v6 = strchr(g->host, ':') != NULL;
            snprintf(uri, sizeof uri, "sip:%s%s@%s%s%s:%u%s", g->prefix, c->out->number,
                     v6 ? "[" : "", g->host, v6 ? "]" : "", g->port,
                     g->transport == SIP_TRANSPORT_TCP ? ";transport=tcp" : "");
            free(c->to_uri);
            c->to_uri = strdup(uri);
            if (g->n_codecs > 0) {
                c->n_offer = g->n_codecs < SDP_MAX_CODECS ? g->n_codecs : SDP_MAX_CODECS;
                memcpy(c->offer_pts, g->codecs, (size_t)c->n_offer * sizeof c->offer_pts[0]);
            }
            if (g->username[0]) {
                cred->username = g->username;
                cred->password = g->password;
            }
            return c->to_uri != NULL;
        }
        if (full != LIMIT_GATEWAY)
            break;
    }
    if (tries == 0)
        c->cdr.gateway[0] = '\0';
    log_info("call %s: refused, %s (%s)", c->id, tries ? limit_reason(full) : "every gateway is down",
             c->cdr.to_number);
    c->sip_gone = true;
    c->script_done = true;
    call_end_because(c, 486, tries ? "over_limit" : "failed", "system",
                     tries ? limit_reason(full) : "no gateway up");
    return false;
}

void outleg_to_number(const struct outleg_request *req, char *out, size_t cap)
{
    const char *user = req->to + 4, *at = strchr(user, '@');
    if (req->number[0])
        snprintf(out, cap, "%s", req->number);
    else
        snprintf(out, cap, "%.*s", at ? (int)(at - user) : 0, user);
}

struct call *outleg_start(struct worker *w, uint64_t leg_id, struct outleg_request *req,
                          struct call *parent)
{
    const struct engine_services *svc = engine_services(worker_engine(w));
    struct call *c = call_new(w, leg_id);
    if (!c) {
        log_error("outbound call to %s: out of memory", req->to);
        outleg_request_free(req);
        engine_call_released(worker_engine(w));
        return NULL;
    }
    c->outbound = true;
    c->out = req;
    c->n_offer = 2; /* both G.711 laws (the bridge transcodes); a gateway may name its own */
    c->offer_pts[0] = SDP_PT_PCMU;
    c->offer_pts[1] = SDP_PT_PCMA;
    c->dial_parent = parent;
    c->script_done = true; /* until the answer starts it */
    struct cdr_row *r = &c->cdr;
    snprintf(r->direction, sizeof r->direction, "outbound");
    snprintf(r->account, sizeof r->account, "%s", req->account);
    snprintf(r->from_number, sizeof r->from_number, "%s", req->from);
    outleg_to_number(req, r->to_number, sizeof r->to_number);
    snprintf(r->script, sizeof r->script, "%s", req->script);
    c->callrec_wanted = c->callrec_wanted && !parent; /* a b-leg is in its a-leg's recording */
    snprintf(r->parent_call_id, sizeof r->parent_call_id, "%s", req->parent_call_id);
    r->campaign_id = req->campaign_id;
    r->start_ms = clock_wall_ms();
    char from_uri[160];
    snprintf(from_uri, sizeof from_uri, "sip:%s@%s:%u", req->from, svc->media_ip, svc->cfg->sip_port);
    c->from_uri = strdup(from_uri);
    c->to_uri = strdup(req->to); /* replaced by the gateway's URI for a number */
    c->set = script_registry_acquire(svc->scripts);
    c->numbers = number_directory_acquire(svc->numbers);
    c->number = number_snapshot_find(c->numbers, req->from);
    store_cdr_begin(svc->store, r);
    c->ring_timer = evtimer_new(worker_base(w), on_ring_timeout, c);
    c->sip_gone = true; /* until the INVITE is handed to SIP */
    if (!c->from_uri || !c->to_uri || !c->ring_timer) {
        end_unplaced(c, 500, "failed");
        return c;
    }
    struct sip_credentials cred = { NULL, NULL };
    char *to_header = NULL;
    bool placed = req->trunk[0]    ? through_trunk(c, &to_header)
                  : req->number[0] ? through_gateway(c, &cred)
                                   : call_take_channels(c);
    if (!placed) {
        free(to_header);
        call_script_wake(c);
        return c;
    }
    char err[200], sdp[1024];
    const char *cause = NULL;
    if (c->cdr.gateway[0] && !(c->billed = outleg_billing_admit(c))) {
        cause = "no_balance";
    } else if (rtp_session_open(&c->rtp, svc->ports, svc->bind_ip, err, sizeof err) != 0) {
        log_warn("call %s: %s", c->id, err);
        cause = "failed";
    } else {
        c->rtp_open = true;
        if (call_sdp(c, sdp, sizeof sdp) < 0)
            cause = "failed";
    }
    if (cause) {
        free(to_header);
        end_unplaced(c, strcmp(cause, "no_balance") == 0 ? 403 : 500, cause);
        return c;
    }
    c->sip_gone = false;
    engine_leg_placed(worker_engine(w), leg_id);
    sip_invite(svc->sip, leg_id, c->to_uri, c->from_uri, to_header, sdp,
               cred.username ? &cred : NULL, req->headers);
    free(to_header);
    struct timeval tv = { req->timeout_ms / 1000, (req->timeout_ms % 1000) * 1000 };
    evtimer_add(c->ring_timer, &tv);
    call_publish(c);
    log_info("call %s: calling %s from %s (%s)", c->id, c->to_uri, req->from, req->account);
    return c;
}

/* The answer (in the 2xx, else an early one) names a codec of our offer (RFC 3264 section 6.1:
 * an answer picks from the offer). Anything else (G.729 to a G.711 offer, no usable SDP) would
 * be noise or silence if bridged. */
static bool answer_usable(const struct call *c, const struct sip_event *ev)
{
    const struct sdp_media *m = ev->has_media ? &ev->media : c->have_remote ? &c->remote : NULL;
    for (int i = 0; m && i < c->n_offer; i++)
        if (c->offer_pts[i] == m->codec_pt)
            return true;
    return false;
}

static void answered(struct call *c, struct sip_event *ev)
{
    evtimer_del(c->ring_timer);
    c->cdr.sip_code = 200;
    if (!answer_usable(c, ev)) { /* not answered for us: no answer_time, no bill; BYE (88) */
        log_warn("call %s: the answer has no codec of our offer: hung up as incompatible", c->id);
        call_end(c, 0, "incompatible_destination", "system");
        call_script_wake(c);
        return;
    }
    if (ev->has_media)
        call_apply_remote(c, &ev->media);
    c->state = CALL_UP;
    c->cdr.answer_ms = clock_wall_ms();
    store_cdr_update(engine_services(worker_engine(c->w))->store, &c->cdr);
    call_media_start(c); /* the offer/answer is complete: learn the peer's RTP */
    call_recording_start(c);
    if (c->billed)
        outleg_billing_answered(c);
    call_publish(c);
    if (c->dial_parent) {
        call_dial_leg_event(c);
        return;
    }
    struct route vars = { .script = c->out->script, .n_vars = c->out->n_vars, .vars = c->out->vars };
    c->script_done = false;
    call_script_start(c, c->cdr.script, &vars);
}

void outleg_on_sip(struct call *c, struct sip_event *ev)
{
    if (ev->call_id && !c->cdr.sip_call_id[0])
        snprintf(c->cdr.sip_call_id, sizeof c->cdr.sip_call_id, "%s", ev->call_id);
    if (c->ended)
        return; /* a 2xx crossing our CANCEL is ended by the SIP side */
    switch (ev->type) {
    case SIP_EV_PROGRESS:
        if (ev->has_media) {
            call_apply_remote(c, &ev->media);
            c->state = CALL_EARLY;
            if (c->dial_parent)
                call_media_start(c); /* early media, relayed to the caller */
        }
        call_publish(c);
        if (c->dial_parent)
            call_dial_leg_event(c);
        break;
    case SIP_EV_ANSWERED:
        answered(c, ev);
        break;
    case SIP_EV_FAILED:
        log_info("call %s: %d %s", c->id, ev->status, ev->phrase);
        c->cdr.sip_code = ev->status;
        c->peer_gone = true;
        call_end(c, ev->status, outleg_cause(ev->status), "callee");
        call_script_wake(c);
        break;
    default:
        break;
    }
}
