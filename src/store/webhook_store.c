/* Webhook subscriptions and deliveries (see webhook_store.h). */
#include "store/webhook_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "core/clock.h"
#include "core/digest.h"
#include "store/mgmt_sql.h"

static const char cols[] = "SELECT id, account, url, events, created_at FROM webhooks";

enum iam_rc webhook_create(sqlite3 *db, const char *account, const char *url, json_t *events,
                           json_t **out)
{
    *out = NULL;
    unsigned char raw[32];
    char secret[WEBHOOK_SECRET_LEN + 1] = "whsec_", now[ISO8601_LEN];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return IAM_FAIL;
    hex_encode(raw, sizeof raw, secret + 6);
    iso8601_ms(clock_wall_ms(), now);
    char *ev = json_dumps(events, JSON_COMPACT);
    const char *v[] = { account, url, ev, secret, now };
    int rc = ev ? msql_run(db, "INSERT INTO webhooks(account, url, events, secret, created_at)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)", v, 5) : SQLITE_NOMEM;
    free(ev);
    if (rc != SQLITE_DONE)
        return IAM_FAIL;
    sqlite3_stmt *st = msql_prep(db, "SELECT id, account, url, events, secret, created_at"
                                     " FROM webhooks WHERE id = last_insert_rowid()");
    if (st && sqlite3_step(st) == SQLITE_ROW)
        *out = msql_row_json(st);
    sqlite3_finalize(st);
    return *out ? IAM_OK : IAM_FAIL;
}

enum iam_rc webhook_list(sqlite3 *db, const char *account, const char *after, int limit,
                         json_t **page)
{
    char sql[256];
    snprintf(sql, sizeof sql, "%s WHERE (?1 IS NULL OR account = ?1) AND id > ?2"
                              " ORDER BY id LIMIT ?3", cols);
    sqlite3_stmt *st = msql_prep(db, sql);
    const char *v[] = { account, after ? after : "0" };
    if (st)
        msql_bind_texts(st, v, 2);
    return msql_page(db, st, 3, limit, "id", page);
}

static bool owned(sqlite3 *db, const char *account, const char *id)
{
    const char *v[] = { id, account };
    return msql_count(db, "SELECT COUNT(*) FROM webhooks WHERE id = ?1"
                          " AND (?2 IS NULL OR account = ?2)", v, 2) == 1;
}

enum iam_rc webhook_delete(sqlite3 *db, const char *account, const char *id)
{
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    enum iam_rc rc = owned(db, account, id) ? IAM_OK : IAM_NOT_FOUND;
    const char *v[] = { id };
    if (rc == IAM_OK &&
        (msql_run(db, "DELETE FROM webhook_deliveries WHERE webhook_id = ?1", v, 1) !=
             SQLITE_DONE ||
         msql_run(db, "DELETE FROM webhooks WHERE id = ?1", v, 1) != SQLITE_DONE))
        rc = IAM_FAIL;
    return msql_commit(db, rc);
}

enum iam_rc webhook_deliveries(sqlite3 *db, const char *account, const char *id,
                               const char *after, int limit, json_t **page)
{
    *page = NULL;
    if (!owned(db, account, id))
        return IAM_NOT_FOUND;
    sqlite3_stmt *st = msql_prep(db, "SELECT id, event, state, attempts, last_status,"
                                     " last_error, created_at, delivered_at,"
                                     " CASE WHEN state = 'pending' THEN"
                                     " strftime('%Y-%m-%dT%H:%M:%fZ', next_ms / 1000.0,"
                                     " 'unixepoch') END AS next_attempt_at"
                                     " FROM webhook_deliveries WHERE webhook_id = ?1"
                                     " AND id > ?2 ORDER BY id LIMIT ?3");
    const char *v[] = { id, after ? after : "0" };
    if (st)
        msql_bind_texts(st, v, 2);
    return msql_page(db, st, 3, limit, "id", page);
}
