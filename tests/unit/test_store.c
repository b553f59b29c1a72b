/* Unit tests of the SQLite store on real database files in a fresh temporary directory per
 * test: bootstrap of the admin token, CDR rows as written by the writer thread (checked with
 * independent sqlite3 queries), crash recovery, billing rounding, the numbers query and bad
 * input; the API's records of a request done (idempotency key, audit entry) written even when
 * another connection holds the write lock past the busy timeout. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/cdr.h"
#include "store/iam.h"
#include "store/store.h"

/* 2026-11-24T06:15:13.123Z, the example of SPEC 6 */
#define T0 INT64_C(1795500913123)

struct fixture {
    char tmp[PATH_MAX];
    char data[PATH_MAX];   /* tmp/var/data: two levels that store_open must create */
    char token[PATH_MAX];  /* data/admin.token */
    char err[256];
    char mnt[PATH_MAX];    /* a tmpfs mounted by the test, "" if none */
};

/* ---- helpers ---------------------------------------------------------------------------- */

/* Joins dir and name, failing the test when the path does not fit. */
static void join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < outlen);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *base = getenv("TMPDIR");
    snprintf(f->tmp, sizeof f->tmp, "%s/vcs-store-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(f->tmp));
    join(f->data, sizeof f->data, f->tmp, "var/data");
    join(f->token, sizeof f->token, f->data, "admin.token");
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->mnt[0])
        umount2(f->mnt, MNT_DETACH);
    nftw(f->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static sqlite3 *db_open(const struct fixture *f)
{
    char path[PATH_MAX];
    join(path, sizeof path, f->data, "vcs.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int64_t q_int(const struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *q_text(const struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void q_exec(const struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs a one-row query on a connection of its own and returns column 0. */
static int64_t q_int(const struct fixture *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db = db_open(f);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_not_equal(sqlite3_column_type(s, 0), SQLITE_NULL);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Column 0 of a one-row query as a malloc'd string, NULL for SQL NULL. */
static char *q_text(const struct fixture *f, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db = db_open(f);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const char *v = (const char *)sqlite3_column_text(s, 0);
    char *out = v ? strdup(v) : NULL;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

static void q_exec(const struct fixture *f, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *db = db_open(f);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

#define assert_col_text(f, expected, call_id, col)                                          \
    do {                                                                                     \
        char *v_ = q_text((f), "SELECT " col " FROM cdr WHERE call_id = '%s'", (call_id));   \
        assert_non_null(v_);                                                                 \
        assert_string_equal(v_, (expected));                                                 \
        free(v_);                                                                            \
    } while (0)
#define assert_col_null(f, call_id, col)                                                     \
    assert_int_equal(q_int((f), "SELECT " col " IS NULL FROM cdr WHERE call_id = '%s'",       \
                           (call_id)), 1)
#define assert_col_int(f, expected, call_id, col)                                            \
    assert_int_equal(q_int((f), "SELECT " col " FROM cdr WHERE call_id = '%s'", (call_id)),  \
                     (expected))

static struct store *open_ok(struct fixture *f)
{
    struct store *st = store_open(f->data, f->err, sizeof f->err);
    if (!st)
        fail_msg("store_open: %s", f->err);
    return st;
}

static void read_token(const struct fixture *f, char out[65])
{
    FILE *fp = fopen(f->token, "r");
    assert_non_null(fp);
    size_t n = fread(out, 1, 64, fp);
    assert_int_equal(n, 64);
    assert_int_equal(fgetc(fp), EOF); /* exactly 64 characters, no newline */
    fclose(fp);
    out[64] = '\0';
    for (int i = 0; i < 64; i++)
        assert_non_null(strchr("0123456789abcdef", out[i]));
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL), 1);
    assert_int_equal(len, 32);
    for (unsigned i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Independent parser for "YYYY-MM-DDTHH:MM:SS.mmmZ"; fails the test on any other shape. */
static int64_t parse_iso(const char *s)
{
    assert_non_null(s);
    assert_int_equal(strlen(s), 24);
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++) {
        if (shape[i] == 'd')
            assert_true(s[i] >= '0' && s[i] <= '9');
        else
            assert_int_equal(s[i], shape[i]);
    }
    struct tm tm = { 0 };
    int ms = 0;
    assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms), 7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static int64_t col_time(const struct fixture *f, const char *call_id, const char *col)
{
    char *v = q_text(f, "SELECT %s FROM cdr WHERE call_id = '%s'", col, call_id);
    int64_t ms = parse_iso(v);
    free(v);
    return ms;
}

static void make_row(struct cdr_row *r, const char *call_id)
{
    memset(r, 0, sizeof *r);
    snprintf(r->call_id, sizeof r->call_id, "%s", call_id);
    snprintf(r->sip_call_id, sizeof r->sip_call_id, "%s@sip.example", call_id);
    snprintf(r->direction, sizeof r->direction, "inbound");
    snprintf(r->from_number, sizeof r->from_number, "13800000001");
    snprintf(r->to_number, sizeof r->to_number, "01012345678");
    r->start_ms = T0;
}

static void end_row(struct cdr_row *r, int64_t answer_ms, int64_t end_ms, const char *cause,
                    const char *by)
{
    r->answer_ms = answer_ms;
    r->end_ms = end_ms;
    r->sip_code = answer_ms ? 200 : 486;
    snprintf(r->hangup_cause, sizeof r->hangup_cause, "%s", cause);
    snprintf(r->hangup_by, sizeof r->hangup_by, "%s", by);
}

/* ---- admin token ------------------------------------------------------------------------ */

static void test_open_creates_db_and_token(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);

    struct stat sb;
    assert_int_equal(stat(f->data, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0750);
    char path[PATH_MAX];
    join(path, sizeof path, f->data, "recordings");
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    join(path, sizeof path, f->data, "vcs.db");
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(lstat(f->token, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, 64);

    char token[65], hash[65];
    read_token(f, token);
    char account[64] = "";
    assert_int_equal(store_auth_token(st, token, account, sizeof account), 0);
    assert_string_equal(account, "admin");

    /* Only the hash is stored. */
    sha256_hex(token, hash);
    assert_int_equal(q_int(f, "SELECT count(*) FROM api_tokens WHERE token_sha256 = '%s'"
                              " AND account = 'admin'", hash), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM api_tokens WHERE token_sha256 = '%s'",
                           token), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(q_int(f, "SELECT balance_fen FROM accounts WHERE name = 'admin'"), 0);

    char wrong[66];
    memcpy(wrong, token, sizeof token);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    strcpy(account, "unchanged");
    assert_int_equal(store_auth_token(st, wrong, account, sizeof account), -1);
    assert_string_equal(account, "unchanged");
    assert_int_equal(store_auth_token(st, hash, account, sizeof account), -1);
    snprintf(wrong, sizeof wrong, "%s\n", token);
    assert_int_equal(store_auth_token(st, wrong, account, sizeof account), -1);
    assert_int_equal(store_auth_token(st, "", account, sizeof account), -1);
    assert_int_equal(store_auth_token(st, NULL, account, sizeof account), -1);
    assert_int_equal(store_auth_token(st, token, NULL, sizeof account), -1);
    /* "admin" needs 6 bytes: a cut name must not authenticate. */
    assert_int_equal(store_auth_token(st, token, account, 5), -1);
    assert_int_equal(store_auth_token(NULL, token, account, sizeof account), -1);
    store_close(st);
}

static void test_reopen_keeps_token(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    char first[65], second[65];
    read_token(f, first);
    store_close(st);

    st = open_ok(f);
    read_token(f, second);
    assert_string_equal(first, second);
    char account[64];
    assert_int_equal(store_auth_token(st, first, account, sizeof account), 0);
    assert_string_equal(account, "admin");
    assert_int_equal(q_int(f, "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM api_tokens"), 1);
    store_close(st);
}

static void test_missing_token_file_gets_new_token(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    char first[65], second[65];
    read_token(f, first);
    store_close(st);

    assert_int_equal(unlink(f->token), 0);
    st = open_ok(f);
    read_token(f, second);
    assert_string_not_equal(first, second);
    struct stat sb;
    assert_int_equal(lstat(f->token, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char account[64];
    assert_int_equal(store_auth_token(st, second, account, sizeof account), 0);
    assert_string_equal(account, "admin");
    assert_int_equal(q_int(f, "SELECT count(*) FROM accounts"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM api_tokens"), 2);
    store_close(st);
}

static void test_stale_token_file_replaced_on_new_db(void **state)
{
    struct fixture *f = *state;
    char dir[PATH_MAX];
    join(dir, sizeof dir, f->tmp, "var");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(f->data, 0755), 0);
    int fd = open(f->token, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "stale\n", 6), 6);
    close(fd);

    struct store *st = open_ok(f);
    char token[65];
    read_token(f, token);
    struct stat sb;
    assert_int_equal(lstat(f->token, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char account[64];
    assert_int_equal(store_auth_token(st, token, account, sizeof account), 0);
    assert_int_equal(store_auth_token(st, "stale", account, sizeof account), -1);
    store_close(st);
}

/* ---- CDR rows --------------------------------------------------------------------------- */

static void test_begin_end_columns(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct cdr_row r;
    make_row(&r, "c-1");
    snprintf(r.parent_call_id, sizeof r.parent_call_id, "a-leg-7");
    r.vars_json = "{\"lang\":\"zh\"}";
    store_cdr_begin(st, &r);
    store_sync(st);

    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), 1);
    assert_col_text(f, "2026-11-24T06:15:13.123Z", "c-1", "start_time");
    assert_col_null(f, "c-1", "answer_time");
    assert_col_null(f, "c-1", "end_time");
    assert_col_null(f, "c-1", "hangup_cause");
    assert_col_null(f, "c-1", "hangup_by");
    assert_col_null(f, "c-1", "duration_ms");
    assert_col_null(f, "c-1", "billsec");
    assert_col_null(f, "c-1", "account");
    assert_col_null(f, "c-1", "script");
    assert_col_null(f, "c-1", "recording");
    assert_col_int(f, 0, "c-1", "cost_fen");
    assert_col_text(f, "inbound", "c-1", "direction");
    assert_col_text(f, "a-leg-7", "c-1", "parent_call_id");
    assert_col_text(f, "{\"lang\":\"zh\"}", "c-1", "vars");

    /* The final state knows the account and script; its parent field is empty, which must not
     * erase what the begin row stored. */
    r.parent_call_id[0] = '\0';
    snprintf(r.account, sizeof r.account, "acme");
    snprintf(r.script, sizeof r.script, "ivr_demo");
    snprintf(r.gateway, sizeof r.gateway, "gw1");
    snprintf(r.recording, sizeof r.recording, "/var/vcs/recordings/c-1.wav");
    end_row(&r, T0 + 2000, T0 + 2000 + 61500, "normal_clearing", "caller");
    r.vars_json = "{\"lang\":\"zh\",\"menu\":2}";
    store_cdr_end(st, &r);
    store_sync(st);

    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), 1);
    assert_col_text(f, "c-1@sip.example", "c-1", "sip_call_id");
    assert_col_text(f, "a-leg-7", "c-1", "parent_call_id");
    assert_col_text(f, "inbound", "c-1", "direction");
    assert_col_text(f, "acme", "c-1", "account");
    assert_col_text(f, "13800000001", "c-1", "from_number");
    assert_col_text(f, "01012345678", "c-1", "to_number");
    assert_col_text(f, "ivr_demo", "c-1", "script");
    assert_col_text(f, "gw1", "c-1", "gateway");
    assert_col_text(f, "2026-11-24T06:15:13.123Z", "c-1", "start_time");
    assert_col_text(f, "2026-11-24T06:15:15.123Z", "c-1", "answer_time");
    assert_col_text(f, "2026-11-24T06:16:16.623Z", "c-1", "end_time");
    assert_int_equal(col_time(f, "c-1", "end_time"), T0 + 63500);
    assert_col_int(f, 63500, "c-1", "duration_ms");
    assert_col_int(f, 62, "c-1", "billsec");
    assert_col_int(f, 2, "c-1", "bill_minutes");
    assert_col_int(f, 0, "c-1", "cost_fen");
    assert_col_int(f, 200, "c-1", "sip_code");
    assert_col_text(f, "normal_clearing", "c-1", "hangup_cause");
    assert_col_text(f, "caller", "c-1", "hangup_by");
    assert_col_text(f, "/var/vcs/recordings/c-1.wav", "c-1", "recording");
    assert_col_text(f, "{\"lang\":\"zh\",\"menu\":2}", "c-1", "vars");
    assert_int_equal(q_int(f, "SELECT typeof(duration_ms) = 'integer' AND typeof(billsec) ="
                              " 'integer' AND typeof(sip_code) = 'integer' FROM cdr"), 1);
    store_close(st);
}

static void test_end_without_begin_inserts_full_row(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct cdr_row r;
    make_row(&r, "lonely");
    snprintf(r.account, sizeof r.account, "acme");
    snprintf(r.direction, sizeof r.direction, "outbound");
    end_row(&r, 0, T0 + 30000, "no_answer", "system");
    r.sip_code = 408;
    store_cdr_end(st, &r);
    store_sync(st);

    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), 1);
    assert_col_text(f, "lonely@sip.example", "lonely", "sip_call_id");
    assert_col_text(f, "outbound", "lonely", "direction");
    assert_col_text(f, "acme", "lonely", "account");
    assert_col_text(f, "2026-11-24T06:15:13.123Z", "lonely", "start_time");
    assert_col_null(f, "lonely", "answer_time");
    assert_col_text(f, "2026-11-24T06:15:43.123Z", "lonely", "end_time");
    assert_col_int(f, 30000, "lonely", "duration_ms");
    assert_col_int(f, 0, "lonely", "billsec");
    assert_col_int(f, 0, "lonely", "bill_minutes");
    assert_col_int(f, 408, "lonely", "sip_code");
    assert_col_text(f, "no_answer", "lonely", "hangup_cause");
    assert_col_text(f, "system", "lonely", "hangup_by");
    assert_col_text(f, "{}", "lonely", "vars");
    store_close(st);
}

static void test_crash_recovery_closes_open_rows(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    int64_t now = clock_wall_ms();
    struct cdr_row r;

    make_row(&r, "up-unanswered");
    r.start_ms = now - 10000;
    store_cdr_begin(st, &r);

    make_row(&r, "up-answered");
    r.start_ms = now - 10000;
    store_cdr_begin(st, &r);

    /* The wall clock was stepped back after this leg started. */
    make_row(&r, "from-future");
    r.start_ms = now + 3600 * 1000;
    store_cdr_begin(st, &r);

    make_row(&r, "ended");
    r.start_ms = now - 10000;
    store_cdr_begin(st, &r);
    end_row(&r, now - 9000, now - 1000, "normal_clearing", "callee");
    store_cdr_end(st, &r);
    make_row(&r, "answered-after-beat");
    r.start_ms = now - 10000;
    store_cdr_begin(st, &r);
    store_sync(st);
    store_close(st); /* legs still up: as if vcsd died */

    /* The writer recorded that it was alive; make its last heartbeat 3 s before "now", as if
     * vcsd died then and the restart came 3 s later. */
    assert_int_equal(q_int(f, "SELECT count(*) FROM meta WHERE key = 'alive_at'"), 1);
    char beat[ISO8601_LEN];
    iso8601_ms(now - 3000, beat);
    q_exec(f, "UPDATE meta SET value = '%s' WHERE key = 'alive_at'", beat);

    /* Two legs were answered in the meantime (what the call layer would have known), one of
     * them after the last heartbeat. */
    char answer[ISO8601_LEN];
    iso8601_ms(now - 5000, answer);
    q_exec(f, "UPDATE cdr SET answer_time = '%s', sip_code = 200 WHERE call_id = 'up-answered'",
           answer);
    iso8601_ms(now - 1000, answer);
    q_exec(f, "UPDATE cdr SET answer_time = '%s', sip_code = 200"
              " WHERE call_id = 'answered-after-beat'", answer);

    st = open_ok(f);

    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr WHERE end_time IS NULL"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr WHERE hangup_cause = 'system_crash'"
                              " AND hangup_by = 'system'"), 4);

    /* Ended at the last heartbeat, not at the restart: the downtime is not billed. */
    assert_int_equal(col_time(f, "up-unanswered", "end_time"), now - 3000);
    assert_col_int(f, 7000, "up-unanswered", "duration_ms");
    assert_col_int(f, 0, "up-unanswered", "billsec");
    assert_col_int(f, 0, "up-unanswered", "bill_minutes");

    assert_int_equal(col_time(f, "up-answered", "end_time"), now - 3000);
    assert_col_int(f, 2, "up-answered", "billsec");
    assert_col_int(f, 1, "up-answered", "bill_minutes");
    assert_col_int(f, 7000, "up-answered", "duration_ms");

    /* Answered after the last sign of life: ends at its answer, nothing billed. */
    assert_int_equal(col_time(f, "answered-after-beat", "end_time"), now - 1000);
    assert_col_int(f, 0, "answered-after-beat", "billsec");
    assert_col_int(f, 9000, "answered-after-beat", "duration_ms");

    assert_int_equal(col_time(f, "from-future", "end_time"),
                     col_time(f, "from-future", "start_time"));
    assert_col_int(f, 0, "from-future", "duration_ms");

    assert_col_text(f, "normal_clearing", "ended", "hangup_cause");
    assert_col_text(f, "callee", "ended", "hangup_by");
    assert_col_int(f, 9000, "ended", "duration_ms");
    store_close(st);
}

/* A database without a heartbeat (written before there were any): ended at the restart. */
static void test_crash_recovery_without_heartbeat(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct cdr_row r;
    make_row(&r, "up");
    r.start_ms = clock_wall_ms() - 10000;
    store_cdr_begin(st, &r);
    store_sync(st);
    store_close(st);
    q_exec(f, "DELETE FROM meta WHERE key = 'alive_at'");

    int64_t before = clock_wall_ms();
    st = open_ok(f);
    int64_t after = clock_wall_ms();
    int64_t end = col_time(f, "up", "end_time");
    assert_true(end >= before && end <= after);
    assert_col_int(f, end - col_time(f, "up", "start_time"), "up", "duration_ms");
    assert_col_text(f, "system_crash", "up", "hangup_cause");
    store_close(st);
}

/* The writer records "alive at" again and again while it runs, with the wall clock. */
static void test_heartbeat_advances(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    int64_t first = 0, later = 0;
    for (int i = 0; i < 200 && first == 0; i++) {
        if (q_int(f, "SELECT count(*) FROM meta WHERE key = 'alive_at'") == 1) {
            char *v = q_text(f, "SELECT value FROM meta WHERE key = 'alive_at'");
            first = parse_iso(v);
            free(v);
        } else {
            usleep(50 * 1000);
        }
    }
    assert_true(first > 0);
    for (int i = 0; i < 200 && later <= first; i++) { /* up to 10 s: a few periods */
        usleep(50 * 1000);
        char *v = q_text(f, "SELECT value FROM meta WHERE key = 'alive_at'");
        later = parse_iso(v);
        free(v);
    }
    assert_true(later > first);
    assert_true(later <= clock_wall_ms());
    store_close(st);
}

static void test_billsec_rounding(void **state)
{
    struct fixture *f = *state;
    struct cdr_row r;
    make_row(&r, "x");
    assert_int_equal(cdr_billsec(&r), 0); /* neither answered nor ended */
    r.answer_ms = T0;
    assert_int_equal(cdr_billsec(&r), 0); /* answered, still up */
    r.end_ms = T0;
    assert_int_equal(cdr_billsec(&r), 0);
    r.end_ms = T0 + 1;
    assert_int_equal(cdr_billsec(&r), 1);
    assert_int_equal(cdr_bill_minutes(&r), 1);
    r.end_ms = T0 + 1000;
    assert_int_equal(cdr_billsec(&r), 1);
    r.end_ms = T0 + 1001;
    assert_int_equal(cdr_billsec(&r), 2);
    r.end_ms = T0 + 60000;
    assert_int_equal(cdr_billsec(&r), 60);
    assert_int_equal(cdr_bill_minutes(&r), 1);
    r.end_ms = T0 + 60001;
    assert_int_equal(cdr_billsec(&r), 61);
    assert_int_equal(cdr_bill_minutes(&r), 2);
    r.end_ms = T0 - 5; /* clock stepped back */
    assert_int_equal(cdr_billsec(&r), 0);
    r.answer_ms = 0;
    r.end_ms = T0 + 60001;
    assert_int_equal(cdr_billsec(&r), 0);
    assert_int_equal(cdr_bill_minutes(&r), 0);

    /* The same through the store. */
    struct store *st = open_ok(f);
    static const struct {
        const char *id;
        int64_t answered_ms; /* -1: never answered */
        int64_t billsec, minutes;
    } cases[] = {
        { "b-1ms", 1, 1, 1 },
        { "b-60s", 60000, 60, 1 },
        { "b-60.001s", 60001, 61, 2 },
        { "b-unanswered", -1, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_row(&r, cases[i].id);
        store_cdr_begin(st, &r);
        if (cases[i].answered_ms < 0)
            end_row(&r, 0, T0 + 5000, "no_answer", "system");
        else
            end_row(&r, T0 + 3000, T0 + 3000 + cases[i].answered_ms, "normal_clearing",
                    "callee");
        store_cdr_end(st, &r);
    }
    store_sync(st);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_col_int(f, cases[i].billsec, cases[i].id, "billsec");
        assert_col_int(f, cases[i].minutes, cases[i].id, "bill_minutes");
    }
    store_close(st);
}

static void test_vars_json(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct cdr_row r;
    const char *json = "{\"k\":\"v\",\"n\":[1,2],\"u\":\"\xe4\xbd\xa0\xe5\xa5\xbd\"}";

    make_row(&r, "with-vars");
    r.vars_json = strdup(json);
    assert_non_null(r.vars_json);
    store_cdr_begin(st, &r);
    /* The store copied the text: the caller may reuse its buffer at once. */
    memset(r.vars_json, 'X', strlen(r.vars_json));
    free(r.vars_json);

    make_row(&r, "no-vars");
    store_cdr_begin(st, &r);
    end_row(&r, 0, T0 + 100, "cancelled", "caller");
    store_cdr_end(st, &r);
    store_sync(st);

    assert_col_text(f, json, "with-vars", "vars");
    assert_col_text(f, "{}", "no-vars", "vars");
    assert_int_equal(q_int(f, "SELECT json_extract(vars, '$.n[1]') FROM cdr"
                              " WHERE call_id = 'with-vars'"), 2);
    store_close(st);
}

#define PRODUCERS 2
#define ROWS_PER_PRODUCER 5000

struct producer {
    struct store *st;
    int index;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct cdr_row r;
    for (int i = 0; i < ROWS_PER_PRODUCER; i++) {
        char id[48];
        snprintf(id, sizeof id, "p%d-%d", p->index, i);
        make_row(&r, id);
        r.start_ms = T0 + i;
        store_cdr_begin(p->st, &r);
        end_row(&r, T0 + i + 10, T0 + i + 1010, "normal_clearing", "caller");
        store_cdr_end(p->st, &r);
    }
    return NULL;
}

static void test_many_rows_all_land(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    pthread_t threads[PRODUCERS];
    struct producer producers[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++) {
        producers[i] = (struct producer){ .st = st, .index = i };
        assert_int_equal(pthread_create(&threads[i], NULL, produce, &producers[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(threads[i], NULL);
    store_sync(st);

    int64_t total = PRODUCERS * ROWS_PER_PRODUCER;
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), total);
    assert_int_equal(q_int(f, "SELECT count(DISTINCT call_id) FROM cdr"), total);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr WHERE end_time IS NOT NULL"
                              " AND billsec = 1 AND duration_ms = 1010"), total);

    /* store_close flushes what is still queued, without a sync. */
    struct cdr_row r;
    for (int i = 0; i < 1000; i++) {
        char id[48];
        snprintf(id, sizeof id, "late-%d", i);
        make_row(&r, id);
        store_cdr_begin(st, &r);
    }
    assert_int_equal(store_close(st), 0);
    st = open_ok(f);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), total + 1000);
    store_close(st);
}

/* ---- schema and numbers ----------------------------------------------------------------- */

static void test_schema_version(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    assert_int_equal(q_int(f, "PRAGMA user_version"), 8);
    char *mode = q_text(f, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name"
                              " IN ('cdr', 'accounts', 'api_tokens', 'numbers', 'meta')"), 5);
    char *cols = q_text(f, "SELECT group_concat(name, ',') FROM"
                           " (SELECT name FROM pragma_table_info('cdr') ORDER BY cid)");
    assert_string_equal(cols, "id,call_id,sip_call_id,parent_call_id,direction,account,"
                              "from_number,to_number,script,gateway,start_time,answer_time,"
                              "end_time,duration_ms,billsec,bill_minutes,cost_fen,sip_code,"
                              "hangup_cause,hangup_by,recording,vars,trunk,campaign_id");
    free(cols);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                              " tbl_name = 'cdr' AND sql LIKE '%%(start_time)%%'"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                              " tbl_name = 'cdr' AND sql LIKE '%%(account, id)%%'"), 1);
    store_close(st);

    /* Reopening an up-to-date database migrates nothing and keeps the version. */
    st = open_ok(f);
    assert_int_equal(q_int(f, "PRAGMA user_version"), 8);
    assert_int_equal(q_int(f, "SELECT count(*) FROM meta WHERE key = 'created_at'"), 1);
    store_close(st);
}

static void test_active_numbers(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct number_record sentinel;
    struct number_record *recs = &sentinel; /* must be reset */
    size_t n = 99;
    assert_int_equal(store_active_numbers(st, &recs, &n), 0);
    assert_null(recs);
    assert_int_equal(n, 0);
    assert_int_equal(store_active_numbers(st, NULL, &n), -1);
    assert_int_equal(store_active_numbers(st, &recs, NULL), -1);
    long long rev = store_numbers_rev(st);
    assert_true(rev >= 0);

    q_exec(f,
           "INSERT INTO numbers(number, account, region, type, state, script, max_concurrent)"
           " VALUES"
           " ('+8610000001', 'acme', 'beijing', 'fixed', 'active', 'ivr_demo', 5),"
           " ('+8613800000002', 'acme', 'shanghai', 'mobile', 'active', 'sales', NULL),"
           " ('+8610000003', 'acme', 'beijing', 'fixed', 'active', NULL, 10),"
           " ('+8610000004', 'acme', 'beijing', 'fixed', 'active', '', 10),"
           " ('+8610000005', 'acme', 'beijing', 'fixed', 'available', 'ivr_demo', 10),"
           " ('+8610000006', 'acme', 'beijing', 'fixed', 'released', 'ivr_demo', 10),"
           " ('+8610000007', 'acme', 'beijing', 'fixed', 'ordered', 'ivr_demo', 10),"
           " ('+8610000008', 'beta', 'guangzhou', 'fixed', 'active', 'queue', NULL),"
           /* Suspended (rent unpaid): routed, so that billing refuses its calls with 403. */
           " ('+8610000009', 'beta', 'guangzhou', 'fixed', 'suspended', 'queue', NULL)");

    assert_int_equal(store_numbers_rev(st), rev + 9); /* one per row written */
    assert_int_equal(store_active_numbers(st, &recs, &n), 0);
    assert_int_equal(n, 6); /* every active or suspended number, bound or not */
    assert_non_null(recs);
    assert_string_equal(recs[0].number, "+8610000001");
    assert_string_equal(recs[0].account, "acme");
    assert_string_equal(recs[0].region, "beijing");
    assert_string_equal(recs[0].type, "fixed");
    assert_string_equal(recs[0].state, "active");
    assert_string_equal(recs[0].script, "ivr_demo");
    assert_int_equal(recs[0].max_concurrent, 5);
    assert_string_equal(recs[1].number, "+8610000003");
    assert_string_equal(recs[1].script, "");
    assert_string_equal(recs[2].number, "+8610000004");
    assert_string_equal(recs[3].number, "+8610000008");
    assert_string_equal(recs[3].account, "beta");
    assert_string_equal(recs[3].script, "queue");
    assert_int_equal(recs[3].max_concurrent, 10); /* fixed default */
    assert_string_equal(recs[4].number, "+8610000009");
    assert_string_equal(recs[4].state, "suspended");
    assert_string_equal(recs[5].number, "+8613800000002");
    assert_string_equal(recs[5].type, "mobile");
    assert_string_equal(recs[5].script, "sales");
    assert_int_equal(recs[5].max_concurrent, 3); /* mobile default */
    free(recs);
    q_exec(f, "UPDATE numbers SET trunk = 'pbx' WHERE number = '+8610000003'");
    q_exec(f, "DELETE FROM numbers WHERE number = '+8610000004'");
    assert_int_equal(store_numbers_rev(st), rev + 11);

    /* The schema refuses values outside the model. */
    sqlite3 *db = db_open(f);
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO numbers(number, type, state)"
                                          " VALUES ('+1', 'satellite', 'active')",
                                      NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO numbers(number, type, state)"
                                          " VALUES ('+2', 'fixed', 'stolen')",
                                      NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store_close(st);
}

/* ---- bad input -------------------------------------------------------------------------- */

/* A second store on the same data directory (what a second vcsd would open) is refused before
 * it touches anything: the first one's live leg stays open instead of being closed as crashed. */
static void test_second_open_refused(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct cdr_row r;
    make_row(&r, "live");
    store_cdr_begin(st, &r);
    assert_int_equal(store_sync(st), 0);

    f->err[0] = '\0';
    assert_null(store_open(f->data, f->err, sizeof f->err));
    assert_non_null(strstr(f->err, "in use by another vcsd"));
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld ", (long)getpid());
    assert_non_null(strstr(f->err, pid));
    assert_col_null(f, "live", "end_time");

    /* The first one still writes; once it is closed the directory is free again. */
    end_row(&r, T0 + 1000, T0 + 3000, "normal_clearing", "caller");
    store_cdr_end(st, &r);
    assert_int_equal(store_sync(st), 0);
    store_close(st);
    st = open_ok(f);
    assert_col_text(f, "normal_clearing", "live", "hangup_cause");
    store_close(st);
}

/* Fills the file system of path with a file until it is full; returns the file's path. */
static void fill_disk(const char *dir, char *filler, size_t len)
{
    join(filler, len, dir, "filler");
    int fd = open(filler, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static char block[4096];
    ssize_t w;
    while ((w = write(fd, block, sizeof block)) > 0)
        ;
    assert_int_equal(errno, ENOSPC);
    close(fd);
}

#define FULL_ROWS 300

/* Queues FULL_ROWS legs PREFIX-<i> with vars, begun and (with ended) ended. */
static void queue_rows(struct store *st, const char *prefix, char *vars, bool ended)
{
    struct cdr_row r;
    for (int i = 0; i < FULL_ROWS; i++) {
        char id[48];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        make_row(&r, id);
        r.vars_json = vars;
        store_cdr_begin(st, &r);
        if (ended) {
            end_row(&r, T0 + 10, T0 + 1010, "normal_clearing", "caller");
            store_cdr_end(st, &r);
        }
    }
}

/* A disk that fills up: the writes fail, are counted and kept; once there is room again every
 * row lands. At close, a disk that stays full makes store_close give up after its bounded wait
 * (and log what it could not write) instead of hanging. Needs a small tmpfs, so root. */
static void test_disk_full_keeps_rows(void **state)
{
    struct fixture *f = *state;
    join(f->mnt, sizeof f->mnt, f->tmp, "small");
    assert_int_equal(mkdir(f->mnt, 0700), 0);
    if (mount("tmpfs", f->mnt, "tmpfs", 0, "size=2m") != 0) {
        f->mnt[0] = '\0';
        print_message("no tmpfs (%s): the disk-full test needs root\n", strerror(errno));
        skip();
    }
    join(f->data, sizeof f->data, f->mnt, "data");
    struct store *st = open_ok(f);
    char filler[PATH_MAX];
    fill_disk(f->mnt, filler, sizeof filler);

    /* About 1 MB of rows: far more than any free space the WAL may still have. */
    static char vars[3000];
    memset(vars, 0, sizeof vars);
    strcpy(vars, "{\"pad\":\"");
    memset(vars + strlen(vars), 'x', 2048);
    strcat(vars, "\"}");
    queue_rows(st, "full", vars, true);
    assert_int_equal(store_sync(st), -1);
    struct store_stats ss;
    store_get_stats(st, &ss);
    assert_true(ss.write_errors >= 1);
    assert_int_equal(ss.cdr_pending, 2 * FULL_ROWS);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), 0);

    /* Room again: the retries (backoff at most 2 s) write everything. */
    assert_int_equal(unlink(filler), 0);
    int rc = -1;
    for (int i = 0; i < 20 && rc != 0; i++)
        rc = store_sync(st);
    assert_int_equal(rc, 0);
    store_get_stats(st, &ss);
    assert_int_equal(ss.cdr_pending, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr WHERE call_id LIKE 'full-%%'"
                              " AND end_time IS NOT NULL AND billsec = 1"
                              " AND length(vars) > 2048"), FULL_ROWS);

    /* Full again at shutdown: store_close returns after its bounded wait. */
    fill_disk(f->mnt, filler, sizeof filler);
    queue_rows(st, "late", vars, false);
    assert_int_equal(store_close(st), FULL_ROWS);
    assert_int_equal(unlink(filler), 0);
    st = open_ok(f);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr WHERE call_id LIKE 'late-%%'"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), FULL_ROWS);
    store_close(st);
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    f->err[0] = '\0';
    assert_null(store_open(NULL, f->err, sizeof f->err));
    assert_true(strlen(f->err) > 0);
    assert_null(store_open("", f->err, sizeof f->err));
    assert_null(store_open(NULL, NULL, 0));

    /* The data directory is a regular file. */
    char file[PATH_MAX];
    join(file, sizeof file, f->tmp, "plain");
    int fd = open(file, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    assert_null(store_open(file, f->err, sizeof f->err));
    assert_non_null(strstr(f->err, "plain"));

    /* vcs.db is not a database. */
    char dir[PATH_MAX], db[PATH_MAX];
    join(dir, sizeof dir, f->tmp, "var");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(mkdir(f->data, 0750), 0);
    join(db, sizeof db, f->data, "vcs.db");
    FILE *fp = fopen(db, "w");
    assert_non_null(fp);
    for (int i = 0; i < 512; i++)
        fputs("this is not a database ", fp);
    fclose(fp);
    assert_null(store_open(f->data, f->err, sizeof f->err));
    assert_non_null(strstr(f->err, "not a database"));

    /* A database from a newer vcsd. */
    assert_int_equal(unlink(db), 0);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_null(store_open(f->data, f->err, sizeof f->err));
    assert_non_null(strstr(f->err, "schema version 99"));
}

static void test_bad_rows(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct cdr_row r;

    make_row(&r, "");
    store_cdr_begin(st, &r); /* no call_id: refused */
    store_cdr_end(st, &r);
    store_cdr_begin(st, NULL);
    store_cdr_end(NULL, &r);
    store_sync(NULL);

    /* Unterminated fixed-size fields are cut at their size, never read past. */
    make_row(&r, "");
    memset(r.call_id, 'c', sizeof r.call_id);
    memset(r.sip_call_id, 's', sizeof r.sip_call_id);
    memset(r.hangup_cause, 'h', sizeof r.hangup_cause);
    r.start_ms = INT64_MAX; /* beyond year 9999: no timestamp rather than garbage */
    store_cdr_begin(st, &r);
    store_sync(st);

    assert_int_equal(q_int(f, "SELECT count(*) FROM cdr"), 1);
    assert_int_equal(q_int(f, "SELECT length(call_id) FROM cdr"), sizeof r.call_id);
    assert_int_equal(q_int(f, "SELECT length(sip_call_id) FROM cdr"), sizeof r.sip_call_id);
    assert_int_equal(q_int(f, "SELECT length(hangup_cause) FROM cdr"), sizeof r.hangup_cause);
    assert_int_equal(q_int(f, "SELECT start_time IS NULL FROM cdr"), 1);

    /* A second begin for the same leg is refused by the UNIQUE call_id and logged; the row
     * written first stays. */
    make_row(&r, "dup");
    store_cdr_begin(st, &r);
    snprintf(r.from_number, sizeof r.from_number, "other");
    store_cdr_begin(st, &r);
    store_sync(st);
    assert_col_text(f, "13800000001", "dup", "from_number");
    store_close(st);
}

/* Another connection writing (a long import): it holds the write lock. */
struct writer {
    sqlite3 *db;
    int waits;
};

/* The busy handler of the API's connection: its first wait ends in SQLITE_BUSY, as when the
 * busy timeout has passed; at the next one the other writer commits. */
static int busy_until_retried(void *arg, int count)
{
    (void)count;
    struct writer *w = arg;
    if (w->waits++ == 0)
        return 0;
    if (!sqlite3_get_autocommit(w->db))
        assert_int_equal(sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    return 1;
}

static void test_records_kept_when_busy(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct iam_store *iam = iam_store_open(f->data, f->err, sizeof f->err);
    assert_non_null(iam);
    struct writer w = { .db = db_open(f) };
    sqlite3_busy_handler(iam_store_db(iam), busy_until_retried, &w);
    assert_int_equal(sqlite3_exec(w.db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    char hash[65];
    memset(hash, 'a', 64);
    hash[64] = '\0';
    iam_idem_put(iam, "admin", "key-1", hash, 201, "{\"amount_fen\":100}");
    assert_int_equal(w.waits, 2);
    char got[65];
    int status = 0;
    char *response = NULL;
    assert_int_equal(iam_idem_get(iam, "admin", "key-1", got, &status, &response), IAM_OK);
    assert_int_equal(status, 201);
    assert_string_equal(got, hash);
    free(response);

    w.waits = 0;
    assert_int_equal(sqlite3_exec(w.db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct iam_audit_entry e = { .account = "admin", .user = "admin", .action = "recharge",
                                 .resource = "accounts/admin", .method = "POST",
                                 .path = "/v1/accounts/admin/recharges", .allowed = 1,
                                 .status = 201 };
    iam_audit_add(iam, &e);
    assert_int_equal(w.waits, 2);
    assert_int_equal(q_int(f, "SELECT count(*) FROM audit WHERE action = 'recharge'"), 1);
    sqlite3_close(w.db);
    iam_store_close(iam);
    store_close(st);
}

int main(void)
{
    umask(022);
    log_threshold = LOG_ERROR; /* the expected warnings would only clutter the test output */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_db_and_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_token_file_gets_new_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_token_file_replaced_on_new_db, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_begin_end_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_without_begin_inserts_full_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_recovery_closes_open_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_recovery_without_heartbeat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_advances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_billsec_rounding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vars_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rows_all_land, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_active_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_keeps_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_kept_when_busy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
