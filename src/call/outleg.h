/* Outbound call legs (SPEC 5.2, 6): a leg that vcsd places itself, pinned to one worker like
 * an inbound one and driven by the same struct call. It offers PCMU and PCMA (or a gateway's
 * codecs) in an INVITE, learns the peer's RTP when the answer comes (strict RTP), is CANCELled
 * when it rings longer than its timeout (no_answer), and ends unanswered with the cause its
 * final response says (busy, rejected, not_found, failed); an answer in a codec it did not
 * offer is hung up at once (incompatible_destination). Answered, it runs its script with
 * call.direction "outbound".
 * One CDR row per attempt, sip_code the final response.
 * Requests come from any thread (vcs.originate, POST /v1/calls) and are checked there
 * (originate_check) so that a bad one is an error to its caller, not a CDR. */
#ifndef VCS_OUTLEG_H
#define VCS_OUTLEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script/routes.h"

struct worker;
struct call;
struct sip_event;
struct engine;

#define OUTLEG_TIMEOUT_MS_DEFAULT 30000
#define OUTLEG_TIMEOUT_MS_MAX 600000

struct outleg_request {
    char to[256];            /* "sip:user@host[:port]", "gw:NAME/NUMBER", "trunk:NAME/NUMBER"
                              * or a number */
    char gateway[64];        /* the gateway to use ("": by priority and weight) */
    char trunk[64];          /* set by outleg_check for trunk:NAME/NUMBER */
    char number[64];         /* set by outleg_check: the number dialled through a gateway */
    char from[64];           /* our number presented (user part of From), or "auto" */
    char script[128];        /* runs on answer ("" for call:dial's b-leg, which is bridged) */
    char headers[512];       /* extra X- headers of the INVITE ("X-A: 1\r\nX-B: 2"), or "" */
    char account[64];        /* pays and owns the leg */
    char parent_call_id[48]; /* the call that placed it, "" for the API */
    int timeout_ms;          /* ringing at most this long */
    int64_t campaign_id;     /* the campaign placing it (the CDR's campaign_id), 0: none */
    size_t n_vars;           /* call.vars of the script (owned) */
    struct route_var *vars;
};

void outleg_request_free(struct outleg_request *req);

/* Any thread: checks req against the configuration, dialplans and numbers (the script exists;
 * the target is a sip: URI, or a number with a gateway configured, or gw:NAME/NUMBER of a
 * configured gateway, or trunk:NAME/NUMBER of a trunk of the account; unless the account is the operator, from is one of the account's active
 * numbers) and fills req->number, req->gateway and req->trunk from the target; from "auto"
 * becomes the account's active number with the most free channels (SPEC 8).
 * 0, or an HTTP-like status (400, 404, 409: auto found no free number) with a message. */
int outleg_check(struct engine *e, struct outleg_request *req, char *err, size_t errlen);

/* Billing's hook points for a leg through a carrier gateway (SPEC 8 prepaid; defined in
 * call_billing.c): before its INVITE (false refuses the leg with no_balance), at its answer,
 * and once at its end. Worker thread. */
bool outleg_billing_admit(struct call *c);
void outleg_billing_answered(struct call *c);
void outleg_billing_ended(struct call *c);

/* The callee's number as the CDR and the calls list show it: the number dialled through a
 * gateway or trunk, else the user part of the sip: URI. */
void outleg_to_number(const struct outleg_request *req, char *out, size_t cap);

/* Worker thread: creates the leg leg_id (engine_new_leg) and sends its INVITE. Takes
 * ownership of req. parent: the call whose call:dial places it (its events go there), or NULL.
 * Returns the leg (maybe already ended: refused by a limit), or NULL when out of memory. */
struct call *outleg_start(struct worker *w, uint64_t leg_id, struct outleg_request *req,
                          struct call *parent);

/* Worker thread: the SIP events only an outbound leg gets (progress, answered, failed). */
void outleg_on_sip(struct call *c, struct sip_event *ev);

/* Any thread: the gateways in the order a number tries them (indexes into the registry;
 * priority, then weight at random; those down left out); order has room for
 * GATEWAY_ORDER_MAX (trunk/gateway_order.h). Returns how many. */
size_t outleg_gateway_order(struct engine *e, int order[]);

/* The CDR cause of a final response to our INVITE. */
const char *outleg_cause(int status);

#endif
