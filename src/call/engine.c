/* The engine. See engine.h. */
#include "call/engine.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call/live_calls.h"
#include "call/outleg.h"
#include "call/worker.h"
#include "campaign/compliance_gate.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/tally.h"
#include "limits/limits.h"
#include "media/prompt_cache.h"
#include "media/recorder.h"
#include "media/tts.h"
#include "sip/sip_stack.h"
#include "trunk/gateways.h"

#define WORKER_BITS 8 /* a leg id carries its worker's index in its low bits */
#define MAX_WORKERS (1 << WORKER_BITS)
#define OVERLOAD_INTERVAL_US 100000 /* CoDel's interval: a delay lasting this long is a queue */
enum { ADMITTED, REFUSED };
#define RETRY_AFTER_MIN 1
#define RETRY_AFTER_MAX 5

struct engine {
    struct engine_services svc;
    int n_workers;
    struct worker *workers[MAX_WORKERS];
    atomic_int live_calls;
    atomic_int worker_calls[MAX_WORKERS];
    atomic_bool draining;
    atomic_uint_fast64_t next_seq;
    /* Admission state: only the SIP thread admits calls. */
    double cps_tokens;           /* calls-per-second bucket (max_cps, a ceiling) */
    uint64_t cps_last_us;
    uint64_t above_since_us;     /* delay over max_delay_ms since then; 0 when under */
    struct tally admissions;     /* ADMITTED and REFUSED over the last second or so */
    atomic_ullong refused;
    atomic_ullong delay_us;      /* the last delay measured, for /metrics */
    struct limits *limits;
    struct gateways *gateways;
    struct live_calls *live;
};

const struct engine_services *engine_services(const struct engine *e)
{
    return &e->svc;
}

struct limits *engine_limits(const struct engine *e)
{
    return e->limits;
}

struct gateways *engine_gateways(const struct engine *e)
{
    return e->gateways;
}

struct live_calls *engine_live(const struct engine *e)
{
    return e->live;
}

void engine_call_id(const struct engine *e, uint64_t leg_id, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%012llx", e->svc.id_prefix, (unsigned long long)leg_id);
}

int engine_live_calls(const struct engine *e)
{
    return atomic_load(&e->live_calls);
}

unsigned long long engine_refused_calls(const struct engine *e)
{
    return atomic_load(&e->refused);
}

unsigned long long engine_delay_us(const struct engine *e)
{
    return atomic_load(&e->delay_us);
}

bool engine_draining(const struct engine *e)
{
    return atomic_load(&e->draining);
}

void engine_begin_drain(struct engine *e)
{
    atomic_store(&e->draining, true);
}

void engine_call_released(struct engine *e)
{
    atomic_fetch_sub(&e->live_calls, 1);
}

/* ---- the SIP sink ------------------------------------------------------------------------- */

static bool cps_allow(struct engine *e)
{
    int rate = e->svc.cfg->max_cps;
    if (rate <= 0)
        return true;
    uint64_t now = clock_mono_us();
    e->cps_tokens += (double)(now - e->cps_last_us) * rate / 1e6;
    e->cps_last_us = now;
    if (e->cps_tokens > rate)
        e->cps_tokens = rate; /* a burst of at most one second's worth */
    if (e->cps_tokens < 1.0)
        return false;
    e->cps_tokens -= 1.0;
    return true;
}

/* Least-loaded worker: calls last minutes, so balance what is up, not what arrived. */
static int pick_worker(struct engine *e)
{
    int best = 0;
    for (int i = 1; i < e->n_workers; i++)
        if (atomic_load(&e->worker_calls[i]) < atomic_load(&e->worker_calls[best]))
            best = i;
    return best;
}

int engine_worker_count(const struct engine *e)
{
    return e->n_workers;
}

void engine_tick_stats(struct engine *e, int i, struct worker_tick_stats *out)
{
    worker_tick_stats(e->workers[i], out);
}

/* The age of the oldest work waiting for the SIP side (a command, or a 2xx for its ACK) or for
 * any worker: how far behind the box is, whatever else runs on it. */
static uint64_t measure_delay(struct engine *e, uint64_t now)
{
    uint64_t d = e->svc.sip ? sip_stack_wait_us(e->svc.sip, now) : 0;
    for (int i = 0; i < e->n_workers; i++) {
        uint64_t w = worker_inbox_wait_us(e->workers[i], now);
        if (w > d)
            d = w;
    }
    atomic_store(&e->delay_us, d);
    return d;
}

/* CoDel's rule: a delay over target for a whole interval is a standing queue, not a burst; new
 * calls are refused from then until a measurement is under target again. */
static bool delay_allow(struct engine *e, uint64_t now)
{
    int target_ms = e->svc.cfg->max_delay_ms;
    if (target_ms <= 0)
        return true;
    if (measure_delay(e, now) <= (uint64_t)target_ms * 1000u) {
        e->above_since_us = 0;
        return true;
    }
    if (e->above_since_us == 0)
        e->above_since_us = now;
    return now - e->above_since_us < OVERLOAD_INTERVAL_US;
}

/* Refused per admitted call over the last second or so: offered at 3x what is taken, a caller
 * is told to come back in 2 s, so that the retries spread to what the box takes. */
static int retry_after_s(const struct engine *e)
{
    unsigned admitted = tally_sum(&e->admissions, ADMITTED);
    unsigned refused = tally_sum(&e->admissions, REFUSED);
    unsigned ratio = admitted ? (refused + admitted - 1) / admitted : RETRY_AFTER_MAX;
    return ratio < RETRY_AFTER_MIN ? RETRY_AFTER_MIN : ratio > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int)ratio;
}

static int sink_admit(void *ctx, uint64_t *leg_id, int *retry_after)
{
    struct engine *e = ctx;
    if (atomic_load(&e->draining)) {
        *retry_after = RETRY_AFTER_MAX;
        return 503;
    }
    uint64_t now = clock_mono_us();
    const char *why = atomic_load(&e->live_calls) >= e->svc.cfg->max_calls ? "max_calls"
                      : !delay_allow(e, now)                                ? "delay"
                      : !cps_allow(e)                                       ? "max_cps"
                                                                            : NULL;
    tally_add(&e->admissions, now, why ? REFUSED : ADMITTED);
    if (why) {
        if (atomic_fetch_add(&e->refused, 1) % 1000 == 0)
            log_warn("engine: over capacity (%s; %d calls up, delay %llu ms), refusing new calls "
                     "with 503", why, atomic_load(&e->live_calls),
                     (unsigned long long)atomic_load(&e->delay_us) / 1000);
        *retry_after = retry_after_s(e);
        return 503;
    }
    atomic_fetch_add(&e->live_calls, 1);
    int w = pick_worker(e);
    atomic_fetch_add(&e->worker_calls[w], 1);
    *leg_id = (atomic_fetch_add(&e->next_seq, 1) << WORKER_BITS) | (uint64_t)w;
    return 0;
}

static void sink_unadmit(void *ctx, uint64_t leg_id)
{
    struct engine *e = ctx;
    atomic_fetch_sub(&e->worker_calls[leg_id & (MAX_WORKERS - 1)], 1);
    atomic_fetch_sub(&e->live_calls, 1);
}

static bool sink_draining(void *ctx)
{
    return engine_draining(ctx);
}

static void sink_deliver(void *ctx, struct sip_event *ev)
{
    struct engine *e = ctx;
    int w = (int)(ev->leg_id & (MAX_WORKERS - 1));
    if (w >= e->n_workers) {
        sip_event_free(ev);
        return;
    }
    if (ev->type == SIP_EV_TERMINATED)
        atomic_fetch_sub(&e->worker_calls[w], 1); /* balance by legs SIP still holds */
    worker_post_sip(e->workers[w], ev);
}

/* ---- life --------------------------------------------------------------------------------- */

struct engine *engine_create(const struct engine_services *svc, char *err, size_t errlen)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e) {
        recorder_destroy(svc->recorder);
        tts_destroy(svc->tts);
        compliance_gate_destroy(svc->compliance);
        prompt_cache_destroy(svc->prompts);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->svc = *svc;
    if (!(e->limits = limits_create()) || !(e->gateways = gateways_create(svc->cfg)) ||
        !(e->live = live_calls_create())) {
        snprintf(err, errlen, "out of memory");
        engine_destroy(e);
        return NULL;
    }
    int n = svc->cfg->workers;
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    e->n_workers = n > MAX_WORKERS ? MAX_WORKERS : n;
    atomic_store(&e->next_seq, 1);
    e->cps_last_us = clock_mono_us();
    e->cps_tokens = svc->cfg->max_cps;
    e->admissions.window_us = 1000000;
    e->admissions.start_us = e->cps_last_us;
    for (int i = 0; i < e->n_workers; i++) {
        e->workers[i] = worker_create(e, i, err, errlen);
        if (!e->workers[i]) {
            engine_destroy(e);
            return NULL;
        }
    }
    return e;
}

int engine_start(struct engine *e, char *err, size_t errlen)
{
    for (int i = 0; i < e->n_workers; i++) {
        if (worker_start(e->workers[i]) != 0) {
            snprintf(err, errlen, "cannot start worker %d", i);
            return -1;
        }
    }
    struct sip_sink sink = { e, sink_admit, sink_unadmit, sink_draining, sink_deliver,
                             e->svc.trunks };
    if (sip_stack_start(e->svc.cfg, e->gateways, &sink, &e->svc.sip, err, errlen) != 0)
        return -1;
    log_info("engine: %d workers", e->n_workers);
    return 0;
}

/* ---- outbound legs and the calls API ------------------------------------------------------ */

int engine_originate(struct engine *e, struct outleg_request *req, char *id, size_t idlen,
                     char *err, size_t errlen)
{
    int status = atomic_load(&e->draining) ? 503 : outleg_check(e, req, err, errlen);
    if (status == 503)
        snprintf(err, errlen, "draining: no new calls");
    if (status) {
        outleg_request_free(req);
        return status;
    }
    int w = pick_worker(e);
    uint64_t leg_id = engine_new_leg(e, w);
    /* Listed before its id is returned, so that GET and DELETE /v1/calls/{id} find it at once;
     * the worker replaces the entry as the leg goes on and removes it when the leg ends (its
     * hangup message queues behind the originate one, on the same worker). */
    struct live_call lc = { .leg_id = leg_id, .start_ms = clock_wall_ms() };
    engine_call_id(e, leg_id, lc.id, sizeof lc.id);
    snprintf(lc.account, sizeof lc.account, "%s", req->account);
    snprintf(lc.direction, sizeof lc.direction, "outbound");
    snprintf(lc.from, sizeof lc.from, "%s", req->from);
    outleg_to_number(req, lc.to, sizeof lc.to);
    snprintf(lc.script, sizeof lc.script, "%s", req->script);
    snprintf(lc.state, sizeof lc.state, "calling");
    snprintf(lc.parent_call_id, sizeof lc.parent_call_id, "%s", req->parent_call_id);
    if (live_calls_put(e->live, &lc) != 0) {
        outleg_request_free(req);
        engine_call_released(e);
        snprintf(err, errlen, "out of memory");
        return 500;
    }
    snprintf(id, idlen, "%s", lc.id);
    worker_post_originate(e->workers[w], leg_id, req);
    return 0;
}

uint64_t engine_new_leg(struct engine *e, int worker)
{
    atomic_fetch_add(&e->live_calls, 1);
    return (atomic_fetch_add(&e->next_seq, 1) << WORKER_BITS) | (uint64_t)worker;
}

void engine_leg_placed(struct engine *e, uint64_t leg_id)
{
    atomic_fetch_add(&e->worker_calls[leg_id & (MAX_WORKERS - 1)], 1);
}

int engine_hangup_call(struct engine *e, const char *account, const char *id)
{
    struct live_call lc;
    if (!live_calls_find(e->live, id, &lc) || (account && strcmp(lc.account, account) != 0))
        return -1;
    int w = (int)(lc.leg_id & (MAX_WORKERS - 1));
    if (w >= e->n_workers)
        return -1;
    worker_post_hangup(e->workers[w], lc.leg_id);
    return 0;
}

void engine_hangup_all(struct engine *e, const char *cause)
{
    for (int i = 0; i < e->n_workers; i++)
        worker_post_hangup_all(e->workers[i], cause);
}

void engine_destroy(struct engine *e)
{
    if (!e)
        return;
    /* Workers first (their last BYEs still reach a running SIP stack), then SIP, then memory:
     * SIP events that arrive meanwhile wait in the stopped workers' inboxes and are freed. */
    for (int i = 0; i < e->n_workers; i++)
        worker_stop(e->workers[i]);
    sip_stack_stop(e->svc.sip);
    /* Their last callbacks (requests answered "shutting down") still reach the stopped workers. */
    recorder_destroy(e->svc.recorder);
    tts_destroy(e->svc.tts);
    compliance_gate_destroy(e->svc.compliance);
    prompt_cache_destroy(e->svc.prompts);
    for (int i = 0; i < e->n_workers; i++)
        worker_destroy(e->workers[i]);
    limits_destroy(e->limits);
    gateways_destroy(e->gateways);
    live_calls_destroy(e->live);
    free(e);
}
