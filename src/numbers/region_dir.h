/* The callee region table in use (SPEC 8): the operator's import, replaced whole after each
 * import; any thread takes the current table with a reference and keeps it as long as it needs
 * (a lookup never waits for an import, and never sees half of one). */
#ifndef VCS_REGION_DIR_H
#define VCS_REGION_DIR_H

#include "numbers/regions.h"

struct region_dir;
struct region_ref;

struct region_dir *region_dir_create(void);
void region_dir_destroy(struct region_dir *d);
/* Takes ownership of t (NULL: an empty table). */
void region_dir_set(struct region_dir *d, struct region_table *t);
/* The current table, referenced; region_ref_table gives it (never NULL). */
struct region_ref *region_dir_acquire(struct region_dir *d);
const struct region_table *region_ref_table(const struct region_ref *r);
void region_ref_release(struct region_ref *r);

#endif
