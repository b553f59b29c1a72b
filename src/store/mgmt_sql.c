/* Small SQLite helpers for the API's own connection (see mgmt_sql.h). */
#include "store/mgmt_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

sqlite3_stmt *msql_prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("iam: preparing \"%.60s\": %s", sql, sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

void msql_bind_texts(sqlite3_stmt *st, const char *const *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (v[i])
            sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, i + 1);
    }
}

/* Runs a write with text parameters: SQLITE_DONE, SQLITE_CONSTRAINT or another code. */
int msql_run(sqlite3 *db, const char *sql, const char *const *v, int n)
{
    sqlite3_stmt *st = msql_prep(db, sql);
    if (!st)
        return SQLITE_ERROR;
    msql_bind_texts(st, v, n);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && (rc & 0xff) != SQLITE_CONSTRAINT)
        log_error("iam: \"%.60s\": %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? rc : (rc & 0xff);
}

/* The first column of the first row as an integer, -1 on failure. */
int64_t msql_count(sqlite3 *db, const char *sql, const char *const *v, int n)
{
    sqlite3_stmt *st = msql_prep(db, sql);
    if (!st)
        return -1;
    msql_bind_texts(st, v, n);
    int64_t r = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return r;
}

int msql_begin(sqlite3 *db)
{
    return sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

enum iam_rc msql_commit(sqlite3 *db, enum iam_rc rc)
{
    if (rc == IAM_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_error("iam: COMMIT: %s", sqlite3_errmsg(db));
        rc = IAM_FAIL;
    }
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int is_flag_column(const char *name)
{
    return strcmp(name, "allowed") == 0 || strcmp(name, "main") == 0 ||
           strcmp(name, "system") == 0;
}

/* One row as an object keyed by the column names the query chose. */
static int is_json_column(const char *name)
{
    return strcmp(name, "statements") == 0 || strcmp(name, "policies") == 0 ||
           strcmp(name, "numbers") == 0 || strcmp(name, "allow") == 0 ||
           strcmp(name, "vars") == 0 || strcmp(name, "events") == 0;
}

json_t *msql_row_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    for (int i = 0; o && i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        json_t *v;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            v = is_flag_column(name) ? json_boolean(sqlite3_column_int64(st, i))
                                     : json_integer(sqlite3_column_int64(st, i));
            break;
        case SQLITE_NULL: v = json_null(); break;
        default: {
            const char *t = (const char *)sqlite3_column_text(st, i);
            /* Lists kept as JSON text (statements, json_group_array) go back as JSON. */
            v = is_json_column(name) ? json_loads(t, 0, NULL) : json_string(t);
            if (!v)
                v = json_null();
        }
        }
        json_object_set_new(o, name, v);
    }
    return o;
}

/* Pages a query whose last parameter is the row limit: asks limit + 1 rows to know whether a
 * next page exists; the cursor is the key column of the last row given. */
enum iam_rc msql_page(sqlite3 *db, sqlite3_stmt *st, int limit_param, int limit,
                     const char *key, json_t **out)
{
    *out = NULL;
    if (!st)
        return IAM_FAIL;
    sqlite3_bind_int(st, limit_param, limit + 1);
    json_t *items = json_array();
    json_t *next = json_null();
    int rc;
    int n = 0;
    while (items && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == limit) {
            json_t *last = json_array_get(items, json_array_size(items) - 1);
            json_t *k = json_object_get(last, key);
            json_decref(next);
            next = json_is_integer(k) ? json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(k))
                                      : json_copy(k);
            break;
        }
        json_array_append_new(items, msql_row_json(st));
    }
    if (!items || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
        log_error("iam: list: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        json_decref(items);
        json_decref(next);
        return IAM_FAIL;
    }
    sqlite3_finalize(st);
    *out = json_pack("{s:o,s:o}", "items", items, "next", next);
    return *out ? IAM_OK : IAM_FAIL;
}

int msql_copy_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    size_t len = t ? strlen(t) : 0;
    if (!t || len >= outlen)
        return -1;
    memcpy(out, t, len + 1);
    return 0;
}

