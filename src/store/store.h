/* The SQLite store: <data>/vcs.db in WAL mode, schema versioned and migrated on open.
 * All writes go through one writer thread fed by a queue (group commit: whatever is queued is
 * committed in one transaction as soon as the thread wakes), so no call or media thread ever
 * waits for the disk. A CDR row is inserted when a leg starts and completed when it ends;
 * a write that fails (disk full, I/O error, database locked) stays queued and is retried with
 * backoff, never dropped while the process lives. Every 2 s the writer records that it is
 * alive; rows still open at start-up (vcsd died) are closed with cause system_crash at that last
 * heartbeat. One process per data directory (<data>/vcsd.lock, see data_lock.h).
 * On first start with a new database the operator account "admin" is created and its API token
 * written to <data>/admin.token (mode 0600). */
#ifndef VCS_STORE_H
#define VCS_STORE_H

#include <stddef.h>

#include "cdr.h"

struct store;

/* Locks <data_dir> (creating it as needed), opens or creates the database, migrates, closes
 * crashed rows and starts the writer thread. Returns NULL with err filled on failure, also when
 * another process holds the directory: then nothing in it has been touched. */
struct store *store_open(const char *data_dir, char *err, size_t errlen);
/* The data directory given to store_open (for modules that keep their own files beside vcs.db). */
const char *store_data_dir(const struct store *st);
/* Flushes every queued write (waiting at most a few seconds for a failing disk, then logging
 * each change it could not write), stops the writer thread, closes the database, unlocks.
 * Returns the number of CDR changes that could not be written (0: everything is on disk). */
size_t store_close(struct store *st);

/* Queue a CDR insert (leg started) or completion (leg ended). The row is copied, including
 * vars_json; the caller keeps ownership of its own buffers. Never blocks on I/O. */
void store_cdr_begin(struct store *st, const struct cdr_row *row);
void store_cdr_end(struct store *st, const struct cdr_row *row);
/* Queue what became known while the leg is up (routing, answer time): a crash then still
 * leaves a row that says which script ran and when the call was answered. */
void store_cdr_update(struct store *st, const struct cdr_row *row);

/* Blocks until everything queued before the call is committed (0), or until an attempt to
 * commit it failed (-1: it stays queued and is retried). */
int store_sync(struct store *st);

struct store_stats {
    size_t cdr_pending;           /* CDR changes taken by the writer, not yet committed */
    unsigned long long write_errors; /* failed write attempts since start */
};
void store_get_stats(struct store *st, struct store_stats *out);

/* Authenticates an API bearer token: copies the account name into account and returns 0, or
 * returns -1 when the token is unknown. Any thread (uses its own read connection). */
int store_auth_token(struct store *st, const char *token, char *account, size_t accountlen);

/* Number record for routing (SPEC 4 step 2 / SPEC 8). */
struct number_record {
    char number[32];
    char account[64];
    char region[64];
    char type[16];     /* fixed | mobile */
    char state[16];    /* active | suspended (as when read: billing knows the state now) */
    char script[128];  /* "" = not bound to a script */
    char trunk[64];    /* "" = not bound to a customer trunk */
    int max_concurrent;
};
/* Reads every active or suspended number (bound or not) into a malloc'd array (*out, *n).
 * Returns 0 or -1. Any thread; used when a routing snapshot is built. */
int store_active_numbers(struct store *st, struct number_record **out, size_t *n);
/* How many times the numbers table has changed (a trigger counts), or -1 when unreadable. */
long long store_numbers_rev(struct store *st);

#endif
