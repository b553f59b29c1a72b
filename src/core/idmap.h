/* Map from 64-bit ids (call legs) to pointers: open addressing with linear probing and
 * backward-shift deletion, so lookups stay short under churn and no tombstones pile up.
 * Not thread-safe: each map has one owning thread. Id 0 is reserved (never stored). */
#ifndef VCS_IDMAP_H
#define VCS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
    size_t cap;   /* power of two */
    size_t count;
    uint64_t *keys;
    void **vals;
};

int idmap_init(struct idmap *m, size_t initial_cap);
void idmap_free(struct idmap *m);
int idmap_put(struct idmap *m, uint64_t id, void *val); /* 0 ok, -1 out of memory */
void *idmap_get(const struct idmap *m, uint64_t id);
void *idmap_remove(struct idmap *m, uint64_t id);       /* returns the value or NULL */

#endif
