/* The dialer's decisions on a real vcs.db (made by store_open, so with the real schema), with a
 * fake clock (dialer_step's now) and a fake placer standing for the engine: each placed call
 * gets a CDR row as the engine would write it, and the test plays the carrier by completing
 * those rows (answered, busy, no answer). Checked: never more than max_concurrent calls up nor
 * cps placed in any 1000 ms, even when placing is slow, and the calls spread evenly; nothing while the window is closed and calls once it opens
 * (Asia/Shanghai); retries by result after interval_s and never more than max_attempts; DNC and
 * frequency caps skipped; completion reported once; a refusal for now undone, a failure
 * counted; after a "crash" an attempt without its call id is matched to its CDR row or undone,
 * and an answered callee is never dialled again. A write that fails leaves nothing half done:
 * no call for an attempt that was not written, and a call whose id could not be written
 * (database busy) is linked later, not dialled again. */
#include <ftw.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "campaign/dialer.h"
#include "core/clock.h"
#include "store/store.h"

/* Mon 2026-12-07 02:00Z = 10:00 in Shanghai, inside mon-fri 09:00-20:00. */
#define MONDAY_10 INT64_C(1796608800000)
/* Sat 2026-12-05 02:00Z = 10:00 Saturday in Shanghai. */
#define SATURDAY_10 INT64_C(1796436000000)

#define MAX_CALLS 256

struct call_made {
    char id[32], number[20];
    int64_t at;
};

struct fx {
    char tmp[256], db_path[300];
    sqlite3 *db;
    struct dialer *d;
    struct call_made calls[MAX_CALLS];
    int n_calls;
    enum dialer_placed answer; /* what the placer says */
    int completed;
    int64_t now;     /* the wall clock given to dialer_step and the monotonic clock alike */
    int slow_calls;  /* the placer takes slow_ms for this many calls, then 1 ms */
    int slow_ms;
    bool lock_when_placing; /* the placer takes the write lock (a long import elsewhere) */
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Runs one statement; the first column of its first row (-1 when none). */
static int64_t vquery(struct fx *f, const char *fmt, va_list ap)
{
    char q[4096];
    vsnprintf(q, sizeof q, fmt, ap);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(f->db, q, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", q, sqlite3_errmsg(f->db));
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        fail_msg("%s: %s", q, sqlite3_errmsg(f->db));
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static void sql(struct fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vquery(f, fmt, ap);
    va_end(ap);
}

static int64_t num(struct fx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int64_t v = vquery(f, fmt, ap);
    va_end(ap);
    return v;
}

static enum dialer_placed fake_place(void *ctx, const struct dialer_call *call, char *id, size_t idlen)
{
    struct fx *f = ctx;
    if (f->answer != DIALER_PLACED)
        return f->answer;
    assert_true(f->n_calls < MAX_CALLS);
    assert_string_equal(call->script, "remind");
    assert_string_equal(call->caller_id, "auto"); /* the engine picks the number */
    assert_int_equal(call->ring_timeout_s, 30);
    struct call_made *m = &f->calls[f->n_calls++];
    snprintf(m->id, sizeof m->id, "call-%d", f->n_calls);
    snprintf(m->number, sizeof m->number, "%s", call->number);
    m->at = f->now;
    snprintf(id, idlen, "%s", m->id);
    char t[ISO8601_LEN];
    iso8601_ms(f->now, t);
    f->now += f->n_calls <= f->slow_calls ? f->slow_ms : 1; /* placing takes time */
    if (f->lock_when_placing)
        sql(f, "BEGIN IMMEDIATE");
    sql(f, "INSERT INTO cdr(call_id, direction, account, to_number, start_time, campaign_id, vars)"
           " VALUES ('%s', 'outbound', '%s', '%s', '%s', %lld, '%s')", m->id, call->account,
        call->number, t, (long long)call->campaign_id, call->vars_json);
    return DIALER_PLACED;
}

static void on_completed(void *ctx, int64_t id, const char *account, json_t *campaign)
{
    (void)account;
    /* the final counts go with the event */
    assert_int_equal(json_integer_value(json_object_get(campaign, "id")), id);
    assert_string_equal(json_string_value(json_object_get(campaign, "state")), "completed");
    assert_non_null(json_object_get(json_object_get(campaign, "progress"), "total"));
    json_decref(campaign);
    ((struct fx *)ctx)->completed++;
}

static int64_t fake_clock(void *ctx)
{
    return ((struct fx *)ctx)->now;
}

static struct dialer *new_dialer(struct fx *f, int day_cap, int week_cap)
{
    struct dialer_config cfg = { .max_per_callee_day = day_cap, .max_per_callee_week = week_cap,
                                 .place = fake_place, .completed = on_completed,
                                 .clock_ms = fake_clock, .ctx = f };
    snprintf(cfg.db_path, sizeof cfg.db_path, "%s", f->db_path);
    char err[256];
    struct dialer *d = dialer_create(&cfg, err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    return d;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *base = getenv("TMPDIR");
    snprintf(f->tmp, sizeof f->tmp, "%s/vcs-dialer-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(f->tmp));
    char err[256];
    struct store *st = store_open(f->tmp, err, sizeof err);
    if (!st)
        fail_msg("%s", err);
    store_close(st);
    snprintf(f->db_path, sizeof f->db_path, "%s/vcs.db", f->tmp);
    assert_int_equal(sqlite3_open(f->db_path, &f->db), SQLITE_OK);
    sqlite3_busy_timeout(f->db, 5000);
    f->d = new_dialer(f, 2, 5);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    dialer_destroy(f->d);
    sqlite3_close(f->db);
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A running campaign (settings as the API stores them) with callees +8613900000<first..>, every
 * third number so that none are consecutive. */
static void campaign(struct fx *f, int id, int maxc, int cps, const char *retry_on, int attempts,
                     int callees)
{
    sql(f, "INSERT INTO campaigns(id, account, name, state, settings, created_at) VALUES (%d,"
           " 'shop', 'c', 'running', '{\"script\":\"remind\",\"caller_id\":\"auto\","
           "\"max_concurrent\":%d,\"cps\":%d,\"ring_timeout_s\":30,\"amd\":\"off\","
           "\"vars\":{\"clinic\":\"Smile\"},\"window\":{\"tz\":\"Asia/Shanghai\",\"days\":\"mon-fri\","
           "\"start\":\"09:00\",\"end\":\"20:00\"},\"retry\":{\"on\":%s,\"max_attempts\":%d,"
           "\"interval_s\":600}}', 'x')", id, maxc, cps, retry_on, attempts);
    for (int i = 0; i < callees; i++)
        sql(f, "INSERT INTO campaign_callees(campaign_id, line, number, vars) VALUES (%d, %d,"
               " '+86139%02d%06d', '{\"name\":\"n%d\"}')", id, i + 2, id, 3 * i, i);
}

static void steps(struct fx *f, int64_t from, int64_t until)
{
    for (f->now = from; f->now < until; f->now += DIALER_STEP_MS)
        dialer_step(f->d, f->now);
}

/* The carrier: completes a call's CDR row. */
static void carrier(struct fx *f, const char *id, const char *cause, bool answered)
{
    char t[ISO8601_LEN];
    iso8601_ms(f->now, t);
    sql(f, "UPDATE cdr SET answer_time = %s%s%s, end_time = '%s', hangup_cause = '%s'"
           " WHERE call_id = '%s'", answered ? "'" : "", answered ? t : "NULL", answered ? "'" : "",
        t, cause, id);
}

static void test_max_concurrent(void **state)
{
    struct fx *f = *state;
    campaign(f, 1, 3, 100, "[]", 1, 10);
    steps(f, MONDAY_10, MONDAY_10 + 2000);
    assert_int_equal(f->n_calls, 3); /* calls stay up: never more than 3 */
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'in_progress'"), 3);
    carrier(f, f->calls[0].id, "normal_clearing", true);
    steps(f, f->now, f->now + 200);
    assert_int_equal(f->n_calls, 4); /* one ended, one more */
    /* the vars of the call: the campaign's and the callee's */
    assert_int_equal(num(f, "SELECT count(*) FROM cdr WHERE call_id = 'call-1' AND vars ="
                            " '{\"clinic\":\"Smile\",\"name\":\"n0\"}'"), 1);
}

static void test_cps(void **state)
{
    struct fx *f = *state;
    campaign(f, 2, 100, 2, "[]", 1, 20);
    for (f->now = MONDAY_10; f->now < MONDAY_10 + 5000; f->now += DIALER_STEP_MS) {
        dialer_step(f->d, f->now);
        for (int i = 0; i < f->n_calls; i++) /* calls end at once: only cps limits */
            carrier(f, f->calls[i].id, "busy", false);
    }
    assert_in_range(f->n_calls, 9, 10);
    for (int i = 0; i + 2 < f->n_calls; i++) /* any three placements span more than 1 s */
        if (f->calls[i + 2].at - f->calls[i].at < 1000)
            fail_msg("calls %d..%d within %lld ms", i, i + 2, (long long)(f->calls[i + 2].at - f->calls[i].at));
}

/* cps 10 with a placer that is slow for the first ten calls (90 ms each, as a loaded engine
 * or a slow disk) and fast after: the calls are spaced 100 ms apart (less one step of slack)
 * as they leave, no 1000 ms holds 11 of them whatever time each step started, and once placing
 * is fast the campaign goes at its full cps. */
static void test_cps_even_with_slow_step(void **state)
{
    struct fx *f = *state;
    campaign(f, 3, 100, 10, "[]", 1, 60);
    f->slow_calls = 10;
    f->slow_ms = 90;
    f->now = MONDAY_10;
    while (f->now < MONDAY_10 + 5000) {
        dialer_step(f->d, f->now);
        for (int i = 0; i < f->n_calls; i++)
            carrier(f, f->calls[i].id, "busy", false);
        f->now += DIALER_STEP_MS;
    }
    int late = 0; /* once placing is fast again, 10 a second: the pacing keeps up */
    for (int i = 0; i < f->n_calls; i++)
        late += f->calls[i].at >= MONDAY_10 + 3000;
    assert_in_range(late, 19, 20);
    for (int i = 0; i + 1 < f->n_calls; i++)
        if (f->calls[i + 1].at - f->calls[i].at < 100 - DIALER_STEP_MS)
            fail_msg("calls %d, %d %lld ms apart", i, i + 1,
                     (long long)(f->calls[i + 1].at - f->calls[i].at));
    for (int i = 0; i + 10 < f->n_calls; i++)
        if (f->calls[i + 10].at - f->calls[i].at < 1000)
            fail_msg("calls %d..%d within %lld ms", i, i + 10,
                     (long long)(f->calls[i + 10].at - f->calls[i].at));
}

static void test_window(void **state)
{
    struct fx *f = *state;
    campaign(f, 3, 5, 5, "[]", 1, 3);
    steps(f, SATURDAY_10, SATURDAY_10 + 3000);
    assert_int_equal(f->n_calls, 0);
    steps(f, MONDAY_10 - 1000, MONDAY_10 - 20); /* Monday 09:59:59 is open already */
    assert_int_equal(f->n_calls, 3);
}

static void test_retries(void **state)
{
    struct fx *f = *state;
    campaign(f, 4, 5, 5, "[\"busy\"]", 2, 2);
    steps(f, MONDAY_10, MONDAY_10 + 500);
    assert_int_equal(f->n_calls, 2);
    carrier(f, f->calls[0].id, "busy", false);      /* retried in 600 s */
    carrier(f, f->calls[1].id, "no_answer", false); /* not in retry.on: done */
    steps(f, f->now, f->now + 1000);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'pending'"
                            " AND result = 'busy' AND attempts = 1"), 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'done'"
                            " AND result = 'no_answer'"), 1);
    steps(f, f->now, MONDAY_10 + 590 * 1000); /* not before the interval */
    assert_int_equal(f->n_calls, 2);
    steps(f, MONDAY_10 + 600 * 1000, MONDAY_10 + 602 * 1000);
    assert_int_equal(f->n_calls, 3);
    assert_string_equal(f->calls[2].number, f->calls[0].number);
    carrier(f, f->calls[2].id, "busy", false); /* second busy: max_attempts reached */
    steps(f, f->now, MONDAY_10 + 1300 * 1000);
    assert_int_equal(f->n_calls, 3);
    assert_int_equal(num(f, "SELECT max(attempts) FROM campaign_callees WHERE campaign_id = 4"), 2);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'done'"), 2);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_attempts WHERE campaign_id = 4"), 3);
    assert_int_equal(num(f, "SELECT count(*) FROM campaigns WHERE id = 4 AND state = 'completed'"), 1);
    assert_int_equal(f->completed, 1);
}

static void test_dnc_and_caps(void **state)
{
    struct fx *f = *state;
    campaign(f, 5, 5, 5, "[]", 1, 3);
    sql(f, "INSERT INTO dnc(account, number, created_at) VALUES ('', '+8613905000000', 'x')");
    /* two answered outbound calls today from another campaign: the day cap (2) is reached */
    for (int i = 0; i < 2; i++)
        sql(f, "INSERT INTO cdr(call_id, direction, account, to_number, start_time, answer_time)"
               " VALUES ('old%d', 'outbound', 'shop', '+8613905000003', '2026-12-07T01:00:00.000Z',"
               " '2026-12-07T01:00:01.000Z')", i);
    steps(f, MONDAY_10, MONDAY_10 + 500);
    assert_int_equal(f->n_calls, 1);
    assert_string_equal(f->calls[0].number, "+8613905000006");
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE result = 'skipped_dnc'"), 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE result = 'skipped_cap'"), 1);
}

/* Lists that cannot be read stop the campaign's calls (fail closed); nobody is skipped, and
 * calling resumes once they read again. */
static void test_dnc_unreadable(void **state)
{
    struct fx *f = *state;
    campaign(f, 6, 5, 5, "[]", 1, 3);
    sql(f, "ALTER TABLE dnc RENAME TO dnc_gone");
    steps(f, MONDAY_10, MONDAY_10 + 500);
    assert_int_equal(f->n_calls, 0);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'done'"), 0);
    sql(f, "ALTER TABLE dnc_gone RENAME TO dnc");
    steps(f, f->now, f->now + 1500);
    assert_int_equal(f->n_calls, 3);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE result LIKE 'skipped%%'"), 0);
}

static void test_later_and_failed(void **state)
{
    struct fx *f = *state;
    campaign(f, 6, 5, 5, "[\"failed\"]", 2, 1);
    f->answer = DIALER_LATER; /* a full gateway: the callee waits, nothing counted */
    steps(f, MONDAY_10, MONDAY_10 + 500);
    assert_int_equal(num(f, "SELECT attempts FROM campaign_callees"), 0);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_attempts"), 0);
    f->answer = DIALER_FAILED; /* counted as a failed attempt, retried */
    steps(f, f->now, f->now + 40);
    assert_int_equal(num(f, "SELECT attempts FROM campaign_callees WHERE state = 'pending'"
                            " AND result = 'failed'"), 1);
}

static void test_restart(void **state)
{
    struct fx *f = *state;
    campaign(f, 7, 5, 5, "[\"no_answer\"]", 3, 3);
    steps(f, MONDAY_10, MONDAY_10 + 500);
    assert_int_equal(f->n_calls, 3);
    carrier(f, f->calls[0].id, "normal_clearing", true); /* answered, still... ended */
    sql(f, "UPDATE cdr SET end_time = NULL WHERE call_id = '%s'", f->calls[0].id); /* ...up */
    steps(f, f->now, f->now + 100);
    /* A crash: the dialer goes; one attempt lost its call id (placed, CDR written), the
     * second's call never went out (no CDR). */
    dialer_destroy(f->d);
    sql(f, "UPDATE campaign_attempts SET call_id = NULL WHERE call_id IN ('%s', '%s')",
        f->calls[1].id, f->calls[2].id);
    sql(f, "DELETE FROM cdr WHERE call_id = '%s'", f->calls[2].id);
    sql(f, "UPDATE cdr SET end_time = '2026-12-07T02:00:01.000Z', hangup_cause = 'system_crash'"
           " WHERE end_time IS NULL");
    f->d = new_dialer(f, 2, 5);
    steps(f, f->now + 5000, f->now + 6000);
    /* the answered callee is done and not dialled again; the lost id found (its crashed call
     * failed: not retried on "failed"); the one that never went out dialled now */
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'done'"
                            " AND result = 'answered'"), 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_attempts WHERE call_id = '%s'",
                         f->calls[1].id), 1);
    assert_int_equal(f->n_calls, 4);
    assert_string_equal(f->calls[3].number, f->calls[2].number);
    assert_int_equal(num(f, "SELECT attempts FROM campaign_callees WHERE number = '%s'",
                         f->calls[2].number), 1);
    for (int i = 1; i < 4; i++)
        assert_string_not_equal(f->calls[i].number, f->calls[0].number);
}

/* The attempt row cannot be written: the callee's claim is rolled back and no call goes out. */
static void test_attempt_not_written(void **state)
{
    struct fx *f = *state;
    campaign(f, 8, 5, 5, "[]", 1, 1);
    sql(f, "CREATE TRIGGER no_attempts BEFORE INSERT ON campaign_attempts"
           " BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    steps(f, MONDAY_10, MONDAY_10 + 100);
    assert_int_equal(f->n_calls, 0);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'pending'"
                            " AND attempts = 0"), 1);
    sql(f, "DROP TRIGGER no_attempts");
    steps(f, f->now, f->now + 100);
    assert_int_equal(f->n_calls, 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_attempts WHERE call_id = 'call-1'"), 1);
}

/* Another connection holds the write lock from the moment the call leaves until after the
 * step (the dialer waits out its busy timeout once), and the call's CDR row is not written
 * yet when the lock goes: the attempt gets its id at a later step, and the callee is not
 * dialled again. */
static void test_busy_after_placing(void **state)
{
    struct fx *f = *state;
    campaign(f, 9, 5, 5, "[]", 1, 1);
    f->lock_when_placing = true;
    dialer_step(f->d, MONDAY_10);
    f->lock_when_placing = false;
    sql(f, "ROLLBACK"); /* the CDR row goes with it: still queued in the store */
    assert_int_equal(f->n_calls, 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_attempts WHERE call_id IS NULL"), 1);
    steps(f, MONDAY_10 + 2000, MONDAY_10 + 2100);
    assert_int_equal(f->n_calls, 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_attempts WHERE call_id = 'call-1'"), 1);
    assert_int_equal(num(f, "SELECT count(*) FROM campaign_callees WHERE state = 'in_progress'"
                            " AND last_call_id = 'call-1'"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_max_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cps_even_with_slow_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dnc_and_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dnc_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_later_and_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_not_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_after_placing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
