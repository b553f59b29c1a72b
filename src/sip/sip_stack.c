/* The SIP thread. See sip_stack.h for what it promises; engine-notes.md sections 1-2 and
 * sofia-sip-hardening.md for why it is built this way. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct sip_stack;
struct sip_leg;
#define SU_ROOT_MAGIC_T struct sip_stack
#define SU_WAKEUP_ARG_T struct sip_stack
#define NUA_MAGIC_T struct sip_stack
#define NUA_HMAGIC_T struct sip_leg

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/idmap.h"
#include "core/log.h"
#include "trunk/gateways.h"
#include "trunk/gw_health.h"
#include "trunk/gw_resolver.h"
#include "core/tally.h"
#include "sip/ratelimit.h"
#include "sip/registrar.h"
#include "sip/sip_auth.h"
#include "sip/sip_guard.h"
#include "sip/sip_parser.h"
#include "sip/sip_stack.h"

#define ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER"
#define ACCEPT "application/sdp, application/dtmf-relay, application/dtmf"
#define USER_AGENT "vcsd/" PACKAGE_VERSION
#define RETRY_AFTER_DRAINING 5 /* the longest Retry-After admission gives (engine.h) */
#define FORBIDDEN_LOG_EVERY_US 1000000
#define TIMER_H_US 32000000 /* 64*T1: nta retransmits a final answer to an INVITE this long */
enum { ADMISSIBLE, FORBIDDEN };

struct sip_leg {
    uint64_t id;
    nua_handle_t *nh;
    uint64_t answered_us; /* while our 2xx waits for its ACK: when it went out */
    /* outbound legs (sip_invite) */
    bool outbound;
    bool answered;        /* a 2xx came */
    bool hangup_asked;    /* sip_hangup_outbound came first: a crossing 2xx gets BYE */
    bool auth_tried;      /* the one answer to a challenge is spent */
    char *username, *password, *reason;
    bool bye_sent;        /* the call layer asked for the BYE (inbound; outbound: hangup_asked) */
    bool bye_deferred;    /* ... before our 2xx was ACKed: it goes out with the ACK (reason kept) */
    bool expired;         /* nua sent a BYE of its own: the peer let the session timer expire */
};

enum sip_cmd_type { CMD_RESPOND, CMD_BYE, CMD_INVITE, CMD_HANGUP_OUT, CMD_INFO, CMD_STOP };

struct sip_cmd {
    struct qnode node;
    enum sip_cmd_type type;
    uint64_t leg_id;
    int status;
    char *sdp;
    char *reason;
    /* CMD_INVITE */
    char *uri, *from, *to, *headers, *username, *password;
    char *content_type; /* CMD_INFO (its body in sdp) */
};

struct sip_stack {
    const struct vcs_config *cfg;
    struct gateways *gateways;
    struct sip_sink sink;
    pthread_t thread;
    su_root_t *root;
    nua_t *nua;
    int efd;
    su_wait_t wait;
    struct mpsc_queue cmds;
    struct idmap legs;
    struct ratelimit *rl;
    struct sip_auth *auth;
    struct gw_resolver *resolver; /* DNS names of gateways, off this thread */
    struct gw_health *health;     /* OPTIONS probes and REGISTER to gateways */
    atomic_ullong forbidden, rate_limited; /* for /metrics, read by the API thread */
    uint64_t forbidden_logged_us, forbidden_unlogged;
    uint64_t ack_window_us, ack_min_us, ack_last_min_us; /* see ack_delay_us() */
    bool delay_ours;              /* the SIP side's delay is the trunks' doing (note_invite) */
    struct tally invites;         /* new INVITEs, ADMISSIBLE or FORBIDDEN, over TIMER_H or so */
    bool shutting_down;
    /* start-up hand-shake with sip_stack_start() */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int start_state; /* 0 pending, 1 running, -1 failed */
    char start_err[256];
};

void sip_event_free(struct sip_event *ev)
{
    if (!ev)
        return;
    free(ev->call_id);
    free(ev->from_user);
    free(ev->to_user);
    free(ev->from_uri);
    free(ev->to_uri);
    free(ev->account);
    free(ev->content_type);
    free(ev->body);
    free(ev);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *url_string(const url_t *url)
{
    char buf[512];
    if (!url)
        return strdup("");
    isize_t n = url_e(buf, sizeof buf, url);
    if (n < 0 || (size_t)n >= sizeof buf)
        return strdup(""); /* over-long URIs are not worth keeping */
    buf[n] = '\0';
    return strdup(buf);
}

static void leg_free(struct sip_leg *leg)
{
    if (!leg)
        return;
    free(leg->username);
    free(leg->password);
    free(leg->reason);
    free(leg);
}

static void cmd_free(struct sip_cmd *cmd)
{
    free(cmd->sdp);
    free(cmd->reason);
    free(cmd->uri);
    free(cmd->from);
    free(cmd->to);
    free(cmd->headers);
    free(cmd->username);
    free(cmd->password);
    free(cmd->content_type);
    free(cmd);
}

static const char *phrase(int status)
{
    const char *p = sip_status_phrase(status);
    return p ? p : "Unknown";
}

/* ---- source address, trunks ------------------------------------------------------------ */

static const struct sockaddr *request_source(nua_t *nua, char *text, size_t textlen)
{
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (!ai || !ai->ai_addr) {
        snprintf(text, textlen, "?");
        return NULL;
    }
    const struct sockaddr *sa = (const struct sockaddr *)ai->ai_addr;
    const void *raw = sa->sa_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (!inet_ntop(sa->sa_family, raw, text, (socklen_t)textlen))
        snprintf(text, textlen, "?");
    return sa;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

/* SPEC 4: who a source is. A carrier gateway's address (*gateway set; its calls belong to the
 * called number's owner, "" here), else the trunk of its allow list, of a contact it
 * registered or of the digest credentials it proves, else loopback as the admin's trunk when
 * no trunk and no gateway exists. IDENT_ANSWERED: a challenge or a lock-out went out. */
enum ident { IDENT_OK, IDENT_UNKNOWN, IDENT_ANSWERED };

static enum ident identify(struct sip_stack *s, nua_handle_t *nh, const sip_t *sip,
                           const struct sockaddr *sa, const char *source, struct trunk_match *m,
                           const struct gateway_config **gateway)
{
    memset(m, 0, sizeof *m);
    *gateway = NULL;
    if (!sa)
        return IDENT_UNKNOWN;
    int gw = gateways_match_source(s->gateways, sa);
    if (gw >= 0) {
        *gateway = gateways_config(s->gateways, (size_t)gw);
        return IDENT_OK;
    }
    struct trunks *t = s->sink.trunks;
    if (!trunks_any(t) && s->cfg->n_gateways == 0) {
        snprintf(m->account, sizeof m->account, "admin");
        return is_loopback(sa) ? IDENT_OK : IDENT_UNKNOWN;
    }
    if (trunks_by_address(t, sa, m) || trunks_by_registered(t, sa, clock_wall_ms(), m))
        return IDENT_OK;
    switch (sip_auth_request(s->auth, s->nua, nh, sip, sa, source, m)) {
    case SIP_AUTH_OK:
        return IDENT_OK;
    case SIP_AUTH_ANSWERED:
        return IDENT_ANSWERED;
    case SIP_AUTH_NONE:
        break;
    }
    return IDENT_UNKNOWN;
}

/* ---- bodies ------------------------------------------------------------------------------ */

/* Parses the offer of an INVITE (or the answer in an ACK). Returns 0 (has_media tells whether
 * there was one) or the SIP status to reject with, with a Warning text in warn. */
static int read_media(const sip_t *sip, struct sip_event *ev, char *warn, size_t warnlen)
{
    return sip_guard_media(sip, &ev->media, &ev->has_media, warn, warnlen);
}

/* ---- responding --------------------------------------------------------------------------- */

static void respond_here(struct sip_stack *s, nua_handle_t *nh, int status, const char *warn)
{
    char warning[300], retry[16];
    if (warn)
        snprintf(warning, sizeof warning, "399 vcsd \"%.250s\"", warn);
    snprintf(retry, sizeof retry, "%d", RETRY_AFTER_DRAINING);
    nua_respond(nh, status, phrase(status), NUTAG_WITH_THIS(s->nua),
                TAG_IF(warn, SIPTAG_WARNING_STR(warning)),
                TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR(retry)),
                TAG_IF(status == 405, SIPTAG_ALLOW_STR(ALLOW)),
                TAG_IF(status == 415, SIPTAG_ACCEPT_STR(ACCEPT)),
                TAG_IF(status == 415, SIPTAG_ACCEPT_ENCODING_STR(SIP_GUARD_ACCEPT_ENCODING)),
                TAG_END());
}

static void deliver(struct sip_stack *s, struct sip_event *ev)
{
    ev->wall_ms = ev->wall_ms ? ev->wall_ms : clock_wall_ms();
    s->sink.deliver(s->sink.ctx, ev);
}

static struct sip_event *event_new(enum sip_event_type type, uint64_t leg_id)
{
    struct sip_event *ev = calloc(1, sizeof *ev);
    if (ev) {
        ev->type = type;
        ev->leg_id = leg_id;
    }
    return ev;
}

static void respond_busy(struct sip_stack *s, nua_handle_t *nh, int retry_after, const char *why)
{
    char warning[300], retry[16];
    snprintf(warning, sizeof warning, "399 vcsd \"%s\"", why);
    snprintf(retry, sizeof retry, "%d", retry_after);
    nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(s->nua),
                SIPTAG_WARNING_STR(warning), SIPTAG_RETRY_AFTER_STR(retry), TAG_END());
}

/* ---- incoming requests -------------------------------------------------------------------- */

/* A scanner sends thousands of these a second: one warn line a second says how many. */
static void log_forbidden(struct sip_stack *s, const char *source, const sip_t *sip)
{
    uint64_t now = clock_mono_us();
    s->forbidden_unlogged++;
    if (now - s->forbidden_logged_us < FORBIDDEN_LOG_EVERY_US)
        return;
    log_warn("sip: INVITE from %s to %s refused (403): source not allowed (%llu such since the last "
             "line)", source,
             sip->sip_request && sip->sip_request->rq_url->url_user ? sip->sip_request->rq_url->url_user : "",
             (unsigned long long)s->forbidden_unlogged);
    s->forbidden_logged_us = now;
    s->forbidden_unlogged = 0;
}

/* When most new INVITEs of the last half minute or so came from unknown sources (a scanner),
 * the SIP side's delay is theirs (nta goes on retransmitting their 403s until Timer H, and a
 * scanner does not ACK), and refusing trunk calls would not shorten it: admission is not told
 * about it then. */
static void note_invite(struct sip_stack *s, uint64_t now)
{
    tally_add(&s->invites, now, ADMISSIBLE);
    s->delay_ours = tally_sum(&s->invites, ADMISSIBLE) >= tally_sum(&s->invites, FORBIDDEN);
}

/* ---- 2xx to ACK: the delay of the whole loop ------------------------------------------------ */

/* Sofia hides its sockets and stamps a message only once read, so a backlog in the SIP socket
 * cannot be seen directly; but an ACK queues in it behind everything else, and behind the
 * peer's own lag, and that delay is the one that ends in "ACK Timeout". It is sampled when the
 * ACK arrives, CoDel's way: the smallest sample of a 100 ms window is a queue that did not
 * drain in that window (one ACK that never comes holds nothing up). */
#define ACK_WINDOW_US 100000

static void ack_sample(struct sip_stack *s, struct sip_leg *leg, uint64_t now)
{
    if (!leg->answered_us)
        return;
    uint64_t delay = now > leg->answered_us ? now - leg->answered_us : 0;
    leg->answered_us = 0;
    if (now - s->ack_window_us >= ACK_WINDOW_US) {
        bool adjacent = now - s->ack_window_us < 2 * ACK_WINDOW_US;
        s->ack_last_min_us = adjacent ? s->ack_min_us : 0;
        s->ack_window_us = now;
        s->ack_min_us = delay;
    } else if (delay < s->ack_min_us) {
        s->ack_min_us = delay;
    }
}

/* The last complete window's smallest sample; 0 once ACKs stopped coming (no calls). */
static uint64_t ack_delay_us(const struct sip_stack *s, uint64_t now)
{
    return now - s->ack_window_us < 2 * ACK_WINDOW_US ? s->ack_last_min_us : 0;
}

/* Identity first (SPEC 4): an unknown source is answered here and now, before it can take a
 * rate or admission slot, and it never reaches a worker, so it writes no CDR. */
static void on_new_invite(struct sip_stack *s, nua_handle_t *nh, const sip_t *sip)
{
    char source[64];
    const struct sockaddr *sa = request_source(s->nua, source, sizeof source);
    const struct gateway_config *gateway;
    struct trunk_match trunk;
    enum ident who = identify(s, nh, sip, sa, source, &trunk, &gateway);
    if (who != IDENT_OK) {
        tally_add(&s->invites, clock_mono_us(), FORBIDDEN);
        if (who == IDENT_UNKNOWN) {
            atomic_fetch_add(&s->forbidden, 1);
            log_forbidden(s, source, sip);
            nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(s->nua), TAG_END());
        }
        nua_handle_destroy(nh); /* at once: nta finishes the transaction, no state events */
        return;
    }
    if (!ratelimit_allow(s->rl, sa, clock_mono_us())) {
        atomic_fetch_add(&s->rate_limited, 1);
        log_debug("sip: INVITE from %s rate-limited", source);
        respond_busy(s, nh, 1, "rate limited"); /* a bucket refills within a second */
        return;
    }
    if (sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0) {
        respond_here(s, nh, 483, NULL);
        return;
    }
    if (s->sink.draining(s->sink.ctx)) {
        respond_busy(s, nh, RETRY_AFTER_DRAINING, "draining");
        return;
    }
    /* Admission before the SDP is read: under overload most INVITEs are refused, and a refusal
     * should cost the SIP thread as little as possible. */
    int retry_after = 0;
    uint64_t leg_id = 0;
    note_invite(s, clock_mono_us());
    int status = s->sink.admit(s->sink.ctx, &leg_id, &retry_after);
    if (status) {
        respond_busy(s, nh, retry_after, "over capacity");
        return;
    }
    struct sip_event *ev = event_new(SIP_EV_INVITE, 0);
    char warn[200] = "";
    status = ev ? read_media(sip, ev, warn, sizeof warn) : 500;
    if (status) {
        if (ev)
            log_info("sip: INVITE %s from %s rejected %d: %s",
                     sip->sip_call_id ? sip->sip_call_id->i_id : "?", source, status, warn);
        s->sink.unadmit(s->sink.ctx, leg_id);
        respond_here(s, nh, status, warn[0] ? warn : NULL);
        sip_event_free(ev);
        return;
    }
    struct sip_leg *leg = calloc(1, sizeof *leg);
    if (!leg || idmap_put(&s->legs, leg_id, leg) != 0) {
        free(leg);
        s->sink.unadmit(s->sink.ctx, leg_id);
        respond_here(s, nh, 500, NULL);
        sip_event_free(ev);
        return;
    }
    leg->id = leg_id;
    leg->nh = nh;
    nua_handle_bind(nh, leg);
    ev->leg_id = leg_id;
    ev->call_id = strdup(sip->sip_call_id ? sip->sip_call_id->i_id : "");
    ev->from_user = strdup(sip->sip_from && sip->sip_from->a_url->url_user ? sip->sip_from->a_url->url_user : "");
    ev->to_user = strdup(sip->sip_request && sip->sip_request->rq_url->url_user ? sip->sip_request->rq_url->url_user : "");
    ev->from_uri = url_string(sip->sip_from ? sip->sip_from->a_url : NULL);
    ev->to_uri = url_string(sip->sip_to ? sip->sip_to->a_url : NULL);
    ev->account = strdup(trunk.account);
    if (gateway)
        snprintf(ev->gateway, sizeof ev->gateway, "%s", gateway->name);
    snprintf(ev->trunk, sizeof ev->trunk, "%s", trunk.name);
    ev->trunk_max_calls = trunk.max_calls;
    snprintf(ev->source, sizeof ev->source, "%s", source);
    deliver(s, ev);
}

static void on_reinvite(struct sip_stack *s, nua_handle_t *nh, struct sip_leg *leg, const sip_t *sip)
{
    struct sip_event *ev = event_new(SIP_EV_REINVITE, leg->id);
    char warn[200] = "";
    int status = ev ? read_media(sip, ev, warn, sizeof warn) : 500;
    if (status) {
        /* A refused re-INVITE leaves the call as it was (RFC 3261 14.2). */
        respond_here(s, nh, status, warn[0] ? warn : NULL);
        sip_event_free(ev);
        return;
    }
    deliver(s, ev);
}

/* RFC 3261 15: a callee must not send BYE before the ACK of its 2xx (or Timer H, where nua sends
 * the BYE itself). Under load a 2xx lost on the way lets a short script hang up before the
 * caller has the 2xx; a BYE then ends a call that the caller still thinks is being set up, and
 * the 2xx retransmission that would have recovered it is never ACKed. */
static void send_bye(struct sip_leg *leg, const char *reason)
{
    leg->bye_sent = true;
    if (leg->answered_us) {
        leg->bye_deferred = true;
        free(leg->reason);
        leg->reason = dup_or_null(reason);
        return;
    }
    nua_bye(leg->nh, TAG_IF(reason, SIPTAG_REASON_STR(reason)), TAG_END());
}

static void on_ack(struct sip_stack *s, struct sip_leg *leg, const sip_t *sip)
{
    ack_sample(s, leg, clock_mono_us());
    if (leg->bye_deferred) {
        leg->bye_deferred = false;
        send_bye(leg, leg->reason);
    }
    struct sip_event *ev = event_new(SIP_EV_ACK, leg->id);
    if (!ev)
        return;
    char warn[200];
    if (sip)
        read_media(sip, ev, warn, sizeof warn); /* an answer in the ACK is optional */
    deliver(s, ev);
}

static void on_info(struct sip_stack *s, nua_handle_t *nh, struct sip_leg *leg, const sip_t *sip)
{
    if (!leg) {
        respond_here(s, nh, 481, NULL);
        return;
    }
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(s->nua), TAG_END());
    struct sip_event *ev = event_new(SIP_EV_INFO, leg->id);
    if (!ev)
        return;
    const sip_payload_t *pl = sip ? sip->sip_payload : NULL;
    ev->content_type = strdup(sip && sip->sip_content_type && sip->sip_content_type->c_type
                                  ? sip->sip_content_type->c_type : "");
    ev->body = pl && pl->pl_data ? strndup(pl->pl_data, pl->pl_len) : strdup("");
    deliver(s, ev);
}

static void on_options(struct sip_stack *s, nua_handle_t *nh, const sip_t *sip)
{
    char source[64];
    const struct sockaddr *sa = request_source(s->nua, source, sizeof source);
    int status = 200;
    if (sip && sip->sip_max_forwards && sip->sip_max_forwards->mf_count == 0)
        status = 483;
    else if (sa && !ratelimit_allow(s->rl, sa, clock_mono_us())) {
        atomic_fetch_add(&s->rate_limited, 1);
        status = 503;
    }
    else if (s->sink.draining(s->sink.ctx))
        status = 503;
    char retry[16];
    snprintf(retry, sizeof retry, "%d", RETRY_AFTER_DRAINING);
    nua_respond(nh, status, phrase(status), NUTAG_WITH_THIS(s->nua), SIPTAG_ALLOW_STR(ALLOW),
                SIPTAG_ACCEPT_STR(ACCEPT), TAG_IF(status == 503, SIPTAG_RETRY_AFTER_STR(retry)),
                TAG_END());
}

/* SPEC 4: REGISTER only from trunks with credentials, which prove them here. */
static void on_register(struct sip_stack *s, nua_handle_t *nh, const sip_t *sip)
{
    char source[64];
    const struct sockaddr *sa = request_source(s->nua, source, sizeof source);
    struct trunk_match trunk;
    switch (sa ? sip_auth_request(s->auth, s->nua, nh, sip, sa, source, &trunk) : SIP_AUTH_NONE) {
    case SIP_AUTH_OK:
        registrar_bind(s->sink.trunks, s->nua, nh, sip, &trunk, source);
        break;
    case SIP_AUTH_NONE:
        nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(s->nua), TAG_END());
        break;
    case SIP_AUTH_ANSWERED:
        break;
    }
}

static void leg_terminated(struct sip_stack *s, nua_handle_t *nh, struct sip_leg *leg)
{
    if (leg) {
        idmap_remove(&s->legs, leg->id);
        struct sip_event *ev = event_new(SIP_EV_TERMINATED, leg->id);
        if (ev) {
            ev->session_expired = leg->expired;
            deliver(s, ev);
        }
        leg_free(leg);
    }
    nua_handle_bind(nh, NULL);
    nua_handle_destroy(nh);
}

/* Requests we answer ourselves are refused first when RFC 3261 8.2 says so (sip_guard.h);
 * nua answers the others (BYE, CANCEL, PRACK) itself. True when the request was answered. */
static bool refused_malformed(struct sip_stack *s, nua_event_t event, nua_handle_t *nh,
                              struct sip_leg *leg, const sip_t *sip)
{
    if (!sip || (event != nua_i_invite && event != nua_i_options && event != nua_i_info))
        return false;
    const char *why = NULL;
    int status = sip_guard_request(sip, &why);
    if (!status)
        return false;
    log_info("sip: %s %s refused %d: %s", sip->sip_request ? sip->sip_request->rq_method_name : "?",
             sip->sip_call_id ? sip->sip_call_id->i_id : "?", status, why);
    respond_here(s, nh, status, why);
    /* A new INVITE's handle goes with its terminated state; an OPTIONS' would stay. */
    if (!leg && event == nua_i_options)
        nua_handle_destroy(nh);
    return true;
}

/* ---- outbound legs -------------------------------------------------------------------------- */

/* The one answer to a 401/407: the challenge's own scheme and realm with the gateway's
 * credentials. False when there is nothing (more) to answer with. */
static bool answer_challenge(nua_handle_t *nh, struct sip_leg *leg, const sip_t *sip)
{
    const msg_auth_t *au = sip ? (sip->sip_www_authenticate ? sip->sip_www_authenticate
                                                            : sip->sip_proxy_authenticate)
                               : NULL;
    if (!au || leg->auth_tried || !leg->username || !leg->password)
        return false;
    const char *realm = msg_params_find(au->au_params, "realm=");
    if (!realm || strchr(leg->username, ':') || strchr(leg->password, '\n'))
        return false;
    char auth[512];
    int n = snprintf(auth, sizeof auth, "%s:%s%s%s:%s:%s", au->au_scheme,
                     realm[0] == '"' ? "" : "\"", realm, realm[0] == '"' ? "" : "\"",
                     leg->username, leg->password);
    if (n < 0 || (size_t)n >= sizeof auth)
        return false;
    leg->auth_tried = true;
    nua_authenticate(nh, NUTAG_AUTH(auth), TAG_END());
    return true;
}

static void on_invite_response(struct sip_stack *s, nua_handle_t *nh, struct sip_leg *leg,
                               int status, const char *text, const sip_t *sip)
{
    if (leg->answered || status < 180)
        return; /* 100 Trying, or a re-INVITE of ours (we send none) */
    if ((status == 401 || status == 407) && !leg->hangup_asked) {
        if (answer_challenge(nh, leg, sip))
            return;
        log_warn("sip: outbound leg %016llx: %d challenge %s, giving up", (unsigned long long)leg->id,
                 status, leg->auth_tried ? "again after our credentials" : "and no credentials");
    }
    enum sip_event_type type = status < 200 ? SIP_EV_PROGRESS
                               : status < 300 ? SIP_EV_ANSWERED : SIP_EV_FAILED;
    if (type == SIP_EV_ANSWERED) {
        leg->answered = true;
        if (leg->hangup_asked) { /* the 2xx crossed our CANCEL: nua has sent the ACK */
            nua_bye(nh, TAG_IF(leg->reason, SIPTAG_REASON_STR(leg->reason)), TAG_END());
            return;
        }
    }
    struct sip_event *ev = event_new(type, leg->id);
    if (!ev)
        return;
    ev->status = status;
    snprintf(ev->phrase, sizeof ev->phrase, "%s", text ? text : phrase(status));
    if (sip && sip->sip_call_id)
        ev->call_id = strdup(sip->sip_call_id->i_id);
    char warn[200];
    if (type != SIP_EV_FAILED && sip && sip->sip_payload && read_media(sip, ev, warn, sizeof warn))
        log_info("sip: outbound leg %016llx: unusable SDP in %d: %s", (unsigned long long)leg->id,
                 status, warn);
    deliver(s, ev);
}

static void place_invite(struct sip_stack *s, struct sip_cmd *cmd)
{
    struct sip_leg *leg = calloc(1, sizeof *leg);
    nua_handle_t *nh = NULL;
    if (leg && idmap_put(&s->legs, cmd->leg_id, leg) == 0) {
        leg->id = cmd->leg_id;
        leg->outbound = true;
        leg->username = cmd->username;
        leg->password = cmd->password;
        cmd->username = cmd->password = NULL;
        nh = nua_handle(s->nua, leg, SIPTAG_FROM_STR(cmd->from),
                        SIPTAG_TO_STR(cmd->to ? cmd->to : cmd->uri), TAG_END());
        if (!nh)
            idmap_remove(&s->legs, cmd->leg_id);
    }
    if (!nh) {
        leg_free(leg);
        struct sip_event *ev = event_new(SIP_EV_FAILED, cmd->leg_id);
        struct sip_event *end = event_new(SIP_EV_TERMINATED, cmd->leg_id);
        if (ev) {
            ev->status = 500;
            snprintf(ev->phrase, sizeof ev->phrase, "cannot place the call");
            deliver(s, ev);
        }
        if (end)
            deliver(s, end);
        return;
    }
    leg->nh = nh;
    nua_invite(nh, NUTAG_URL(cmd->uri), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(cmd->sdp), TAG_IF(cmd->headers, SIPTAG_HEADER_STR(cmd->headers)),
               TAG_END());
}

static void hangup_outbound(struct sip_leg *leg, const char *reason)
{
    if (!leg->outbound || leg->hangup_asked)
        return;
    leg->hangup_asked = true;
    free(leg->reason);
    leg->reason = dup_or_null(reason);
    if (leg->answered)
        nua_bye(leg->nh, TAG_IF(reason, SIPTAG_REASON_STR(reason)), TAG_END());
    else
        nua_cancel(leg->nh, TAG_IF(reason, SIPTAG_REASON_STR(reason)), TAG_END());
}

static void nua_callback(nua_event_t event, int status, char const *phrase_text, nua_t *nua,
                         struct sip_stack *s, nua_handle_t *nh, struct sip_leg *leg,
                         sip_t const *sip, tagi_t tags[])
{
    if (refused_malformed(s, event, nh, leg, sip))
        return;
    switch (event) {
    case nua_i_invite:
        if (leg)
            on_reinvite(s, nh, leg, sip);
        else if (sip)
            on_new_invite(s, nh, sip);
        break;
    case nua_i_ack:
        if (leg)
            on_ack(s, leg, sip);
        break;
    case nua_r_invite:
        if (leg && leg->outbound)
            on_invite_response(s, nh, leg, status, phrase_text, sip);
        break;
    case nua_i_bye:
    case nua_i_cancel:
        if (leg) {
            struct sip_event *ev = event_new(event == nua_i_bye ? SIP_EV_BYE : SIP_EV_CANCEL, leg->id);
            if (ev)
                deliver(s, ev);
        }
        break;
    case nua_i_info:
        on_info(s, nh, leg, sip);
        break;
    case nua_i_options:
        on_options(s, nh, sip);
        if (!leg)
            nua_handle_destroy(nh); /* out-of-dialog: one handle per request */
        break;
    case nua_i_register:
        if (sip)
            on_register(s, nh, sip);
        if (!leg)
            nua_handle_destroy(nh);
        break;
    case nua_i_update:
        /* In a call nua has answered it already (200, with the session timer: a refresh). */
        if (leg)
            break;
        /* fall through - outside a call it is as unsupported as these */
    case nua_i_subscribe:
    case nua_i_publish:
    case nua_i_message:
    case nua_i_refer:
    case nua_i_notify:
    case nua_i_method:
        respond_here(s, nh, 405, NULL);
        if (!leg)
            nua_handle_destroy(nh);
        break;
    case nua_r_bye:
        /* nua hangs up by itself in two cases: our 2xx was never ACKed (Timer H; answered_us
         * still set), or the session timer ran out (BYE with Reason 408 "Session timeout",
         * RFC 4028 10): the peer did not refresh in time. */
        if (leg && !leg->bye_sent && !leg->hangup_asked && !leg->answered_us) {
            leg->expired = true;
            log_info("sip: %s: session timer expired without a refresh, BYE sent",
                     sip && sip->sip_call_id ? sip->sip_call_id->i_id : "?");
        }
        break;
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state == nua_callstate_terminated)
            leg_terminated(s, nh, leg);
        break;
    }
    case nua_r_options:
    case nua_r_register:
        if (!leg)
            gw_health_event(s->health, event, status, nh, sip);
        break;
    case nua_r_shutdown:
        if (status >= 200)
            su_root_break(s->root);
        break;
    case nua_i_error:
        log_warn("sip: stack error %d %s", status, phrase_text ? phrase_text : "");
        break;
    default:
        if (!leg && nh && event >= nua_i_chat && event <= nua_i_network_changed)
            log_debug("sip: unhandled event %s", nua_event_name(event));
        break;
    }
}

/* ---- commands from the call layer ---------------------------------------------------------- */

static void run_command(struct sip_stack *s, struct sip_cmd *cmd)
{
    if (cmd->type == CMD_STOP) {
        if (!s->shutting_down) {
            s->shutting_down = true;
            gw_health_stop(s->health);
            nua_shutdown(s->nua);
        }
        return;
    }
    if (cmd->type == CMD_INVITE) {
        place_invite(s, cmd);
        return;
    }
    struct sip_leg *leg = idmap_get(&s->legs, cmd->leg_id);
    if (!leg)
        return; /* the leg ended meanwhile: nothing to do */
    if (cmd->type == CMD_BYE) {
        send_bye(leg, cmd->reason);
        return;
    }
    if (cmd->type == CMD_HANGUP_OUT) {
        hangup_outbound(leg, cmd->reason);
        return;
    }
    if (cmd->type == CMD_INFO) {
        nua_info(leg->nh, SIPTAG_CONTENT_TYPE_STR(cmd->content_type), SIPTAG_PAYLOAD_STR(cmd->sdp),
                 TAG_END());
        return;
    }
    if (cmd->status >= 200 && cmd->status < 300 && !leg->answered_us)
        leg->answered_us = clock_mono_us(); /* a repeated 2xx: the first one counts */
    nua_respond(leg->nh, cmd->status, phrase(cmd->status),
                TAG_IF(cmd->sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(cmd->sdp, SIPTAG_PAYLOAD_STR(cmd->sdp)),
                TAG_IF(cmd->reason, SIPTAG_REASON_STR(cmd->reason)), TAG_END());
}

static int on_wakeup(struct sip_stack *s, su_wait_t *w, struct sip_stack *arg)
{
    uint64_t n;
    ssize_t r = read(s->efd, &n, sizeof n);
    (void)r;
    for (struct qnode *q = queue_take_all(&s->cmds); q;) {
        struct sip_cmd *cmd = container_of(q, struct sip_cmd, node);
        q = q->next;
        run_command(s, cmd);
        cmd_free(cmd);
    }
    return 0;
}

static void post(struct sip_stack *s, struct sip_cmd *cmd)
{
    if (queue_push(&s->cmds, &cmd->node)) {
        uint64_t one = 1;
        ssize_t r = write(s->efd, &one, sizeof one);
        (void)r;
    }
}

void sip_respond(struct sip_stack *s, uint64_t leg_id, int status, const char *sdp,
                 const char *reason)
{
    struct sip_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return;
    cmd->type = CMD_RESPOND;
    cmd->leg_id = leg_id;
    cmd->status = status;
    cmd->sdp = dup_or_null(sdp);
    cmd->reason = dup_or_null(reason);
    post(s, cmd);
}

uint64_t sip_stack_wait_us(struct sip_stack *s, uint64_t now_us)
{
    if (!s->delay_ours)
        return 0;
    uint64_t ack = ack_delay_us(s, now_us);
    uint64_t cmds = queue_wait_us(&s->cmds, now_us);
    return ack > cmds ? ack : cmds;
}

unsigned long long sip_stack_forbidden(struct sip_stack *s)
{
    return atomic_load(&s->forbidden);
}

unsigned long long sip_stack_rate_limited(struct sip_stack *s)
{
    return atomic_load(&s->rate_limited);
}

void sip_stack_auth_stats(struct sip_stack *s, struct sip_auth_stats *out)
{
    sip_auth_get_stats(s->auth, out);
}

static struct sip_cmd *cmd_new(enum sip_cmd_type type, uint64_t leg_id)
{
    struct sip_cmd *cmd = calloc(1, sizeof *cmd);
    if (cmd) {
        cmd->type = type;
        cmd->leg_id = leg_id;
    }
    return cmd;
}

static void post_hangup(struct sip_stack *s, enum sip_cmd_type type, uint64_t leg_id,
                        const char *reason)
{
    struct sip_cmd *cmd = cmd_new(type, leg_id);
    if (!cmd)
        return;
    cmd->reason = dup_or_null(reason);
    post(s, cmd);
}

void sip_bye(struct sip_stack *s, uint64_t leg_id, const char *reason)
{
    post_hangup(s, CMD_BYE, leg_id, reason);
}

void sip_invite(struct sip_stack *s, uint64_t leg_id, const char *request_uri,
                const char *from_uri, const char *to_uri, const char *sdp,
                const struct sip_credentials *auth, const char *extra_headers)
{
    struct sip_cmd *cmd = cmd_new(CMD_INVITE, leg_id);
    if (!cmd)
        return;
    cmd->uri = dup_or_null(request_uri);
    cmd->from = dup_or_null(from_uri);
    cmd->to = dup_or_null(to_uri);
    cmd->sdp = dup_or_null(sdp);
    cmd->headers = extra_headers && extra_headers[0] ? strdup(extra_headers) : NULL;
    cmd->username = auth ? dup_or_null(auth->username) : NULL;
    cmd->password = auth ? dup_or_null(auth->password) : NULL;
    post(s, cmd);
}

void sip_info(struct sip_stack *s, uint64_t leg_id, const char *content_type, const char *body)
{
    struct sip_cmd *cmd = cmd_new(CMD_INFO, leg_id);
    if (!cmd)
        return;
    cmd->content_type = dup_or_null(content_type);
    cmd->sdp = dup_or_null(body);
    post(s, cmd);
}

void sip_hangup_outbound(struct sip_stack *s, uint64_t leg_id, const char *reason)
{
    post_hangup(s, CMD_HANGUP_OUT, leg_id, reason);
}

/* ---- thread ------------------------------------------------------------------------------- */

static void started(struct sip_stack *s, int state, const char *err)
{
    pthread_mutex_lock(&s->mu);
    s->start_state = state;
    if (err)
        snprintf(s->start_err, sizeof s->start_err, "%s", err);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static const char *bracketed(const char *ip, char *buf, size_t len)
{
    snprintf(buf, len, strchr(ip, ':') ? "[%s]" : "%s", ip);
    return buf;
}

/* With sip.advertise (a NAT's public address), Sofia binds to the maddr and names the
 * advertised address in Contact and Via, as the SDP does. */
static void listen_url(const struct vcs_config *cfg, char *url, size_t len)
{
    char bind[72], public[72];
    bracketed(cfg->sip_host, bind, sizeof bind);
    if (cfg->advertise_ip[0] && strcmp(cfg->advertise_ip, cfg->sip_host) != 0)
        snprintf(url, len, "sip:%s:%u;maddr=%s",
                 bracketed(cfg->advertise_ip, public, sizeof public), cfg->sip_port, bind);
    else
        snprintf(url, len, "sip:%s:%u", bind, cfg->sip_port);
}

/* Linux caps SO_RCVBUF/SO_SNDBUF silently at these sysctls; an operator who meets ACK losses
 * under load should see in the log that the buffer is smaller than configured. */
static void log_udp_buffer_cap(unsigned want_bytes)
{
    static const char *const limits[] = { "/proc/sys/net/core/rmem_max", "/proc/sys/net/core/wmem_max" };
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        FILE *f = fopen(limits[i], "r");
        unsigned long max = 0;
        if (!f)
            continue;
        if (fscanf(f, "%lu", &max) == 1 && max < want_bytes)
            log_warn("sip: sip.udp_buffer_kb is %u KiB but %s is %lu KiB: the SIP socket gets "
                     "the smaller; a burst beyond it drops requests and ACKs (docs/operations.md)",
                     want_bytes / 1024, limits[i] + strlen("/proc/sys/"), max / 1024);
        fclose(f);
    }
}

static void *sip_thread(void *arg)
{
    struct sip_stack *s = arg;
    const struct vcs_config *cfg = s->cfg;
    char url[256], err[256];
    listen_url(cfg, url, sizeof url);

    su_init();
    su_log_set_level(NULL, 0); /* Sofia's own chatter would drown our log */
    s->root = su_root_create(s);
    if (!s->root) {
        su_deinit();
        started(s, -1, "su_root_create failed");
        return NULL;
    }
    su_root_threading(s->root, 0); /* the stack runs in this thread, not a hidden one */
    /* Malformed requests still get an answer (sip_parser.h); Sofia's class if out of memory. */
    msg_mclass_t *parser = sip_parser_create();
    /* RFC 4028 (session_timer.interval_s): nua negotiates Session-Expires, refreshes when we
     * are the refresher (UPDATE when the peer allows it: no SDP needed) and sends BYE itself
     * when the peer does not refresh in time; 0 leaves "timer" unsupported, so nua does none. */
    unsigned se = (unsigned)cfg->session_interval_s;
    unsigned udp_buffer = (unsigned)cfg->udp_buffer_kb * 1024u;
    log_udp_buffer_cap(udp_buffer);
    s->nua = nua_create(s->root, nua_callback, s, NUTAG_URL(url), NUTAG_MEDIA_ENABLE(0),
                        NUTAG_AUTOANSWER(0), NUTAG_AUTOACK(1), NUTAG_APPL_METHOD("INFO"),
                        NUTAG_APPL_METHOD("OPTIONS"), NUTAG_ENABLEMESSAGE(0),
                        SIPTAG_ALLOW_STR(se ? ALLOW ", UPDATE" : ALLOW),
                        SIPTAG_SUPPORTED_STR(se ? "timer" : ""),
                        NUTAG_SESSION_TIMER(se), NUTAG_MIN_SE(se ? 90u : 0u),
                        NUTAG_SESSION_REFRESHER(se ? nua_any_refresher : nua_no_refresher),
                        NUTAG_UPDATE_REFRESH(1),
                        SIPTAG_ACCEPT_STR(ACCEPT), SIPTAG_USER_AGENT_STR(USER_AGENT),
                        NTATAG_MAXSIZE((usize_t)cfg->max_message_bytes),
                        TPTAG_IDLE((unsigned)cfg->tcp_idle_seconds * 1000u),
                        TPTAG_TIMEOUT(30000u), TPTAG_UDP_RMEM(udp_buffer),
                        TPTAG_UDP_WMEM(udp_buffer), TAG_IF(parser, NUTAG_SIP_PARSER(parser)),
                        TAG_END());
    if (!s->nua) {
        snprintf(err, sizeof err, "cannot listen for SIP on %s:%u: %s", cfg->sip_host,
                 cfg->sip_port, strerror(errno));
        sip_parser_free(parser);
        su_root_destroy(s->root);
        su_deinit();
        started(s, -1, err);
        return NULL;
    }
    s->auth = sip_auth_create(s->root, s->sink.trunks, cfg->auth_lockout_s);
    if (!s->auth) {
        nua_destroy(s->nua);
        sip_parser_free(parser);
        su_root_destroy(s->root);
        su_deinit();
        started(s, -1, "cannot set up digest authentication");
        return NULL;
    }
    s->resolver = gw_resolver_start(s->gateways);
    s->health = gw_health_start(s->root, s->nua, s->gateways);
    if (!s->health)
        log_error("gateways: cannot start OPTIONS probes and registrations (out of memory)");
    su_wait_create(&s->wait, s->efd, SU_WAIT_IN);
    su_root_register(s->root, &s->wait, on_wakeup, s, 0);
    log_info("sip: listening on %s (udp, tcp)", url);
    started(s, 1, NULL);

    su_root_run(s->root);

    su_root_deregister(s->root, su_root_unregister(s->root, &s->wait, on_wakeup, s));
    nua_destroy(s->nua);
    gw_health_free(s->health);
    gw_resolver_stop(s->resolver);
    sip_auth_destroy(s->auth);
    sip_parser_free(parser);
    su_root_destroy(s->root);
    su_deinit();
    return NULL;
}

int sip_stack_start(const struct vcs_config *cfg, struct gateways *gateways,
                    const struct sip_sink *sink, struct sip_stack **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    struct sip_stack *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->cfg = cfg;
    s->gateways = gateways;
    s->sink = *sink;
    s->invites.window_us = TIMER_H_US;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->rl = ratelimit_create(cfg->rate_per_second, cfg->rate_burst, 4096);
    if (s->efd < 0 || !s->rl || idmap_init(&s->legs, 1024) != 0) {
        snprintf(err, errlen, "cannot set up the SIP thread: %s", strerror(errno));
        goto fail;
    }
    queue_init(&s->cmds);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *out = s;
    if (pthread_create(&s->thread, NULL, sip_thread, s) != 0) {
        snprintf(err, errlen, "cannot start the SIP thread");
        goto fail_thread;
    }
    pthread_mutex_lock(&s->mu);
    while (s->start_state == 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->start_state < 0) {
        pthread_join(s->thread, NULL);
        snprintf(err, errlen, "%s", s->start_err);
        goto fail_thread;
    }
    return 0;
fail_thread:
    *out = NULL;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    queue_destroy(&s->cmds);
fail:
    if (s->efd >= 0)
        close(s->efd);
    ratelimit_destroy(s->rl);
    idmap_free(&s->legs);
    free(s);
    return -1;
}

void sip_stack_stop(struct sip_stack *s)
{
    if (!s)
        return;
    struct sip_cmd *cmd = calloc(1, sizeof *cmd);
    if (cmd) {
        cmd->type = CMD_STOP;
        post(s, cmd);
    }
    pthread_join(s->thread, NULL);
    /* Commands that raced with the shutdown are dropped; legs left are freed with the map. */
    for (struct qnode *q = queue_take_all(&s->cmds); q;) {
        struct sip_cmd *c = container_of(q, struct sip_cmd, node);
        q = q->next;
        cmd_free(c);
    }
    for (size_t i = 0; i < s->legs.cap; i++)
        if (s->legs.keys[i])
            leg_free(s->legs.vals[i]);
    idmap_free(&s->legs);
    ratelimit_destroy(s->rl);
    close(s->efd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    queue_destroy(&s->cmds);
    free(s);
}
