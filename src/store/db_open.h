/* The one way to open a connection to vcs.db, so that every module's connection behaves the
 * same: WAL journal (checked on a writable connection; readers never block the writer),
 * synchronous = NORMAL (in WAL mode a committed transaction survives a crash of the process,
 * kill -9 included, and only a power loss may take the last ones; the default FULL would fsync
 * on every commit), a busy timeout, and no SQLite mutex (a connection is one thread's). */
#ifndef VCS_STORE_DB_OPEN_H
#define VCS_STORE_DB_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

/* flags: SQLITE_OPEN_READWRITE or SQLITE_OPEN_READONLY, with SQLITE_OPEN_CREATE as needed.
 * Returns the connection, or NULL with err filled ("<what>: <path>: <reason>"). */
sqlite3 *db_open(const char *what, const char *path, int flags, int busy_timeout_ms, char *err,
                 size_t errlen);

/* rc (primary or extended) says another connection held the lock past the busy timeout: the
 * same write may succeed later. */
bool db_busy(int rc);

#endif
