/* The campaign dialer (SPEC 9): one scheduler for every campaign, a thread with its own
 * connection to vcs.db that runs dialer_step() every DIALER_STEP_MS (DIALER_IDLE_MS while no
 * campaign runs and no attempt is open). Everything it knows is in the database, so a restart
 * (kill -9 included) goes on where it stopped.
 *
 * A step: (1) reconciles the open attempts with their CDR rows: an answer marks the callee done
 * ("answered", or "machine" when the call's CDR var amd says so) at once, so that it is never
 * dialled again; an ended attempt gives its result (busy, no_answer, failed; every other cause
 * of an unanswered call is failed) and the callee is retried after retry.interval_s when the
 * result is in retry.on and it has had fewer than retry.max_attempts attempts, else done.
 * (2) For each running campaign whose window is open (a closed one is not looked at again
 * until it opens): places calls for due callees while fewer than max_concurrent attempts are
 * open, spaced 1000/cps ms apart on the monotonic clock and never more than cps within any
 * 1000 ms, each stamped when the placer returned (the call has left), skipping callees on a DNC list
 * (skipped_dnc) or over the frequency caps (skipped_cap: answered outbound calls to the number
 * from the account since 00:00 UTC today, since Monday 00:00 UTC this week). (3) Marks a
 * running campaign without pending or open callees completed and reports it with its counts.
 * Paused, draft and finished campaigns cost nothing; a running one costs a few indexed queries
 * per step while its window is open.
 * Calls go out through a placer function (the engine's originate, placer.h) from the campaign's
 * caller ID ("auto": the engine picks, SPEC 8). A placer that refuses for now (draining, no
 * number free for "auto"), or an attempt that ends over_limit (a full gateway,
 * number or account), is undone: it slows the campaign (1 s) and fails no callee.
 * An attempt row is written before the call is placed and gets the call's id after; one left
 * without an id by a crash is matched to the CDR row of its campaign and number started after
 * it, else it never went out and is undone. Each step's writes are transactions: one the
 * database refuses (busy past the timeout) is rolled back and tried at a later step, and the
 * id of a call that left is kept until it is written. */
#ifndef VCS_CAMPAIGN_DIALER_H
#define VCS_CAMPAIGN_DIALER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DIALER_STEP_MS 20
#define DIALER_IDLE_MS 250 /* between steps while no campaign runs and no attempt is open */

struct dialer_call {
    int64_t campaign_id;
    const char *account, *number, *script, *amd;
    const char *caller_id; /* a number of the account or "auto" */
    const char *vars_json; /* the campaign's vars with the callee's CSV columns over them */
    int ring_timeout_s;
};

enum dialer_placed { DIALER_PLACED = 0, DIALER_LATER = 1, DIALER_FAILED = -1 };

struct dialer_config {
    char db_path[1024];
    int max_per_callee_day, max_per_callee_week; /* compliance caps; 0: no cap */
    /* DIALER_PLACED with the call's id (its CDR call_id), DIALER_LATER when a limit refuses it
     * for now, DIALER_FAILED when it cannot be placed (the attempt counts as failed). */
    enum dialer_placed (*place)(void *ctx, const struct dialer_call *call, char *id, size_t idlen);
    /* A campaign completed: campaign is its object as GET /v1/campaigns/{id} shows it, with
     * the final progress counts (stolen; the campaign.completed event); may be NULL. */
    void (*completed)(void *ctx, int64_t campaign_id, const char *account, json_t *campaign);
    /* The monotonic clock in ms that paces the calls (read before and after each placement);
     * NULL: clock_mono_ms. Tests give their own. */
    int64_t (*clock_ms)(void *ctx);
    void *ctx;
};

struct dialer;

struct dialer *dialer_create(const struct dialer_config *cfg, char *err, size_t errlen);
/* One pass at the wall-clock time now_ms (the thread passes the real clock, tests their own).
 * False when nothing runs: no running campaign, no attempt open (the thread then waits
 * DIALER_IDLE_MS instead of DIALER_STEP_MS). */
bool dialer_step(struct dialer *d, int64_t now_ms);
/* Runs dialer_step on its own thread until dialer_stop. */
int dialer_start(struct dialer *d, char *err, size_t errlen);
void dialer_stop(struct dialer *d);
void dialer_destroy(struct dialer *d);

#endif
