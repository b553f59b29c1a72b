/* The active numbers as the call path sees them (SPEC 4, 8): an immutable sorted snapshot that
 * any thread searches without locks, replaced whole when the numbers table has changed. Triggers
 * in the database count every change (meta numbers_rev), so a binding, an approval, a
 * suspension or a release reaches the next call whoever wrote it: the API syncs after each of
 * its writes, vcsd's main loop once a second, a reload always. A call keeps the snapshot it was
 * routed with (its number record stays valid) until it ends. */
#ifndef VCS_NUMBER_TABLE_H
#define VCS_NUMBER_TABLE_H

#include <stdbool.h>

#include "store/store.h"

struct number_snapshot;
struct number_directory;

struct number_directory *number_directory_create(struct store *st);
void number_directory_destroy(struct number_directory *d);
/* Reads the table again if its revision moved (always when force). 0, or -1 when it could not
 * be read (the last snapshot stays). Any thread; serialised. */
int number_directory_sync(struct number_directory *d, bool force);
/* The current snapshot, referenced (never NULL after create). Any thread. */
struct number_snapshot *number_directory_acquire(struct number_directory *d);
void number_snapshot_release(struct number_snapshot *s);
/* The active numbers of account in s (in number order, at most max) into out; how many. */
size_t number_snapshot_of_account(const struct number_snapshot *s, const char *account,
                                  const struct number_record **out, size_t max);
/* The active number record for a called number, or NULL. */
const struct number_record *number_snapshot_find(const struct number_snapshot *s,
                                                 const char *number);

#endif
