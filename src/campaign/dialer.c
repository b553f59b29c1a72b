/* The campaign dialer (see dialer.h). */
#include "campaign/dialer.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "campaign/compliance.h"
#include "campaign/tz.h"
#include "campaign/window.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/campaigns.h"
#include "store/db_open.h"

#define BUSY_TIMEOUT_MS 5000
#define NEVER_OPEN_RECHECK_MS (3600 * 1000)
#define LIMIT_BACKOFF_MS 1000 /* after an over_limit attempt the campaign waits this long */
#define PAGE 256 /* at most this many callees or attempts looked at per campaign and step */

enum { RETRY_BUSY = 1, RETRY_NO_ANSWER = 2, RETRY_FAILED = 4 };

struct camp {
    int64_t id;
    char account[64], script[128], caller_id[32], amd[16];
    json_t *vars;
    int max_concurrent, cps, max_attempts, ring_timeout_s;
    int64_t interval_ms;
    unsigned retry_on;
    struct tz *tz;
    struct window win;
    /* Pacing on the monotonic clock, stamped when each call has left: the next call may go at
     * next_us (spaced 1000/cps ms, one step of slack so that a 20 ms step can keep up), and
     * never while the last cps placements lie within 1000 ms (ring, oldest at recent_pos). */
    int64_t interval_us, next_us;
    int64_t *recent;
    size_t recent_pos;
    int64_t closed_until;
    int open;          /* attempts up, counted by this step's reconcile */
    bool check_done;   /* something changed: see whether it is complete */
    bool seen;
};

struct dialer {
    struct dialer_config cfg;
    sqlite3 *db;
    struct camp **camps;
    size_t n, cap;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    /* A BEGIN failed in this step (the database stayed busy past the timeout): the step's
     * other transactions wait for the next step instead of each waiting out the timeout. */
    bool blocked;
    /* Calls that left but whose attempt could not be given their id: the reconcile must not
     * take such an attempt for a crash's leftover and undo it (dialling the callee again)
     * while the call's CDR row may still be queued in the store. */
    struct unlinked {
        int64_t attempt;
        char call_id[48];
    } *unlinked;
    size_t n_unlinked, cap_unlinked;
};

/* ---- SQL helpers ---------------------------------------------------------------------------- */

static sqlite3_stmt *prep(struct dialer *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("dialer: preparing \"%.60s\": %s", sql, sqlite3_errmsg(d->db));
        return NULL;
    }
    return st;
}

/* Runs a write whose parameters are given as a format: 'i' int64, 't' text (NULL: NULL). */
static int run(struct dialer *d, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = prep(d, sql);
    if (!st)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 'i')
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        else {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
        }
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        log_error("dialer: \"%.60s\": %s", sql, sqlite3_errmsg(d->db));
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? (int)(v > INT32_MAX ? INT32_MAX : v) : -1;
}

static int exec(struct dialer *d, const char *sql)
{
    if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    log_error("dialer: %s: %s", sql, sqlite3_errmsg(d->db));
    return -1;
}

static bool begin(struct dialer *d)
{
    if (!d->blocked)
        d->blocked = exec(d, "BEGIN IMMEDIATE") != 0;
    return !d->blocked;
}

/* Ends what begin() started: commits when ok, else rolls back. True when committed. */
static bool finish(struct dialer *d, bool ok)
{
    if (ok && exec(d, "COMMIT") == 0)
        return true;
    if (!sqlite3_get_autocommit(d->db)) /* a failed statement may have rolled it back */
        exec(d, "ROLLBACK");
    return false;
}

static void iso(int64_t ms, char out[ISO8601_LEN])
{
    iso8601_ms(ms, out);
}

/* ---- campaigns ------------------------------------------------------------------------------ */

static void camp_free(struct camp *c)
{
    if (!c)
        return;
    json_decref(c->vars);
    tz_free(c->tz);
    free(c->recent);
    free(c);
}

static const char *jstr(json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

/* The settings the API checked (src/api/campaigns.c); NULL when they cannot be used. */
static struct camp *camp_parse(int64_t id, const char *account, const char *settings)
{
    json_t *s = json_loads(settings, 0, NULL);
    struct camp *c = s ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        json_decref(s);
        return NULL;
    }
    c->id = id;
    snprintf(c->account, sizeof c->account, "%s", account);
    snprintf(c->script, sizeof c->script, "%s", jstr(s, "script", ""));
    snprintf(c->caller_id, sizeof c->caller_id, "%s", jstr(s, "caller_id", "auto"));
    snprintf(c->amd, sizeof c->amd, "%s", jstr(s, "amd", "off"));
    c->vars = json_incref(json_object_get(s, "vars"));
    c->max_concurrent = (int)json_integer_value(json_object_get(s, "max_concurrent"));
    c->cps = (int)json_integer_value(json_object_get(s, "cps"));
    c->ring_timeout_s = (int)json_integer_value(json_object_get(s, "ring_timeout_s"));
    json_t *retry = json_object_get(s, "retry"), *w = json_object_get(s, "window");
    c->max_attempts = (int)json_integer_value(json_object_get(retry, "max_attempts"));
    c->interval_ms = json_integer_value(json_object_get(retry, "interval_s")) * 1000;
    json_t *on = json_object_get(retry, "on");
    for (size_t i = 0; i < json_array_size(on); i++) {
        const char *r = json_string_value(json_array_get(on, i));
        c->retry_on |= !r ? 0 : strcmp(r, "busy") == 0 ? RETRY_BUSY
                            : strcmp(r, "no_answer") == 0 ? RETRY_NO_ANSWER
                            : strcmp(r, "failed") == 0 ? RETRY_FAILED : 0;
    }
    char err[160];
    c->tz = tz_load(jstr(w, "tz", ""), err, sizeof err);
    c->win.tz = c->tz;
    bool ok = c->tz && window_parse_days(jstr(w, "days", ""), &c->win.days) == 0 &&
              window_parse_hhmm(jstr(w, "start", ""), &c->win.start_min) == 0 &&
              window_parse_hhmm(jstr(w, "end", ""), &c->win.end_min) == 0 &&
              c->max_concurrent > 0 && c->cps > 0 && c->max_attempts > 0 &&
              (c->recent = calloc((size_t)c->cps, sizeof *c->recent));
    json_decref(s);
    if (!ok) {
        log_error("dialer: campaign %lld: unusable settings (%s)", (long long)id,
                  c->tz ? "fields" : err);
        camp_free(c);
        return NULL;
    }
    for (int i = 0; i < c->cps; i++)
        c->recent[i] = INT64_MIN / 2;
    c->interval_us = (1000000 + c->cps - 1) / c->cps;
    c->next_us = INT64_MIN / 2;
    c->check_done = true;
    return c;
}

static struct camp *camp_find(struct dialer *d, int64_t id)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->camps[i]->id == id)
            return d->camps[i];
    }
    return NULL;
}

/* The running campaigns: new ones parsed, those no longer running dropped. */
static void refresh(struct dialer *d)
{
    for (size_t i = 0; i < d->n; i++)
        d->camps[i]->seen = false;
    sqlite3_stmt *st = prep(d, "SELECT id, account, settings FROM campaigns WHERE state = 'running'");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        struct camp *c = camp_find(d, id);
        if (!c && d->n == d->cap) {
            size_t cap = d->cap ? 2 * d->cap : 16;
            struct camp **more = realloc(d->camps, cap * sizeof *more);
            if (!more)
                break;
            d->camps = more;
            d->cap = cap;
        }
        if (!c && (c = camp_parse(id, (const char *)sqlite3_column_text(st, 1),
                                  (const char *)sqlite3_column_text(st, 2))))
            d->camps[d->n++] = c;
        if (c)
            c->seen = true;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < d->n;) {
        if (d->camps[i]->seen) {
            i++;
            continue;
        }
        camp_free(d->camps[i]);
        d->camps[i] = d->camps[--d->n];
    }
}

/* ---- attempts ------------------------------------------------------------------------------- */

static unsigned retry_bit(const char *result)
{
    return strcmp(result, "busy") == 0 ? RETRY_BUSY
           : strcmp(result, "no_answer") == 0 ? RETRY_NO_ANSWER
           : strcmp(result, "failed") == 0 ? RETRY_FAILED : 0;
}

/* What an unanswered attempt's CDR cause means for the campaign. */
static const char *unanswered_result(const char *cause)
{
    if (cause && strcmp(cause, "busy") == 0)
        return "busy";
    if (cause && strcmp(cause, "no_answer") == 0)
        return "no_answer";
    return "failed";
}

/* The callee after an unanswered attempt: retried later or done. False when not written. */
static bool settle_unanswered(struct dialer *d, const struct camp *c, int64_t callee,
                              int attempts, const char *result, int64_t now)
{
    if (c && (c->retry_on & retry_bit(result)) && attempts < c->max_attempts)
        return run(d, "UPDATE campaign_callees SET state = 'pending', result = ?2,"
                      " next_attempt_at = ?3 WHERE id = ?1", "iti", callee, result,
                   now + c->interval_ms) >= 0;
    return run(d, "UPDATE campaign_callees SET state = 'done', result = ?2 WHERE id = ?1", "it",
               callee, result) >= 0;
}

/* The campaign's settings for an attempt: the running one's, or read for a paused one. */
static struct camp *settings_of(struct dialer *d, int64_t id, struct camp **tmp)
{
    struct camp *c = camp_find(d, id);
    if (c)
        return c;
    sqlite3_stmt *st = prep(d, "SELECT account, settings FROM campaigns WHERE id = ?1");
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            *tmp = camp_parse(id, (const char *)sqlite3_column_text(st, 0),
                              (const char *)sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    }
    return *tmp;
}

struct open_attempt {
    int64_t id, campaign, callee;
    int attempts;
    bool has_call, answered, ended, callee_done, machine;
    char call_id[48], started_at[ISO8601_LEN], cause[32], number[20];
};

static bool is_machine(const char *vars)
{
    json_t *v = vars ? json_loads(vars, 0, NULL) : NULL;
    bool m = v && json_is_string(json_object_get(v, "amd")) &&
             strcmp(json_string_value(json_object_get(v, "amd")), "machine") == 0;
    json_decref(v);
    return m;
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    snprintf(out, len, "%s", t ? t : "");
}

static size_t unlinked_find(const struct dialer *d, int64_t attempt)
{
    size_t i = 0;
    while (i < d->n_unlinked && d->unlinked[i].attempt != attempt)
        i++;
    return i;
}

static void unlinked_add(struct dialer *d, int64_t attempt, const char *call_id)
{
    if (d->n_unlinked == d->cap_unlinked) {
        size_t cap = d->cap_unlinked ? 2 * d->cap_unlinked : 8;
        struct unlinked *more = realloc(d->unlinked, cap * sizeof *more);
        if (!more) {
            log_error("dialer: attempt %lld (call %s): out of memory; only its CDR row can"
                      " link it now", (long long)attempt, call_id);
            return;
        }
        d->unlinked = more;
        d->cap_unlinked = cap;
    }
    struct unlinked *u = &d->unlinked[d->n_unlinked++];
    u->attempt = attempt;
    snprintf(u->call_id, sizeof u->call_id, "%s", call_id);
}

/* An attempt without its call id: one whose call left while the database refused the id (in
 * unlinked), else one a crash left: its CDR row if the call went out, else undone. True when
 * the call went out. */
static bool relink(struct dialer *d, struct open_attempt *a)
{
    size_t u = unlinked_find(d, a->id);
    bool found = u < d->n_unlinked;
    sqlite3_stmt *st = NULL;
    if (found)
        snprintf(a->call_id, sizeof a->call_id, "%s", d->unlinked[u].call_id);
    else if ((st = prep(d, "SELECT call_id FROM cdr WHERE campaign_id = ?1 AND to_number = ?2"
                           " AND start_time >= ?3 AND call_id NOT IN"
                           " (SELECT call_id FROM campaign_attempts WHERE call_id IS NOT NULL)"
                           " ORDER BY id LIMIT 1"))) {
        sqlite3_bind_int64(st, 1, a->campaign);
        sqlite3_bind_text(st, 2, a->number, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, a->started_at, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            copy_col(st, 0, a->call_id, sizeof a->call_id);
            found = true;
        }
        sqlite3_finalize(st);
    }
    if (!begin(d))
        return found;
    if (!found) {
        bool ok = run(d, "DELETE FROM campaign_attempts WHERE id = ?1", "i", a->id) >= 0 &&
                  run(d, "UPDATE campaign_callees SET state = 'pending', attempts = attempts - 1"
                         " WHERE id = ?1 AND state = 'in_progress'", "i", a->callee) >= 0;
        if (finish(d, ok))
            log_info("dialer: campaign %lld: attempt %lld never went out (undone)",
                     (long long)a->campaign, (long long)a->id);
        return false;
    }
    bool ok = run(d, "UPDATE campaign_attempts SET call_id = ?2 WHERE id = ?1", "it", a->id,
                  a->call_id) >= 0 &&
              run(d, "UPDATE campaign_callees SET last_call_id = ?2 WHERE id = ?1", "it",
                  a->callee, a->call_id) >= 0;
    if (!finish(d, ok))
        return true;
    if (u < d->n_unlinked)
        d->unlinked[u] = d->unlinked[--d->n_unlinked];
    else
        log_info("dialer: campaign %lld: attempt %lld is call %s (found after a restart)",
                 (long long)a->campaign, (long long)a->id, a->call_id);
    return true;
}

/* The attempt's outcome, inside a transaction; false when a write failed. */
static bool settle(struct dialer *d, struct open_attempt *a, int64_t now)
{
    struct camp *tmp = NULL, *c = settings_of(d, a->campaign, &tmp);
    if (c)
        c->check_done = true;
    if (!a->answered && strcmp(a->cause, "over_limit") == 0) {
        /* A full gateway, number or account: not the callee's attempt; the campaign waits. */
        bool ok = run(d, "DELETE FROM campaign_attempts WHERE id = ?1", "i", a->id) >= 0 &&
                  run(d, "UPDATE campaign_callees SET state = 'pending', attempts = attempts - 1,"
                         " next_attempt_at = ?2 WHERE id = ?1", "ii", a->callee,
                      now + LIMIT_BACKOFF_MS) >= 0;
        if (c)
            c->closed_until = now + LIMIT_BACKOFF_MS;
        camp_free(tmp);
        return ok;
    }
    char nowiso[ISO8601_LEN];
    iso(now, nowiso);
    const char *result = a->answered ? (a->machine ? "machine" : "answered")
                                     : unanswered_result(a->cause);
    bool ok = !a->ended || run(d, "UPDATE campaign_attempts SET ended_at = ?2, result = ?3"
                                  " WHERE id = ?1", "itt", a->id, nowiso, result) >= 0;
    if (a->answered) /* done at the answer: a crash while it is up must not dial it again */
        ok = ok && run(d, "UPDATE campaign_callees SET state = 'done', result = ?2,"
                          " last_call_id = ?3 WHERE id = ?1", "itt", a->callee, result,
                       a->call_id) >= 0;
    else
        ok = ok && settle_unanswered(d, c, a->callee, a->attempts, result, now);
    camp_free(tmp);
    return ok;
}

/* Step 1: every open attempt against its CDR row; counts the open ones per campaign. Returns
 * how many attempts were open. */
static size_t reconcile(struct dialer *d, int64_t now)
{
    for (size_t i = 0; i < d->n; i++)
        d->camps[i]->open = 0;
    sqlite3_stmt *st = prep(d,
        "SELECT a.id, a.campaign_id, a.callee_id, a.call_id, a.started_at, k.attempts,"
        " k.state = 'done', k.number, c.answer_time IS NOT NULL, c.end_time IS NOT NULL,"
        " c.hangup_cause, c.vars FROM campaign_attempts a"
        " JOIN campaign_callees k ON k.id = a.callee_id"
        " LEFT JOIN cdr c ON c.call_id = a.call_id WHERE a.ended_at IS NULL");
    size_t n = 0, cap = 0;
    struct open_attempt *list = NULL;
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            struct open_attempt *more = realloc(list, nc * sizeof *more);
            if (!more)
                break;
            list = more;
            cap = nc;
        }
        struct open_attempt *a = &list[n++];
        *a = (struct open_attempt){ .id = sqlite3_column_int64(st, 0),
                                    .campaign = sqlite3_column_int64(st, 1),
                                    .callee = sqlite3_column_int64(st, 2),
                                    .has_call = sqlite3_column_type(st, 3) != SQLITE_NULL,
                                    .attempts = sqlite3_column_int(st, 5),
                                    .callee_done = sqlite3_column_int(st, 6),
                                    .answered = sqlite3_column_int(st, 8),
                                    .ended = sqlite3_column_int(st, 9) };
        copy_col(st, 3, a->call_id, sizeof a->call_id);
        copy_col(st, 4, a->started_at, sizeof a->started_at);
        copy_col(st, 7, a->number, sizeof a->number);
        copy_col(st, 10, a->cause, sizeof a->cause);
        a->machine = a->answered && is_machine((const char *)sqlite3_column_text(st, 11));
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n; i++) {
        struct open_attempt *a = &list[i];
        if (!a->has_call && !relink(d, a))
            continue;
        if (((a->answered && !a->callee_done) || a->ended) && begin(d))
            finish(d, settle(d, a, now));
        struct camp *c = camp_find(d, a->campaign);
        if (c && !a->ended)
            c->open++;
    }
    free(list);
    return n;
}

/* ---- placing -------------------------------------------------------------------------------- */

static int64_t mono_ms(const struct dialer *d)
{
    return d->cfg.clock_ms ? d->cfg.clock_ms(d->cfg.ctx) : (int64_t)clock_mono_ms();
}

/* How many calls the campaign may place from mono time t on within this step (0: none now). */
static int pace_allows(const struct camp *c, int64_t t)
{
    int64_t t_us = t * 1000, slack_us = (int64_t)DIALER_STEP_MS * 1000;
    if (t_us < c->next_us - slack_us || c->recent[c->recent_pos] > t - 1000)
        return 0;
    int64_t from = c->next_us > t_us ? c->next_us : t_us;
    int64_t n = 1 + (t_us + slack_us - from) / c->interval_us;
    int in_window = 0;
    for (int i = 0; i < c->cps; i++)
        in_window += c->recent[i] > t - 1000;
    return (int)(n < c->cps - in_window ? n : c->cps - in_window);
}

/* A call left at mono time t. */
static void pace_placed(struct camp *c, int64_t t)
{
    c->next_us = (c->next_us > t * 1000 ? c->next_us : t * 1000) + c->interval_us;
    c->recent[c->recent_pos] = t;
    c->recent_pos = (c->recent_pos + 1) % (size_t)c->cps;
}

struct due {
    int64_t id;
    int attempts;
    char number[20];
    char *vars;
};

/* The vars of the call: the campaign's, the callee's columns over them, and campaign_amd (the
 * campaign's amd option, for the script's call:detect_machine) unless it is off. */
static char *call_vars(const struct camp *c, const char *callee_vars)
{
    json_t *v = json_is_object(c->vars) ? json_copy(c->vars) : json_object();
    json_t *own = json_loads(callee_vars ? callee_vars : "{}", 0, NULL);
    if (v && json_is_object(own))
        json_object_update(v, own);
    if (v && strcmp(c->amd, "off") != 0)
        json_object_set_new(v, "campaign_amd", json_string(c->amd));
    json_decref(own);
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return s;
}

/* Places one call; false to stop for this step: the placer said later, or the database did
 * not take the attempt. */
static bool place(struct dialer *d, struct camp *c, const struct due *k, int64_t now)
{
    char nowiso[ISO8601_LEN], id[64] = "";
    iso(now, nowiso);
    if (!begin(d))
        return false;
    int moved = run(d, "UPDATE campaign_callees SET state = 'in_progress', attempts = attempts + 1"
                       " WHERE id = ?1 AND state = 'pending' AND attempts < ?2", "ii", k->id,
                    (int64_t)c->max_attempts);
    bool claimed = moved >= 0 && sqlite3_changes(d->db) == 1;
    bool ok = moved >= 0 && (!claimed || run(d, "INSERT INTO campaign_attempts(campaign_id,"
                                                " callee_id, started_at) VALUES (?1, ?2, ?3)",
                                             "iit", c->id, k->id, nowiso) >= 0);
    int64_t attempt = sqlite3_last_insert_rowid(d->db);
    if (!finish(d, ok))
        return false;
    if (!claimed)
        return true;
    char *vars = call_vars(c, k->vars);
    struct dialer_call call = { .campaign_id = c->id, .account = c->account,
                                .number = k->number, .script = c->script, .amd = c->amd,
                                .caller_id = c->caller_id, .vars_json = vars ? vars : "{}",
                                .ring_timeout_s = c->ring_timeout_s };
    enum dialer_placed r = d->cfg.place(d->cfg.ctx, &call, id, sizeof id);
    free(vars);
    bool saved = begin(d);
    if (r == DIALER_PLACED) {
        saved = saved &&
                run(d, "UPDATE campaign_attempts SET call_id = ?2 WHERE id = ?1", "it", attempt,
                    id) >= 0 &&
                run(d, "UPDATE campaign_callees SET last_call_id = ?2 WHERE id = ?1", "it", k->id,
                    id) >= 0;
        pace_placed(c, mono_ms(d)); /* after the placer: the call has left */
        c->open++;
    } else if (r == DIALER_LATER) {
        saved = saved && run(d, "DELETE FROM campaign_attempts WHERE id = ?1", "i", attempt) >= 0 &&
                run(d, "UPDATE campaign_callees SET state = 'pending', attempts = attempts - 1"
                       " WHERE id = ?1", "i", k->id) >= 0;
    } else {
        saved = saved &&
                run(d, "UPDATE campaign_attempts SET ended_at = ?2, result = 'failed'"
                       " WHERE id = ?1", "it", attempt, nowiso) >= 0 &&
                settle_unanswered(d, c, k->id, k->attempts + 1, "failed", now);
        c->check_done = true;
    }
    /* Not written: a call that left is linked by the next reconcile from unlinked; an attempt
     * whose call did not leave has no CDR row, so the reconcile undoes it (a failed placement
     * then is not counted, and the callee is tried again). */
    if (!finish(d, saved) && r == DIALER_PLACED)
        unlinked_add(d, attempt, id);
    return r != DIALER_LATER;
}

/* Step 2 for one running campaign. */
static void dial(struct dialer *d, struct camp *c, int64_t now)
{
    if (c->closed_until > now)
        return;
    if (!window_open(&c->win, now / 1000)) {
        int64_t next = window_next_open(&c->win, now / 1000);
        c->closed_until = next < 0 ? now + NEVER_OPEN_RECHECK_MS : next * 1000;
        return;
    }
    int budget = c->max_concurrent - c->open;
    if (budget <= 0)
        return;
    int rate = pace_allows(c, mono_ms(d));
    if (rate < budget)
        budget = rate;
    if (budget <= 0)
        return;
    if (budget > PAGE)
        budget = PAGE;
    sqlite3_stmt *st = prep(d, "SELECT id, attempts, number, vars FROM campaign_callees"
                               " WHERE campaign_id = ?1 AND state = 'pending'"
                               " AND next_attempt_at <= ?2 ORDER BY next_attempt_at, id LIMIT ?3");
    struct due due[PAGE];
    int n = 0;
    if (st) {
        sqlite3_bind_int64(st, 1, c->id);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int(st, 3, budget);
        while (n < budget && sqlite3_step(st) == SQLITE_ROW) {
            due[n] = (struct due){ .id = sqlite3_column_int64(st, 0),
                                   .attempts = sqlite3_column_int(st, 1) };
            copy_col(st, 2, due[n].number, sizeof due[n].number);
            due[n].vars = strdup((const char *)sqlite3_column_text(st, 3));
            n++;
        }
        sqlite3_finalize(st);
    }
    if (n == 0)
        c->check_done = true;
    bool go = true;
    for (int i = 0; i < n; i++) {
        /* the clock again before each call: placing the ones before took time */
        go = go && pace_allows(c, mono_ms(d)) > 0;
        enum compliance no = !go ? COMPLIANCE_OK
                             : compliance_check(d->db, c->account, due[i].number,
                                                d->cfg.max_per_callee_day,
                                                d->cfg.max_per_callee_week, now);
        const char *skip = no == COMPLIANCE_DNC ? "skipped_dnc"
                           : no == COMPLIANCE_CAP ? "skipped_cap" : NULL;
        if (no == COMPLIANCE_UNKNOWN) {
            /* Fail closed: nobody of this campaign is called until the lists read again; the
             * callee stays pending for a later step. */
            go = false;
        } else if (skip) {
            run(d, "UPDATE campaign_callees SET state = 'done', result = ?2 WHERE id = ?1", "it",
                due[i].id, skip);
            c->check_done = true;
        } else if (go) {
            go = place(d, c, &due[i], now);
        }
        free(due[i].vars);
    }
}

/* Step 3: a running campaign with nobody left to call and no call up is completed. */
static void maybe_complete(struct dialer *d, struct camp *c, int64_t now)
{
    if (!c->check_done || c->open > 0)
        return;
    c->check_done = false;
    if (run(d, "SELECT count(*) FROM campaign_callees WHERE campaign_id = ?1 AND state != 'done'",
            "i", c->id) != 0)
        return;
    char nowiso[ISO8601_LEN];
    iso(now, nowiso);
    if (run(d, "UPDATE campaigns SET state = 'completed', ended_at = ?2 WHERE id = ?1"
               " AND state = 'running'", "it", c->id, nowiso) == 0 && sqlite3_changes(d->db) == 1) {
        log_info("dialer: campaign %lld of %s completed", (long long)c->id, c->account);
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)c->id);
        json_t *campaign = NULL;
        if (d->cfg.completed && camp_get(d->db, NULL, id, &campaign) == IAM_OK)
            d->cfg.completed(d->cfg.ctx, c->id, c->account, campaign);
    }
}

bool dialer_step(struct dialer *d, int64_t now)
{
    d->blocked = false;
    refresh(d);
    size_t open = reconcile(d, now);
    for (size_t i = 0; i < d->n; i++) {
        dial(d, d->camps[i], now);
        maybe_complete(d, d->camps[i], now);
    }
    return d->n > 0 || open > 0;
}

/* ---- life ----------------------------------------------------------------------------------- */

struct dialer *dialer_create(const struct dialer_config *cfg, char *err, size_t errlen)
{
    struct dialer *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->db = db_open("dialer", cfg->db_path, SQLITE_OPEN_READWRITE, BUSY_TIMEOUT_MS, err, errlen);
    if (!d->db) {
        dialer_destroy(d);
        return NULL;
    }
    return d;
}

static void *dialer_main(void *arg)
{
    struct dialer *d = arg;
    while (!atomic_load(&d->stop)) {
        bool busy = dialer_step(d, clock_wall_ms());
        struct timespec ts = { 0, (busy ? DIALER_STEP_MS : DIALER_IDLE_MS) * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    return NULL;
}

int dialer_start(struct dialer *d, char *err, size_t errlen)
{
    int rc = pthread_create(&d->thread, NULL, dialer_main, d);
    if (rc != 0) {
        snprintf(err, errlen, "dialer: cannot start its thread: %s", strerror(rc));
        return -1;
    }
    d->thread_started = true;
    return 0;
}

void dialer_stop(struct dialer *d)
{
    if (!d || !d->thread_started)
        return;
    atomic_store(&d->stop, true);
    pthread_join(d->thread, NULL);
    d->thread_started = false;
}

void dialer_destroy(struct dialer *d)
{
    if (!d)
        return;
    dialer_stop(d);
    for (size_t i = 0; i < d->n; i++)
        camp_free(d->camps[i]);
    free(d->camps);
    free(d->unlinked);
    sqlite3_close(d->db);
    free(d);
}
