/* db_open on real files: a writable connection is in WAL mode with synchronous = NORMAL (1) and
 * the busy timeout given; a read-only one opens the same file with NORMAL too; a database that
 * cannot be WAL (in memory) and a missing file without SQLITE_OPEN_CREATE are refused with
 * the module and the path in the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/db_open.h"

static int64_t pragma(sqlite3 *db, const char *sql, char *text, size_t len)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    if (text)
        snprintf(text, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

static void test_wal_normal(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    char dir[256], path[300], err[512] = "";
    snprintf(dir, sizeof dir, "%s/vcs-dbopen-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/vcs.db", dir);

    sqlite3 *rw = db_open("test", path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1234, err,
                          sizeof err);
    assert_non_null(rw);
    char mode[16];
    pragma(rw, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(pragma(rw, "PRAGMA synchronous", NULL, 0), 1);
    assert_int_equal(pragma(rw, "PRAGMA busy_timeout", NULL, 0), 1234);
    assert_int_equal(sqlite3_exec(rw, "CREATE TABLE t(x); INSERT INTO t VALUES (7)", NULL, NULL,
                                  NULL), SQLITE_OK);

    sqlite3 *ro = db_open("test", path, SQLITE_OPEN_READONLY, 500, err, sizeof err);
    assert_non_null(ro);
    assert_int_equal(pragma(ro, "PRAGMA synchronous", NULL, 0), 1);
    assert_int_equal(pragma(ro, "SELECT x FROM t", NULL, 0), 7);
    sqlite3_close(ro);
    sqlite3_close(rw);

    char wal[320], shm[320];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
}

static void test_refused(void **state)
{
    (void)state;
    char err[512] = "";
    assert_null(db_open("mod", ":memory:", SQLITE_OPEN_READWRITE, 100, err, sizeof err));
    assert_non_null(strstr(err, "mod: :memory:: WAL journal mode refused"));
    assert_null(db_open("mod", "/nonexistent-dir/vcs.db", SQLITE_OPEN_READWRITE, 100, err,
                        sizeof err));
    assert_non_null(strstr(err, "mod: /nonexistent-dir/vcs.db: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wal_normal),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
