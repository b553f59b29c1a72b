/* Opening a connection to vcs.db (see db_open.h). */
#include "store/db_open.h"

#include <stdio.h>
#include <string.h>

/* The journal mode a writable connection got: anything but WAL is refused. */
static const char *wal_refused(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    const char *why = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW)
        why = sqlite3_errmsg(db);
    else if (!sqlite3_column_text(s, 0) ||
             strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0)
        why = "WAL journal mode refused";
    sqlite3_finalize(s);
    return why;
}

sqlite3 *db_open(const char *what, const char *path, int flags, int busy_timeout_ms, char *err,
                 size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    const char *why = rc != SQLITE_OK ? (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) : NULL;
    if (!why && sqlite3_busy_timeout(db, busy_timeout_ms) != SQLITE_OK)
        why = sqlite3_errmsg(db);
    if (!why && (flags & SQLITE_OPEN_READWRITE))
        why = wal_refused(db);
    if (!why && sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        why = sqlite3_errmsg(db);
    if (!why)
        return db;
    snprintf(err, errlen, "%s: %s: %s", what, path, why);
    sqlite3_close(db);
    return NULL;
}

bool db_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}
