/* CDR queries (see cdr_query.h). */
#include "store/cdr_query.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "store/mgmt_sql.h"

const char *const cdr_columns[] = {
    "id", "call_id", "sip_call_id", "parent_call_id", "direction", "account", "from_number",
    "to_number", "script", "gateway", "trunk", "campaign_id", "start_time", "answer_time",
    "end_time", "duration_ms", "billsec", "bill_minutes", "cost_fen", "sip_code",
    "hangup_cause", "hangup_by", "recording", "vars", NULL,
};

/* The optional filters: the field, its clause and the parameter the clause names. */
static const struct {
    size_t offset;
    const char *clause, *param;
} filters[] = {
    { offsetof(struct cdr_filter, since), " AND start_time >= :since", ":since" },
    { offsetof(struct cdr_filter, until), " AND start_time < :until", ":until" },
    { offsetof(struct cdr_filter, number), " AND (from_number = :number OR to_number = :number)",
      ":number" },
    { offsetof(struct cdr_filter, cause), " AND hangup_cause = :cause", ":cause" },
    { offsetof(struct cdr_filter, campaign), " AND campaign_id = :campaign", ":campaign" },
    { offsetof(struct cdr_filter, direction), " AND direction = :direction", ":direction" },
};
#define N_FILTERS (sizeof filters / sizeof filters[0])

static const char *field(const struct cdr_filter *f, size_t i)
{
    return (const char *)f + filters[i].offset;
}

static void add(char *sql, size_t len, const char *clause)
{
    strncat(sql, clause, len - strlen(sql) - 1);
}

sqlite3_stmt *cdr_query(sqlite3 *db, const struct cdr_filter *f, int64_t after, int limit)
{
    char sql[1024] = "SELECT ";
    for (size_t i = 0; cdr_columns[i]; i++) {
        add(sql, sizeof sql, i ? ", " : "");
        add(sql, sizeof sql, cdr_columns[i]);
    }
    add(sql, sizeof sql, " FROM cdr WHERE id > :after");
    if (!f->all_accounts)
        add(sql, sizeof sql, " AND account = :account");
    for (size_t i = 0; i < N_FILTERS; i++) {
        if (field(f, i)[0])
            add(sql, sizeof sql, filters[i].clause);
    }
    add(sql, sizeof sql, " ORDER BY id LIMIT :limit");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("cdr query: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":after"), after);
    sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":limit"), limit);
    if (!f->all_accounts)
        sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":account"), f->account, -1,
                          SQLITE_TRANSIENT);
    for (size_t i = 0; i < N_FILTERS; i++) {
        if (field(f, i)[0])
            sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, filters[i].param), field(f, i),
                              -1, SQLITE_TRANSIENT);
    }
    return st;
}

int cdr_page(sqlite3 *db, const struct cdr_filter *f, int64_t after, int limit, json_t **out)
{
    sqlite3_stmt *st = cdr_query(db, f, after, limit);
    return msql_page(db, st, st ? sqlite3_bind_parameter_index(st, ":limit") : 0, limit, "id",
                     out) == IAM_OK ? 0 : -1;
}
