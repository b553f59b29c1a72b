/* Numbers and orders (see inventory.h). */
#include "store/inventory.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/bclock.h"
#include "core/clock.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "store/csv_lines.h"
#include "store/mgmt_sql.h"

#define MAX_ORDER_NUMBERS 1000
#define MAX_CONCURRENT_LIMIT 10000

static const char number_columns[] =
    "SELECT number, account, region, type, state, script, trunk,"
    " COALESCE(max_concurrent, CASE type WHEN 'mobile' THEN 3 ELSE 10 END) AS max_concurrent,"
    " issued_at, order_id, release_at FROM numbers";

bool inv_number_valid(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 7 || len > 16 || n[0] != '+' || n[1] == '0')
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!isdigit((unsigned char)n[i]))
            return false;
    }
    return true;
}

bool inv_region_valid(const char *r)
{
    size_t len = strlen(r);
    if (len == 0 || len > 32)
        return false;
    for (; *r; r++) {
        if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '_' && *r != '-')
            return false;
    }
    return true;
}

/* ---- import ----------------------------------------------------------------------------- */

/* Checks one line: NULL when it is good (fields in f), else the message. */
static const char *check_line(char **f, size_t n, int64_t *maxc)
{
    if (n != 3 && n != 4)
        return "expected number,region,type,max_concurrent";
    if (!inv_number_valid(f[0]))
        return "number must be E.164: + and 6 to 15 digits";
    if (!inv_region_valid(f[1]))
        return "region must be 1 to 32 of [a-z0-9_-]";
    if (strcmp(f[2], "fixed") != 0 && strcmp(f[2], "mobile") != 0)
        return "type must be fixed or mobile";
    *maxc = -1;
    if (n == 4 && f[3][0]) {
        char *end;
        errno = 0;
        long long v = strtoll(f[3], &end, 10);
        if (*end || errno || v < 0 || v > MAX_CONCURRENT_LIMIT)
            return "max_concurrent must be an integer from 0 to 10000, or empty";
        *maxc = v;
    }
    return NULL;
}

/* One line of a numbers import into the prepared INSERT. */
static int import_line(sqlite3_stmt *ins, char **f, size_t n, const char **msg)
{
    int64_t maxc;
    if ((*msg = check_line(f, n, &maxc)))
        return 1;
    const char *v[] = { f[0], f[1], f[2] };
    msql_bind_texts(ins, v, 3);
    if (maxc >= 0)
        sqlite3_bind_int64(ins, 4, maxc);
    else
        sqlite3_bind_null(ins, 4);
    int r = sqlite3_step(ins);
    if ((r & 0xff) == SQLITE_CONSTRAINT)
        *msg = "the number exists already";
    return r == SQLITE_DONE ? 0 : (r & 0xff) == SQLITE_CONSTRAINT ? 1 : -1;
}

enum iam_rc inv_import(sqlite3 *db, const char *csv, size_t len, json_t **out)
{
    return csv_import(db, "INSERT INTO numbers(number, region, type, max_concurrent, state)"
                          " VALUES (?1, ?2, ?3, ?4, 'available')",
                      csv, len, "number", 4, import_line, out);
}

/* ---- numbers ---------------------------------------------------------------------------- */

enum iam_rc inv_numbers_list(sqlite3 *db, const char *account, const struct inv_search *q,
                             const char *after, int limit, json_t **out)
{
    char sql[768];
    snprintf(sql, sizeof sql,
             "%s WHERE (?1 IS NULL OR account = ?1) AND (?2 = 0 OR state = 'available')"
             " AND (?3 IS NULL OR region = ?3) AND (?4 IS NULL OR type = ?4) AND number > ?5"
             " ORDER BY number LIMIT ?6", number_columns);
    sqlite3_stmt *st = msql_prep(db, sql);
    if (st) {
        /* The inventory is everyone's to search; otherwise one's own numbers. */
        const char *v[] = { q->available ? NULL : account };
        msql_bind_texts(st, v, 1);
        sqlite3_bind_int(st, 2, q->available);
        const char *w[] = { q->region, q->type, after ? after : "" };
        for (int i = 0; i < 3; i++) {
            if (w[i])
                sqlite3_bind_text(st, 3 + i, w[i], -1, SQLITE_TRANSIENT);
        }
    }
    return msql_page(db, st, 6, limit, "number", out);
}

static enum iam_rc one_row(sqlite3 *db, sqlite3_stmt *st, json_t **out)
{
    *out = NULL;
    if (!st)
        return IAM_FAIL;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *out = msql_row_json(st);
    sqlite3_finalize(st);
    if (r == SQLITE_ROW)
        return *out ? IAM_OK : IAM_FAIL;
    if (r != SQLITE_DONE)
        log_error("inventory: %s", sqlite3_errmsg(db));
    return r == SQLITE_DONE ? IAM_NOT_FOUND : IAM_FAIL;
}

enum iam_rc inv_number_get(sqlite3 *db, const char *account, const char *number, json_t **out)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s WHERE number = ?2 AND account IS NOT NULL"
                              " AND (?1 IS NULL OR account = ?1)", number_columns);
    sqlite3_stmt *st = msql_prep(db, sql);
    const char *v[] = { account, number };
    if (st)
        msql_bind_texts(st, v, 2);
    return one_row(db, st, out);
}

/* The state of a number the caller owns: 0, or -1 (not found) */
static int owned_state(sqlite3 *db, const char *account, const char *number, char *state,
                       size_t statelen)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT state FROM numbers WHERE number = ?2"
                                     " AND account IS NOT NULL AND (?1 IS NULL OR account = ?1)");
    if (!st)
        return -1;
    const char *v[] = { account, number };
    msql_bind_texts(st, v, 2);
    int rc = sqlite3_step(st) == SQLITE_ROW && msql_copy_text(st, 0, state, statelen) == 0 ? 0
                                                                                          : -1;
    sqlite3_finalize(st);
    return rc;
}

enum iam_rc inv_number_update(sqlite3 *db, const char *account, const char *number,
                              const struct inv_update *u, char *msg, size_t msglen)
{
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    char state[16];
    enum iam_rc rc = IAM_OK;
    if (owned_state(db, account, number, state, sizeof state) != 0) {
        rc = IAM_NOT_FOUND;
    } else if (strcmp(state, "active") != 0) {
        set_err(msg, msglen, "number %s is %s: only an active number can be changed", number,
                state);
        rc = IAM_IN_USE;
    } else {
        sqlite3_stmt *st = msql_prep(db, "UPDATE numbers SET"
                                         " script = CASE WHEN ?2 IS NULL THEN script"
                                         "  ELSE NULLIF(?2, '') END,"
                                         " trunk = CASE WHEN ?3 IS NULL THEN trunk"
                                         "  ELSE NULLIF(?3, '') END,"
                                         " max_concurrent = CASE WHEN ?4 < 0 THEN max_concurrent"
                                         "  ELSE ?4 END WHERE number = ?1");
        const char *v[] = { number, u->script, u->trunk };
        if (st) {
            msql_bind_texts(st, v, 3);
            sqlite3_bind_int64(st, 4, u->max_concurrent);
        }
        if (!st || sqlite3_step(st) != SQLITE_DONE)
            rc = IAM_FAIL;
        sqlite3_finalize(st);
    }
    return msql_commit(db, rc);
}

/* ---- orders ----------------------------------------------------------------------------- */

static enum iam_rc order_get(sqlite3 *db, int64_t id, json_t **out)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT id, account, state, numbers, reason, created_at,"
                                     " decided_at FROM orders WHERE id = ?1");
    if (st)
        sqlite3_bind_int64(st, 1, id);
    return one_row(db, st, out);
}

/* The numbers an order takes, checked available; IAM_IN_USE with msg otherwise. */
static enum iam_rc pick_numbers(sqlite3 *db, json_t *numbers, const char *region,
                                const char *type, int64_t count, json_t *picked, char *msg,
                                size_t msglen)
{
    if (numbers) {
        size_t i;
        json_t *n;
        json_array_foreach(numbers, i, n) {
            const char *v[] = { json_string_value(n) };
            sqlite3_stmt *st = msql_prep(db, "SELECT state FROM numbers WHERE number = ?1");
            char state[16] = "";
            if (!st)
                return IAM_FAIL;
            msql_bind_texts(st, v, 1);
            int found = sqlite3_step(st) == SQLITE_ROW &&
                        msql_copy_text(st, 0, state, sizeof state) == 0;
            sqlite3_finalize(st);
            if (!found) {
                set_err(msg, msglen, "number %s is not in the inventory", v[0]);
                return IAM_NOT_FOUND;
            }
            if (strcmp(state, "available") != 0) {
                set_err(msg, msglen, "number %s cannot move from %s to ordered", v[0], state);
                return IAM_IN_USE;
            }
            json_array_append(picked, n);
        }
        return IAM_OK;
    }
    sqlite3_stmt *st = msql_prep(db, "SELECT number FROM numbers WHERE state = 'available'"
                                     " AND region = ?1 AND type = ?2 ORDER BY number LIMIT ?3");
    if (!st)
        return IAM_FAIL;
    const char *v[] = { region, type };
    msql_bind_texts(st, v, 2);
    sqlite3_bind_int64(st, 3, count);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(picked, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    if ((int64_t)json_array_size(picked) < count) {
        set_err(msg, msglen, "only %zu %s numbers available in %s, %lld ordered",
                json_array_size(picked), type, region, (long long)count);
        return IAM_IN_USE;
    }
    return IAM_OK;
}

enum iam_rc inv_order_create(sqlite3 *db, const char *account, json_t *numbers,
                             const char *region, const char *type, int64_t count, json_t **out,
                             char *msg, size_t msglen)
{
    *out = NULL;
    json_t *picked = json_array();
    if (!picked || msql_begin(db) != 0) {
        json_decref(picked);
        return IAM_FAIL;
    }
    enum iam_rc rc = pick_numbers(db, numbers, region, type, count, picked, msg, msglen);
    char *list = rc == IAM_OK ? json_dumps(picked, JSON_COMPACT) : NULL;
    char now[ISO8601_LEN];
    iso8601_ms(clock_wall_ms(), now);
    const char *v[] = { account, list, now };
    if (rc == IAM_OK && (!list || msql_run(db, "INSERT INTO orders(account, state, numbers,"
                                               " created_at) VALUES (?1, 'pending', ?2, ?3)",
                                           v, 3) != SQLITE_DONE))
        rc = IAM_FAIL;
    int64_t id = sqlite3_last_insert_rowid(db);
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    size_t i;
    json_t *n;
    json_array_foreach(picked, i, n) {
        const char *w[] = { json_string_value(n), account, ids };
        if (rc == IAM_OK &&
            (msql_run(db, "UPDATE numbers SET state = 'ordered', account = ?2,"
                          " order_id = CAST(?3 AS INTEGER) WHERE number = ?1"
                          " AND state = 'available'", w, 3) != SQLITE_DONE ||
             sqlite3_changes(db) != 1))
            rc = IAM_FAIL;
    }
    free(list);
    json_decref(picked);
    rc = msql_commit(db, rc);
    return rc == IAM_OK ? order_get(db, id, out) : rc;
}

enum iam_rc inv_order_list(sqlite3 *db, const char *account, const char *after, int limit,
                           json_t **out)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT id, account, state, numbers, reason, created_at,"
                                     " decided_at FROM orders"
                                     " WHERE (?1 IS NULL OR account = ?1) AND id > ?2"
                                     " ORDER BY id LIMIT ?3");
    if (st) {
        const char *v[] = { account };
        msql_bind_texts(st, v, 1);
        sqlite3_bind_int64(st, 2, after ? strtoll(after, NULL, 10) : 0);
    }
    return msql_page(db, st, 3, limit, "id", out);
}

enum iam_rc inv_order_decide(sqlite3 *db, const char *id, bool approve, const char *reason,
                             json_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    char *end;
    errno = 0;
    long long oid = strtoll(id, &end, 10);
    if (!*id || *end || errno || oid <= 0)
        return IAM_NOT_FOUND;
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    const char *to = approve ? "approved" : "rejected";
    char state[16] = "";
    sqlite3_stmt *st = msql_prep(db, "SELECT state FROM orders WHERE id = ?1");
    enum iam_rc rc = st ? IAM_OK : IAM_FAIL;
    if (st) {
        sqlite3_bind_int64(st, 1, oid);
        if (sqlite3_step(st) != SQLITE_ROW || msql_copy_text(st, 0, state, sizeof state) != 0)
            rc = IAM_NOT_FOUND;
        sqlite3_finalize(st);
    }
    if (rc == IAM_OK && strcmp(state, "pending") != 0) {
        set_err(msg, msglen, "order %lld cannot move from %s to %s", oid, state, to);
        rc = IAM_IN_USE;
    }
    char now[ISO8601_LEN], ids[32];
    iso8601_ms(bclock_now_ms(), now); /* the day rent is first charged */
    snprintf(ids, sizeof ids, "%lld", oid);
    const char *v[] = { ids, to, reason, now };
    if (rc == IAM_OK &&
        msql_run(db, "UPDATE orders SET state = ?2, reason = ?3, decided_at = ?4"
                     " WHERE id = CAST(?1 AS INTEGER)", v, 4) != SQLITE_DONE)
        rc = IAM_FAIL;
    const char *sql = approve
                          ? "UPDATE numbers SET state = 'active', issued_at = ?4"
                            " WHERE order_id = CAST(?1 AS INTEGER) AND state = 'ordered'"
                          : "UPDATE numbers SET state = 'available', account = NULL,"
                            " order_id = NULL WHERE order_id = CAST(?1 AS INTEGER)"
                            " AND state = 'ordered'";
    if (rc == IAM_OK && msql_run(db, sql, v, 4) != SQLITE_DONE)
        rc = IAM_FAIL;
    rc = msql_commit(db, rc);
    return rc == IAM_OK ? order_get(db, oid, out) : rc;
}
