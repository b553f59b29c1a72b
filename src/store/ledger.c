/* Prepaid money in the database (see ledger.h). */
#include "store/ledger.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "billing/calendar.h"
#include "core/clock.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "store/mgmt_sql.h"

#define REF_MAX 160

/* The account's balance: 0, or -1 when there is no such account. */
static int balance_of(sqlite3 *db, const char *account, int64_t *balance)
{
    const char *v[] = { account };
    int64_t b = msql_count(db, "SELECT balance_fen FROM accounts WHERE name = ?1", v, 1);
    if (b < 0)
        return -1;
    *balance = b;
    return 0;
}

/* The time a movement of the account is dated: when, or its last movement's if later. */
static void movement_time(sqlite3 *db, const char *account, int64_t when_ms,
                          char out[ISO8601_LEN])
{
    iso8601_ms(when_ms, out);
    sqlite3_stmt *st = msql_prep(db, "SELECT MAX(time) FROM ledger WHERE account = ?1");
    if (!st)
        return;
    const char *v[] = { account };
    msql_bind_texts(st, v, 1);
    const char *last = sqlite3_step(st) == SQLITE_ROW
                           ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (last && strcmp(last, out) > 0)
        snprintf(out, ISO8601_LEN, "%s", last);
    sqlite3_finalize(st);
}

/* Inside a transaction: one movement and the balance after it. delta is signed (a recharge
 * adds); the amount recorded is its magnitude. 0 with *id, 1 when ref was posted already,
 * -1 when the account is unknown, the balance would go below 0 or the database failed. */
static int post(sqlite3 *db, const char *account, const char *kind, int64_t delta,
                const char *ref, const char *note, int64_t when_ms, int64_t *balance,
                int64_t *id)
{
    int64_t b;
    if (balance_of(db, account, &b) != 0 || b + delta < 0)
        return -1;
    char when[ISO8601_LEN];
    movement_time(db, account, when_ms, when);
    sqlite3_stmt *st = msql_prep(db, "INSERT INTO ledger(account, time, kind, amount_fen,"
                                     " balance_fen, ref, note)"
                                     " VALUES (?1, ?2, ?3, ?6, ?7, ?4, ?5)");
    if (!st)
        return -1;
    const char *v[] = { account, when, kind, ref, note };
    msql_bind_texts(st, v, 5);
    sqlite3_bind_int64(st, 6, delta < 0 ? -delta : delta);
    sqlite3_bind_int64(st, 7, b + delta);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return 1;
    if (rc != SQLITE_DONE) {
        log_error("ledger: %s %s: %s", kind, account, sqlite3_errmsg(db));
        return -1;
    }
    *id = sqlite3_last_insert_rowid(db);
    st = msql_prep(db, "UPDATE accounts SET balance_fen = ?2 WHERE name = ?1");
    if (!st)
        return -1;
    msql_bind_texts(st, v, 1);
    sqlite3_bind_int64(st, 2, b + delta);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    *balance = b + delta;
    return rc == SQLITE_DONE ? 0 : -1;
}

static json_t *movement_json(sqlite3 *db, int64_t id)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT id, account, time, kind, amount_fen, balance_fen,"
                                     " ref, note FROM ledger WHERE id = ?1");
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    json_t *j = sqlite3_step(st) == SQLITE_ROW ? msql_row_json(st) : NULL;
    sqlite3_finalize(st);
    return j;
}

enum iam_rc ledger_recharge(sqlite3 *db, const char *account, int64_t amount_fen,
                            const char *note, int64_t now_ms, json_t **out)
{
    *out = NULL;
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    int64_t b, id = 0;
    enum iam_rc rc = balance_of(db, account, &b) != 0 ? IAM_NOT_FOUND : IAM_OK;
    if (rc == IAM_OK && post(db, account, "recharge", amount_fen, NULL, note, now_ms, &b, &id))
        rc = IAM_FAIL;
    rc = msql_commit(db, rc);
    if (rc == IAM_OK && !(*out = movement_json(db, id)))
        rc = IAM_FAIL;
    return rc;
}

int ledger_usage(sqlite3 *db, const char *account, const char *call_id, int64_t cost_fen,
                 int64_t now_ms, int64_t *balance_fen)
{
    if (msql_begin(db) != 0)
        return -1;
    int64_t id;
    int rc = post(db, account, "usage", -cost_fen, call_id, NULL, now_ms, balance_fen, &id);
    if (rc == 1) /* posted before (a retry): the balance as it is */
        rc = balance_of(db, account, balance_fen);
    return msql_commit(db, rc == 0 ? IAM_OK : IAM_FAIL) == IAM_OK ? 0 : -1;
}

/* ---- statements --------------------------------------------------------------------------- */

/* The balance after the account's last movement before time t (0 when there is none). */
static int64_t balance_before(sqlite3 *db, const char *account, const char *t)
{
    const char *v[] = { account, t };
    int64_t b = msql_count(db, "SELECT balance_fen FROM ledger WHERE account = ?1 AND time < ?2"
                               " ORDER BY time DESC, id DESC LIMIT 1", v, 2);
    return b < 0 ? 0 : b;
}

enum iam_rc ledger_statement(sqlite3 *db, const char *account, const char *month,
                             int64_t start_ms, int64_t end_ms, json_t **out)
{
    *out = NULL;
    int64_t b;
    if (balance_of(db, account, &b) != 0)
        return IAM_NOT_FOUND;
    char from[ISO8601_LEN], to[ISO8601_LEN];
    iso8601_ms(start_ms, from);
    iso8601_ms(end_ms, to);
    /* One read transaction: the lines and both balances are of one moment. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return IAM_FAIL;
    int64_t opening = balance_before(db, account, from);
    int64_t closing = balance_before(db, account, to);
    json_t *lines[3] = { json_array(), json_array(), json_array() };
    int64_t totals[3] = { 0, 0, 0 };
    static const char *const kinds[3] = { "recharge", "rent", "usage" };
    sqlite3_stmt *st = msql_prep(db, "SELECT time, kind, amount_fen, balance_fen, ref, note"
                                     " FROM ledger WHERE account = ?1 AND time >= ?2"
                                     " AND time < ?3 ORDER BY time, id");
    enum iam_rc rc = st && lines[0] && lines[1] && lines[2] ? IAM_OK : IAM_FAIL;
    if (st) {
        const char *v[] = { account, from, to };
        msql_bind_texts(st, v, 3);
    }
    int r;
    while (rc == IAM_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        for (int k = 0; k < 3; k++) {
            if (kind && strcmp(kind, kinds[k]) == 0) {
                totals[k] += sqlite3_column_int64(st, 2);
                json_t *line = msql_row_json(st);
                json_object_del(line, "kind");
                if (!line || json_array_append_new(lines[k], line) != 0)
                    rc = IAM_FAIL;
            }
        }
    }
    if (rc == IAM_OK && r != SQLITE_DONE)
        rc = IAM_FAIL;
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == IAM_OK && opening + totals[0] - totals[1] - totals[2] != closing) {
        log_error("ledger: %s %s does not reconcile: %lld + %lld - %lld - %lld != %lld", account,
                  month, (long long)opening, (long long)totals[0], (long long)totals[1],
                  (long long)totals[2], (long long)closing);
        rc = IAM_FAIL;
    }
    if (rc == IAM_OK)
        *out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}", "account", account,
                         "month", month, "from", from, "until", to, "opening_balance_fen",
                         (json_int_t)opening, "recharges_fen", (json_int_t)totals[0],
                         "rent_fen", (json_int_t)totals[1], "usage_fen",
                         (json_int_t)totals[2], "closing_balance_fen", (json_int_t)closing,
                         "recharges", lines[0], "rent", lines[1], "usage", lines[2]);
    else
        for (int k = 0; k < 3; k++)
            json_decref(lines[k]);
    return rc == IAM_OK && !*out ? IAM_FAIL : rc;
}

/* ---- rent ------------------------------------------------------------------------------- */

/* Releases that are due: the number leaves its account's bill; unpaid periods are waived. */
static int release_due(sqlite3 *db, const char *account, const char *now)
{
    const char *v[] = { account, now };
    if (msql_run(db, "DELETE FROM rent_periods WHERE ledger_id IS NULL AND number IN"
                     " (SELECT number FROM numbers WHERE release_at <= ?2"
                     "  AND state IN ('active', 'suspended') AND (?1 IS NULL OR account = ?1))",
                 v, 2) != SQLITE_DONE)
        return -1;
    if (msql_run(db, "UPDATE numbers SET state = 'released', script = NULL, trunk = NULL"
                     " WHERE release_at <= ?2 AND state IN ('active', 'suspended')"
                     " AND (?1 IS NULL OR account = ?1)", v, 2) != SQLITE_DONE)
        return -1;
    return sqlite3_changes(db);
}

/* Records the periods of one number begun by now and not yet recorded. */
static int record_periods(sqlite3 *db, const char *number, const char *account,
                          const char *issued, const char *release_at, int64_t rent,
                          int64_t now_ms)
{
    int64_t issued_ms, release_ms = INT64_MAX;
    if (iso8601_parse_ms(issued, &issued_ms) != 0 ||
        (release_at && iso8601_parse_ms(release_at, &release_ms) != 0)) {
        log_error("ledger: number %s has an unreadable issue or release time", number);
        return -1;
    }
    const char *v[] = { number, issued };
    int64_t k = msql_count(db, "SELECT COALESCE(MAX(period) + 1, 0) FROM rent_periods"
                               " WHERE number = ?1 AND issued_at = ?2", v, 2);
    int64_t last = cal_period_at(issued_ms, now_ms);
    sqlite3_stmt *st = msql_prep(db, "INSERT OR IGNORE INTO rent_periods(number, issued_at,"
                                     " period, account, due_at, amount_fen)"
                                     " VALUES (?1, ?2, ?5, ?3, ?4, ?6)");
    if (k < 0 || !st) {
        sqlite3_finalize(st);
        return -1;
    }
    int rc = 0;
    for (; rc == 0 && k <= last; k++) {
        int64_t due_ms = cal_period_start(issued_ms, k);
        if (due_ms >= release_ms)
            break;
        char due[ISO8601_LEN];
        iso8601_ms(due_ms, due);
        const char *w[] = { number, issued, account, due };
        msql_bind_texts(st, w, 4);
        sqlite3_bind_int64(st, 5, k);
        sqlite3_bind_int64(st, 6, rent);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = -1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

static int record_all_periods(sqlite3 *db, const char *account, int64_t now_ms)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT n.number, n.account, n.issued_at, n.release_at,"
                                     " a.rent_fen_per_month FROM numbers n"
                                     " JOIN accounts a ON a.name = n.account"
                                     " WHERE n.state IN ('active', 'suspended')"
                                     " AND n.issued_at IS NOT NULL AND n.account <> ?2"
                                     " AND (?1 IS NULL OR n.account = ?1)");
    if (!st)
        return -1;
    const char *v[] = { account, LEDGER_OPERATOR };
    msql_bind_texts(st, v, 2);
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        rc = record_periods(db, (const char *)sqlite3_column_text(st, 0),
                            (const char *)sqlite3_column_text(st, 1),
                            (const char *)sqlite3_column_text(st, 2),
                            (const char *)sqlite3_column_text(st, 3),
                            sqlite3_column_int64(st, 4), now_ms);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Pays one unpaid period: 0 paid, 1 the account cannot, -1 failed. */
static int pay_period(sqlite3 *db, json_t *p, ledger_held_fn held, void *ctx)
{
    const char *number = json_string_value(json_object_get(p, "number"));
    const char *issued = json_string_value(json_object_get(p, "issued_at"));
    const char *acct = json_string_value(json_object_get(p, "account"));
    json_int_t period = json_integer_value(json_object_get(p, "period"));
    int64_t amount = json_integer_value(json_object_get(p, "amount_fen"));
    int64_t due_ms, balance, id = 0;
    if (!number || !issued || !acct ||
        iso8601_parse_ms(json_string_value(json_object_get(p, "due_at")), &due_ms) != 0 ||
        balance_of(db, acct, &balance) != 0)
        return -1;
    if (balance - (held ? held(ctx, acct) : 0) < amount)
        return 1;
    char ref[REF_MAX];
    snprintf(ref, sizeof ref, "%s/%s/%lld", number, issued, (long long)period);
    int rc = post(db, acct, "rent", -amount, ref, number, due_ms, &balance, &id);
    if (rc == 1) { /* cannot happen while the two tables agree */
        log_error("ledger: rent %s was paid already", ref);
        return -1;
    }
    sqlite3_stmt *st = rc == 0 ? msql_prep(db, "UPDATE rent_periods SET ledger_id = ?4"
                                               " WHERE number = ?1 AND issued_at = ?2"
                                               " AND period = ?3") : NULL;
    if (!st)
        return -1;
    const char *w[] = { number, issued };
    msql_bind_texts(st, w, 2);
    sqlite3_bind_int64(st, 3, period);
    sqlite3_bind_int64(st, 4, id);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

/* Pays the unpaid periods, oldest first, each account while it can (read first: the loop
 * changes the rows it would be walking). */
static int pay_periods(sqlite3 *db, const char *account, ledger_held_fn held, void *ctx)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT number, issued_at, period, account, due_at,"
                                     " amount_fen FROM rent_periods WHERE ledger_id IS NULL"
                                     " AND (?1 IS NULL OR account = ?1)"
                                     " ORDER BY account, due_at, number");
    json_t *unpaid = json_array();
    if (!st || !unpaid) {
        sqlite3_finalize(st);
        json_decref(unpaid);
        return -1;
    }
    const char *v[] = { account };
    msql_bind_texts(st, v, 1);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(unpaid, msql_row_json(st));
    sqlite3_finalize(st);
    int rc = r == SQLITE_DONE ? 0 : -1;
    const char *broke = NULL; /* the account that could not pay its oldest period */
    size_t i;
    json_t *p;
    json_array_foreach(unpaid, i, p) {
        const char *acct = json_string_value(json_object_get(p, "account"));
        if (rc != 0 || (broke && acct && strcmp(acct, broke) == 0))
            continue;
        int paid = pay_period(db, p, held, ctx);
        if (paid == 1)
            broke = acct;
        else
            rc = paid;
    }
    json_decref(unpaid);
    return rc;
}

/* Numbers with an unpaid period are suspended, the others active again. */
static int set_states(sqlite3 *db, const char *account)
{
    const char *v[] = { account };
    int changed = 0;
    if (msql_run(db, "UPDATE numbers SET state = 'suspended' WHERE state = 'active'"
                     " AND (?1 IS NULL OR account = ?1) AND EXISTS (SELECT 1 FROM rent_periods p"
                     "  WHERE p.number = numbers.number AND p.issued_at = numbers.issued_at"
                     "  AND p.ledger_id IS NULL)", v, 1) != SQLITE_DONE)
        return -1;
    changed += sqlite3_changes(db);
    if (msql_run(db, "UPDATE numbers SET state = 'active' WHERE state = 'suspended'"
                     " AND (?1 IS NULL OR account = ?1) AND NOT EXISTS (SELECT 1"
                     "  FROM rent_periods p WHERE p.number = numbers.number"
                     "  AND p.issued_at = numbers.issued_at AND p.ledger_id IS NULL)",
                 v, 1) != SQLITE_DONE)
        return -1;
    return changed + sqlite3_changes(db);
}

int ledger_rent_run(sqlite3 *db, const char *account, int64_t now_ms, ledger_held_fn held,
                    void *ctx)
{
    if (msql_begin(db) != 0)
        return -1;
    char now[ISO8601_LEN];
    iso8601_ms(now_ms, now);
    int released = release_due(db, account, now);
    int changed = -1;
    if (released >= 0 && record_all_periods(db, account, now_ms) == 0 &&
        pay_periods(db, account, held, ctx) == 0)
        changed = set_states(db, account);
    if (msql_commit(db, changed >= 0 ? IAM_OK : IAM_FAIL) != IAM_OK)
        return -1;
    return changed + released;
}

enum iam_rc ledger_release(sqlite3 *db, const char *account, const char *number, int64_t now_ms,
                           char *msg, size_t msglen)
{
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    sqlite3_stmt *st = msql_prep(db, "SELECT state, issued_at, release_at FROM numbers"
                                     " WHERE number = ?2 AND account IS NOT NULL"
                                     " AND (?1 IS NULL OR account = ?1)");
    enum iam_rc rc = st ? IAM_NOT_FOUND : IAM_FAIL;
    char state[16] = "", issued[ISO8601_LEN] = "", release_at[ISO8601_LEN] = "";
    if (st) {
        const char *v[] = { account, number };
        msql_bind_texts(st, v, 2);
        if (sqlite3_step(st) == SQLITE_ROW && msql_copy_text(st, 0, state, sizeof state) == 0) {
            rc = IAM_OK;
            msql_copy_text(st, 1, issued, sizeof issued);
            msql_copy_text(st, 2, release_at, sizeof release_at);
        }
        sqlite3_finalize(st);
    }
    int64_t issued_ms = now_ms, at_ms = now_ms;
    if (rc == IAM_OK && release_at[0]) {
        set_err(msg, msglen, "number %s is being released already (at %s)", number, release_at);
        rc = IAM_IN_USE;
    } else if (rc == IAM_OK && strcmp(state, "active") != 0 && strcmp(state, "suspended") != 0) {
        set_err(msg, msglen, "number %s cannot move from %s to released", number, state);
        rc = IAM_IN_USE;
    } else if (rc == IAM_OK && strcmp(state, "active") == 0 &&
               iso8601_parse_ms(issued, &issued_ms) == 0) {
        /* Active: its rent is paid to the end of the period in progress. */
        at_ms = cal_period_start(issued_ms, cal_period_at(issued_ms, now_ms) + 1);
    }
    char at[ISO8601_LEN];
    iso8601_ms(at_ms, at);
    const char *w[] = { number, at };
    if (rc == IAM_OK &&
        msql_run(db, "UPDATE numbers SET release_at = ?2 WHERE number = ?1", w, 2) != SQLITE_DONE)
        rc = IAM_FAIL;
    return msql_commit(db, rc);
}

int ledger_accounts(sqlite3 *db, ledger_account_fn fn, void *ctx)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT name, balance_fen, rate_fen_per_minute,"
                                     " low_balance_fen, coalesce(max_calls, -1) FROM accounts");
    if (!st)
        return -1;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct ledger_account t = {
            .balance_fen = sqlite3_column_int64(st, 1),
            .rate_fen = sqlite3_column_int64(st, 2),
            .low_balance_fen = sqlite3_column_int64(st, 3),
            .max_calls = sqlite3_column_int64(st, 4),
        };
        fn(ctx, (const char *)sqlite3_column_text(st, 0), &t);
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : -1;
}
