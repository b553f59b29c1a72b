/* Prepaid billing of a call leg (see call_billing.h). */
#include "call/call_billing.h"

#include <event2/event.h>

#include "billing/billing.h"
#include "call/call.h"
#include "call/outleg.h"
#include "call/engine.h"
#include "call/worker.h"
#include "core/clock.h"
#include "core/log.h"
#include "media/g711.h"

#define MINUTE_MS 60000
#define WARN_BEFORE_MS 10000
/* billsec rounds up to whole seconds: ending a little before the boundary keeps a leg cut
 * for its balance inside the minutes it paid. */
#define CUT_BEFORE_MS 500

static struct billing *billing_of(struct call *c)
{
    return engine_services(worker_engine(c->w))->billing;
}

bool outleg_billing_admit(struct call *c)
{
    return billing_admit(billing_of(c), c->cdr.account, &c->bill) == 0;
}

bool call_billing_admit(struct call *c)
{
    if (outleg_billing_admit(c))
        return true;
    log_info("call %s: refused, account %s cannot pay a minute", c->id, c->cdr.account);
    c->script_done = true;
    call_end_because(c, 403, "no_balance", "system", "no balance");
    return false;
}

/* Arms the timer for answer_ms + at_ms (wall clock, as the CDR measures billsec). */
static void arm(struct call *c, int64_t at_ms)
{
    int64_t wait = c->cdr.answer_ms + at_ms - clock_wall_ms();
    if (wait < 0)
        wait = 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
    evtimer_add(c->bill_ev, &tv);
}

static void on_minute(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct call *c = arg;
    if (c->ended)
        return;
    if (c->bill_cut) {
        log_info("call %s: balance of %s used up: hanging up", c->id, c->cdr.account);
        call_end(c, 0, "no_balance", "system");
        return;
    }
    int64_t boundary = c->bill.minutes * MINUTE_MS;
    if (billing_minute(billing_of(c), &c->bill) == 0) {
        arm(c, boundary + MINUTE_MS - WARN_BEFORE_MS);
        return;
    }
    /* The next minute cannot be paid: a beep now, the end at the boundary. */
    struct tone_spec beep;
    char err[64];
    if (tone_parse("beep", &beep, err, sizeof err) == 0 &&
        (c->beep || (c->beep = malloc(sizeof *c->beep)))) {
        tone_gen_init(c->beep, &beep);
        c->beep_left = tone_cycle_ms(&beep) * (TONE_RATE / 1000);
    }
    c->bill_cut = true;
    arm(c, boundary - CUT_BEFORE_MS);
}

void call_billing_answered(struct call *c)
{
    if (!prepaid_leg_account(&c->bill))
        return; /* not billed */
    c->bill_ev = evtimer_new(worker_base(c->w), on_minute, c);
    if (!c->bill_ev) {
        log_error("call %s: no timer for its minutes: hanging up", c->id);
        call_end(c, 0, "failed", "system");
        return;
    }
    arm(c, MINUTE_MS - WARN_BEFORE_MS);
}

void outleg_billing_answered(struct call *c)
{
    call_billing_answered(c);
}

void outleg_billing_ended(struct call *c)
{
    call_billing_end(c);
}

void call_billing_end(struct call *c)
{
    if (c->bill_ev) {
        event_free(c->bill_ev);
        c->bill_ev = NULL;
    }
    int64_t minutes = 0, cost = 0;
    billing_leg_end(billing_of(c), &c->bill, c->id, cdr_billsec(&c->cdr), &minutes, &cost);
    if (cost > 0)
        c->cdr.cost_fen = cost;
}

void call_billing_beep(struct call *c, uint8_t *frame)
{
    if (!c->beep_left)
        return;
    int16_t pcm[FRAME_SAMPLES] = { 0 };
    size_t n = c->beep_left < FRAME_SAMPLES ? c->beep_left : FRAME_SAMPLES;
    tone_gen_render(c->beep, pcm, n);
    if (c->have_remote && c->remote.codec_pt == SDP_PT_PCMA)
        g711_alaw_encode(frame, pcm, FRAME_SAMPLES);
    else
        g711_ulaw_encode(frame, pcm, FRAME_SAMPLES);
    c->beep_left -= (uint32_t)n;
}
