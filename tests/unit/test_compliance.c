/* The do-not-call and caps check through the compliance gate on a real vcs.db (made by
 * store_open): each question gets exactly one answer, on the gate's thread, with the verdict
 * compliance_check gives (the account's list, the global list, another account's list, the
 * day cap from answered outbound CDR rows); questions still queued when the gate is destroyed
 * are answered first. And the callee a target is checked for (compliance_callee). */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "campaign/compliance_gate.h"
#include "core/clock.h"
#include "store/store.h"

#define QUESTIONS 64

struct fx {
    char tmp[256], db_path[300];
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int answers[QUESTIONS]; /* the verdict + 1 of each question, 0 until answered */
    int answered;
    pthread_t asker, answerer;
};

struct q {
    struct fx *f;
    int i;
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void sql(struct fx *f, const char *q)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err);
    sqlite3_close(db);
}

static void on_answer(enum compliance verdict, void *arg)
{
    struct q *q = arg;
    struct fx *f = q->f;
    pthread_mutex_lock(&f->mu);
    f->answers[q->i] = (int)verdict + 1;
    f->answered++;
    f->answerer = pthread_self();
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    free(q);
}

static void ask(struct fx *f, struct compliance_gate *g, int i, const char *account,
                const char *number)
{
    struct q *q = malloc(sizeof *q);
    assert_non_null(q);
    *q = (struct q){ f, i };
    assert_int_equal(compliance_gate_ask(g, account, number, on_answer, q), 0);
}

static void wait_answers(struct fx *f, int n)
{
    pthread_mutex_lock(&f->mu);
    while (f->answered < n)
        pthread_cond_wait(&f->cond, &f->mu); /* the test's own timeout bounds it */
    pthread_mutex_unlock(&f->mu);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *base = getenv("TMPDIR");
    snprintf(f->tmp, sizeof f->tmp, "%s/vcs-compliance-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(f->tmp));
    char err[256];
    struct store *st = store_open(f->tmp, err, sizeof err);
    if (!st)
        fail_msg("%s", err);
    store_close(st);
    snprintf(f->db_path, sizeof f->db_path, "%s/vcs.db", f->tmp);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    f->asker = pthread_self();
    char now[ISO8601_LEN], q[1024];
    iso8601_ms(clock_wall_ms(), now);
    snprintf(q, sizeof q,
             "INSERT INTO dnc(account, number, created_at) VALUES ('shop', '+8613800000001', 'x'),"
             " ('', '+8613800000002', 'x'), ('rival', '+8613800000003', 'x');"
             "INSERT INTO cdr(call_id, direction, account, to_number, start_time, answer_time)"
             " VALUES ('a', 'outbound', 'shop', '+8613800000004', '%s', '%s'),"
             " ('b', 'outbound', 'shop', '+8613800000004', '%s', '%s'),"
             " ('c', 'outbound', 'shop', '+8613800000005', '%s', NULL),"
             " ('d', 'inbound', 'shop', '+8613800000005', '%s', '%s');",
             now, now, now, now, now, now, now);
    sql(f, q);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void test_verdicts(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct compliance_gate *g = compliance_gate_create(f->db_path, 2, 5, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    ask(f, g, 0, "shop", "+8613800000001");  /* shop's list */
    ask(f, g, 1, "shop", "+8613800000002");  /* the global list */
    ask(f, g, 2, "shop", "+8613800000003");  /* rival's list: not shop's business */
    ask(f, g, 3, "shop", "+8613800000004");  /* answered twice today: the day cap */
    ask(f, g, 4, "rival", "+8613800000004"); /* shop's calls do not count for rival */
    ask(f, g, 5, "shop", "+8613800000005");  /* unanswered and inbound rows do not count */
    wait_answers(f, 6);
    int want[] = { COMPLIANCE_DNC, COMPLIANCE_DNC, COMPLIANCE_OK, COMPLIANCE_CAP, COMPLIANCE_OK,
                   COMPLIANCE_OK };
    for (int i = 0; i < 6; i++)
        assert_int_equal(f->answers[i], want[i] + 1);
    assert_false(pthread_equal(f->answerer, f->asker)); /* answered on the gate's thread */
    compliance_gate_destroy(g);
    assert_int_equal(f->answered, 6);
}

static void test_destroy_answers_queued(void **state)
{
    struct fx *f = *state;
    char err[256];
    struct compliance_gate *g = compliance_gate_create(f->db_path, 2, 5, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    for (int i = 0; i < QUESTIONS; i++)
        ask(f, g, i, "shop", i % 2 ? "+8613800000001" : "+8613800000009");
    compliance_gate_destroy(g);
    assert_int_equal(f->answered, QUESTIONS); /* each once, none lost */
    for (int i = 0; i < QUESTIONS; i++)
        assert_int_equal(f->answers[i], (i % 2 ? COMPLIANCE_DNC : COMPLIANCE_OK) + 1);
}

static void test_names_too_long(void **state)
{
    struct fx *f = *state;
    char err[256], longer[200];
    struct compliance_gate *g = compliance_gate_create(f->db_path, 2, 5, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(compliance_gate_ask(g, "shop", longer, on_answer, NULL), -1);
    compliance_gate_destroy(g);
    assert_int_equal(f->answered, 0);
}

static void test_no_database(void **state)
{
    struct fx *f = *state;
    char err[256], path[400];
    snprintf(path, sizeof path, "%s/none/vcs.db", f->tmp);
    assert_null(compliance_gate_create(path, 2, 5, err, sizeof err));
    assert_non_null(strstr(err, path));
}

/* Lists or CDRs that cannot be read give COMPLIANCE_UNKNOWN, never leave to call. */
static void test_fails_closed(void **state)
{
    struct fx *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
    int64_t now = clock_wall_ms();
    sql(f, "ALTER TABLE dnc RENAME TO dnc_gone");
    assert_int_equal(compliance_check(db, "shop", "+8613800000009", 2, 5, now), COMPLIANCE_UNKNOWN);
    assert_int_equal(compliance_check(db, "shop", "+8613800000009", 0, 0, now), COMPLIANCE_UNKNOWN);
    sql(f, "ALTER TABLE dnc_gone RENAME TO dnc; ALTER TABLE cdr RENAME TO cdr_gone");
    assert_int_equal(compliance_check(db, "shop", "+8613800000001", 2, 5, now), COMPLIANCE_DNC);
    assert_int_equal(compliance_check(db, "shop", "+8613800000009", 2, 5, now), COMPLIANCE_UNKNOWN);
    assert_int_equal(compliance_check(db, "shop", "+8613800000009", 0, 5, now), COMPLIANCE_UNKNOWN);
    assert_int_equal(compliance_check(db, "shop", "+8613800000009", 0, 0, now), COMPLIANCE_OK);
    sql(f, "ALTER TABLE cdr_gone RENAME TO cdr");
    assert_int_equal(compliance_check(db, "shop", "+8613800000009", 2, 5, now), COMPLIANCE_OK);
    assert_int_equal(compliance_check(db, "shop", "+8613800000004", 2, 5, now), COMPLIANCE_CAP);
    sqlite3_close(db);
    assert_string_equal(compliance_code(COMPLIANCE_UNKNOWN), "compliance_unavailable");
}

static void test_callee(void **state)
{
    (void)state;
    assert_string_equal(compliance_callee("+8613800000001"), "+8613800000001");
    assert_string_equal(compliance_callee("gw:carrier/+8613800000001"), "+8613800000001");
    assert_null(compliance_callee("sip:bob@example.com"));
    assert_null(compliance_callee("trunk:pbx/1001"));
    assert_null(compliance_callee("gw:carrier"));
    assert_string_equal(compliance_code(COMPLIANCE_DNC), "dnc");
    assert_string_equal(compliance_code(COMPLIANCE_CAP), "frequency_cap");
    assert_null(compliance_code(COMPLIANCE_OK));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_answers_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fails_closed, setup, teardown),
        cmocka_unit_test(test_callee),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
