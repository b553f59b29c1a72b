/* Customer trunks managed over the API and the contacts trunks registered (SPEC 3, 4, 7), in
 * vcs.db (tables trunks and trunk_registrations, migration 4 of store.c).
 * The ts_* functions run on the API's own connection (iam_store_db): account NULL means the
 * operator, who sees every account's trunks; another account's trunk is IAM_NOT_FOUND.
 * Passwords are stored as HA1 digests under the realm of the time; a trunk whose realm no
 * longer matches (sip.advertise changed) loses its credentials until they are set again.
 * The registration writer is a thread of its own with its own connection: the SIP thread
 * hands it each change (trunks_set_persist) and never waits for the disk. */
#ifndef VCS_TRUNK_STORE_H
#define VCS_TRUNK_STORE_H

#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"
#include "trunk/trunks.h"

/* A change asked for over the API: NULL / negative fields are left as they are. */
struct ts_change {
    const char *name, *account;    /* create only */
    json_t *allow;                 /* array of "ADDRESS/PREFIX" */
    const char *username, *password; /* "" clears the credentials (both) */
    long long max_calls;           /* < 0: unchanged */
    const char *address;           /* "IP:PORT"; "" clears it */
};

/* Checks a change; 0, or -1 with a message for a 400. */
int ts_check(const struct ts_change *c, bool create, char *msg, size_t msglen);
enum iam_rc ts_create(sqlite3 *db, const struct ts_change *c, const char *realm);
enum iam_rc ts_update(sqlite3 *db, const char *account, const char *name,
                      const struct ts_change *c, const char *realm, char *msg, size_t msglen);
enum iam_rc ts_delete(sqlite3 *db, const char *account, const char *name);
enum iam_rc ts_get(sqlite3 *db, const char *account, const char *name, json_t **out);
enum iam_rc ts_list(sqlite3 *db, const char *account, const char *after, int limit,
                    json_t **out);
/* Every managed trunk as trunks_set_managed() takes them (*defs malloc'd). 0 or -1. */
int ts_load(sqlite3 *db, const char *realm, struct trunk_def **defs, size_t *n);

struct trunk_persist;
/* Opens its connection to <data_dir>/vcs.db (already migrated by store_open), loads the
 * managed trunks and the registrations that have not expired into t, and starts the writer. */
struct trunk_persist *trunk_persist_open(const char *data_dir, struct trunks *t, char *err,
                                         size_t errlen);
/* Writes what is queued, stops the writer, closes. */
void trunk_persist_close(struct trunk_persist *p);
/* The trunks_set_persist() hook: queues the change (the latest per trunk wins). */
void trunk_persist_reg(void *ctx, const struct trunk_reg *r);

#endif
