/* The SQLite store: <data>/vcs.db in WAL mode, schema versioned and migrated on open.
 * All writes go through one writer thread fed by a queue (group commit: whatever is queued is
 * committed in one transaction as soon as the thread wakes), so no call or media thread ever
 * waits for the disk. A CDR row is inserted when a leg starts and completed when it ends;
 * rows still open at start-up (vcsd died) are closed with cause system_crash.
 * On first start with a new database the operator account "admin" is created and its API token
 * written to <data>/admin.token (mode 0600). */
#ifndef VCS_STORE_H
#define VCS_STORE_H

#include <stddef.h>

#include "cdr.h"

struct store;

/* Opens (creating <data_dir> and the database as needed), migrates, closes crashed rows and
 * starts the writer thread. Returns NULL with err filled on failure. */
struct store *store_open(const char *data_dir, char *err, size_t errlen);
/* The data directory given to store_open (for modules that keep their own files beside vcs.db). */
const char *store_data_dir(const struct store *st);
/* Flushes every queued write, stops the writer thread and closes the database. */
void store_close(struct store *st);

/* Queue a CDR insert (leg started) or completion (leg ended). The row is copied, including
 * vars_json; the caller keeps ownership of its own buffers. Never blocks on I/O. */
void store_cdr_begin(struct store *st, const struct cdr_row *row);
void store_cdr_end(struct store *st, const struct cdr_row *row);
/* Queue what became known while the leg is up (routing, answer time): a crash then still
 * leaves a row that says which script ran and when the call was answered. */
void store_cdr_update(struct store *st, const struct cdr_row *row);

/* Blocks until everything queued before the call is committed (tests, shutdown, API reads). */
void store_sync(struct store *st);

/* Authenticates an API bearer token: copies the account name into account and returns 0, or
 * returns -1 when the token is unknown. Any thread (uses its own read connection). */
int store_auth_token(struct store *st, const char *token, char *account, size_t accountlen);

/* Number record for routing (SPEC 4 step 2 / SPEC 8). */
struct number_record {
    char number[32];
    char account[64];
    char region[64];
    char type[16];     /* fixed | mobile */
    char state[16];    /* available | ordered | active | released */
    char script[128];  /* "" = not bound */
    int max_concurrent;
};
/* Reads every active number that is bound to a script into a malloc'd array (*out, *n).
 * Returns 0 or -1. Any thread; used when a routing snapshot is built. */
int store_active_numbers(struct store *st, struct number_record **out, size_t *n);

#endif
