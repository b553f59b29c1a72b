/* The callee region table (SPEC 8): number prefixes (mobile segments, area codes) mapped to a
 * region; the longest matching prefix of a dialled number gives its region. Built once from the
 * operator's import and replaced whole (readers keep the table they took). */
#ifndef VCS_REGIONS_H
#define VCS_REGIONS_H

#include <stddef.h>

struct region_table;

struct region_entry {
    const char *prefix; /* digits only */
    const char *region;
};

/* Copies the entries. NULL when out of memory or an entry is not digits + a region name. */
struct region_table *region_table_build(const struct region_entry *e, size_t n);
void region_table_free(struct region_table *t);
/* The region of number (a leading '+' and the country code are the caller's business: the
 * table holds whatever form the operator loaded), or NULL when no prefix matches. */
const char *region_lookup(const struct region_table *t, const char *number);
size_t region_table_size(const struct region_table *t);

#endif
