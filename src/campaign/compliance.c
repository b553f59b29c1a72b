/* Do-not-call and frequency caps (see compliance.h). */
#include "campaign/compliance.h"

#include <stdatomic.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

#define DAY_MS INT64_C(86400000)

/* A failing database is asked again on every dialer step and call: one line a second says it. */
static void log_unreadable(sqlite3 *db)
{
    static _Atomic uint64_t next_ms;
    uint64_t now = clock_mono_ms(), due = atomic_load(&next_ms);
    if (now >= due && atomic_compare_exchange_strong(&next_ms, &due, now + 1000))
        log_error("compliance: the do-not-call lists or CDRs cannot be read (%s): nobody is "
                  "called until they can", sqlite3_errmsg(db));
}

/* The count the query gives, or -1 when it could not be read. */
static int64_t count(sqlite3 *db, const char *sql, const char *a, const char *b, const char *c)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_unreadable(db);
        return -1;
    }
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    if (c)
        sqlite3_bind_text(st, 3, c, -1, SQLITE_STATIC);
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        log_unreadable(db);
    sqlite3_finalize(st);
    return n;
}

static int64_t answered_since(sqlite3 *db, const char *account, const char *number, int64_t since)
{
    char t[ISO8601_LEN];
    iso8601_ms(since, t);
    return count(db, "SELECT count(*) FROM cdr WHERE account = ?1 AND to_number = ?2"
                     " AND direction = 'outbound' AND answer_time IS NOT NULL AND answer_time >= ?3",
                 account, number, t);
}

enum compliance compliance_check(sqlite3 *db, const char *account, const char *number,
                                 int day_cap, int week_cap, int64_t now)
{
    int64_t listed = count(db, "SELECT count(*) FROM dnc WHERE number = ?2 AND account IN (?1, '')",
                           account, number, NULL);
    if (listed != 0)
        return listed > 0 ? COMPLIANCE_DNC : COMPLIANCE_UNKNOWN;
    int64_t day = now / DAY_MS * DAY_MS;
    int64_t weekday = (now / DAY_MS + 3) % 7; /* 1970-01-01 was a Thursday: 0 = Monday */
    int64_t since[2] = { day, day - weekday * DAY_MS };
    int caps[2] = { day_cap, week_cap };
    for (int i = 0; i < 2; i++) {
        int64_t answered = caps[i] > 0 ? answered_since(db, account, number, since[i]) : 0;
        if (answered < 0)
            return COMPLIANCE_UNKNOWN;
        if (caps[i] > 0 && answered >= caps[i])
            return COMPLIANCE_CAP;
    }
    return COMPLIANCE_OK;
}

const char *compliance_code(enum compliance verdict)
{
    return verdict == COMPLIANCE_DNC       ? "dnc"
           : verdict == COMPLIANCE_CAP     ? "frequency_cap"
           : verdict == COMPLIANCE_UNKNOWN ? "compliance_unavailable"
                                           : NULL;
}

const char *compliance_callee(const char *to)
{
    if (strncmp(to, "sip:", 4) == 0 || strncmp(to, "trunk:", 6) == 0)
        return NULL;
    if (strncmp(to, "gw:", 3) == 0) {
        const char *slash = strchr(to, '/');
        return slash ? slash + 1 : NULL;
    }
    return to;
}
