/* The SIP side of vcsd: one thread that owns Sofia-SIP (su_root + nua, run with
 * su_root_threading(0) so the stack lives in that same thread) on UDP and TCP.
 * It answers what needs no call logic itself (403 to sources that are no trunk's, OPTIONS, 483,
 * 400/488 for bad SDP, 503 while draining or over limits, 405 for methods we do not serve,
 * 400/415/501 for malformed requests as RFC 3261 8.2 wants: sip_parser.h, sip_guard.h) and
 * turns everything about a call
 * into owned sip_event copies handed to the sink (the call layer). The call layer answers with
 * sip_respond()/sip_bye(), which any thread may call; it places outbound legs with
 * sip_invite() and ends them with sip_hangup_outbound(): commands are queued and the SIP thread
 * is woken through an eventfd. Legs are named by 64-bit ids, never by pointers, so a command for
 * a leg that is already gone is simply ignored. */
#ifndef VCS_SIP_STACK_H
#define VCS_SIP_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/queue.h"
#include "sip/sdp.h"

struct vcs_config;
struct gateways;
struct trunks;
struct sip_auth_stats;

enum sip_event_type {
    SIP_EV_INVITE,     /* a new inbound call; media filled when the INVITE had an offer */
    SIP_EV_ACK,        /* the ACK for our 2xx (media filled if it carried an answer) */
    SIP_EV_REINVITE,   /* in-dialog INVITE: reply with sip_respond (media filled if offered) */
    SIP_EV_BYE,        /* the peer hung up; the stack has answered 200 */
    SIP_EV_CANCEL,     /* the peer cancelled; the stack has answered 487 */
    SIP_EV_INFO,       /* in-dialog INFO (answered 200); body and content_type filled */
    SIP_EV_TERMINATED, /* the leg no longer exists at SIP level: the last event of a leg */
    /* Our outbound INVITE (sip_invite): */
    SIP_EV_PROGRESS,   /* 180/183 (media filled when it carried SDP: early media) */
    SIP_EV_ANSWERED,   /* 2xx (media filled from its SDP); the ACK has been sent */
    SIP_EV_FAILED,     /* a final answer >= 300, or no answer at all (status, reason) */
};

struct sip_event {
    struct qnode node;
    enum sip_event_type type;
    uint64_t leg_id;
    int64_t wall_ms;          /* when the request arrived */
    bool has_media;
    struct sdp_media media;
    /* SIP_EV_INVITE */
    char *call_id;            /* SIP Call-ID */
    char *from_user, *to_user, *from_uri, *to_uri;
    char *account;            /* trunk account of the source (unknown sources never get here);
                               * "" for a carrier gateway: the called number's owner */
    char gateway[64];         /* the carrier gateway the INVITE came from, or "" */
    char trunk[64];           /* the customer trunk it came over; "" for loopback's default */
    int trunk_max_calls;      /* that trunk's max_calls (0: no limit of its own) */
    char source[64];          /* source IP address (strict RTP: is the caller behind NAT?) */
    /* SIP_EV_INFO */
    char *content_type, *body;
    /* SIP_EV_PROGRESS, SIP_EV_ANSWERED, SIP_EV_FAILED */
    int status;
    char phrase[64];
    /* SIP_EV_TERMINATED: the stack ended the session, the peer never refreshed it (RFC 4028) */
    bool session_expired;
};

/* Digest credentials answering a carrier's 401/407 (once per request). */
struct sip_credentials {
    const char *username;
    const char *password;
};

void sip_event_free(struct sip_event *ev);

/* What the SIP thread asks of the call layer. Called on the SIP thread only. */
struct sip_sink {
    void *ctx;
    /* Admission of a new call: returns 0 and reserves a call slot, or a SIP status (503) with
     * *retry_after seconds. Also picks the worker: the returned leg id must come from it. */
    int (*admit)(void *ctx, uint64_t *leg_id, int *retry_after);
    /* Gives back a slot taken by admit() when the INVITE is rejected before delivery. */
    void (*unadmit)(void *ctx, uint64_t leg_id);
    bool (*draining)(void *ctx);
    void (*deliver)(void *ctx, struct sip_event *ev); /* takes ownership */
    struct trunks *trunks;    /* who may call (trunk/trunks.h); outlives the stack */
};

struct sip_stack;

/* Starts the SIP thread listening on cfg->sip_host:sip_port (UDP and TCP); gateways tells
 * carrier sources apart (SPEC 4). *out is set before the thread starts, so code reached
 * through the sink may use it at once. Returns 0, or -1 with err filled and *out NULL when the
 * stack cannot start (e.g. the port is in use). */
int sip_stack_start(const struct vcs_config *cfg, struct gateways *gateways,
                    const struct sip_sink *sink, struct sip_stack **out, char *err,
                    size_t errlen);
/* Shuts nua down cleanly (waits for nua_r_shutdown) and joins the thread. */
void sip_stack_stop(struct sip_stack *s);

/* Any thread. Final or provisional answer to the leg's pending INVITE (or re-INVITE).
 * sdp: body to send (copied) or NULL. reason: Reason header value or NULL. */
void sip_respond(struct sip_stack *s, uint64_t leg_id, int status, const char *sdp,
                 const char *reason);
/* Any thread. Ends an answered leg with BYE. reason: Reason header value (copied) or NULL. */
void sip_bye(struct sip_stack *s, uint64_t leg_id, const char *reason);

/* Any thread. Places an outbound leg named leg_id (chosen by the call layer; its events go
 * to the sink like an inbound leg's): INVITE to request_uri with our SDP offer (copied), From
 * from_uri, To to_uri (NULL: the request URI), extra_headers ("X-A: 1\r\nX-B: 2" or NULL).
 * A 401/407 is answered once with auth (NULL: not at all); a second challenge fails the leg. */
void sip_invite(struct sip_stack *s, uint64_t leg_id, const char *request_uri,
                const char *from_uri, const char *to_uri, const char *sdp,
                const struct sip_credentials *auth, const char *extra_headers);
/* Any thread. Sends an INFO in the leg's dialog (a key relayed as application/dtmf-relay). */
void sip_info(struct sip_stack *s, uint64_t leg_id, const char *content_type, const char *body);
/* Any thread. Ends an outbound leg: CANCEL while it rings, BYE once answered (a 2xx that
 * crosses the CANCEL is acknowledged and ended with BYE). reason: Reason header or NULL. */
void sip_hangup_outbound(struct sip_stack *s, uint64_t leg_id, const char *reason);

/* SIP thread (admission asks from sink.admit). The SIP side's delay, an input of admission
 * control: how long a 2xx waits for its ACK (its socket backlog and the peer's lag; the
 * smallest of the last 100 ms) or the oldest command for the SIP thread, whichever is longer;
 * 0 while unknown sources
 * sent most new INVITEs of the last half minute (that delay is theirs). */
uint64_t sip_stack_wait_us(struct sip_stack *s, uint64_t now_us);
/* Any thread, for /metrics: INVITEs refused because their source is no trunk's (403), and
 * requests refused by the per-source rate limit (503). */
unsigned long long sip_stack_forbidden(struct sip_stack *s);
unsigned long long sip_stack_rate_limited(struct sip_stack *s);
/* Any thread, for /metrics: digest challenges, failures and lock-outs (sip_auth.h). */
void sip_stack_auth_stats(struct sip_stack *s, struct sip_auth_stats *out);

#endif
