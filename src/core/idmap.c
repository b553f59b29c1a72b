#include "idmap.h"

#include <stdlib.h>

static size_t slot_of(const struct idmap *m, uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL; /* murmur3 finaliser: ids are sequential, spread them */
    id ^= id >> 33;
    return (size_t)id & (m->cap - 1);
}

int idmap_init(struct idmap *m, size_t initial_cap)
{
    size_t cap = 16;
    while (cap < initial_cap)
        cap <<= 1;
    m->cap = cap;
    m->count = 0;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = calloc(cap, sizeof *m->vals);
    if (!m->keys || !m->vals) {
        idmap_free(m);
        return -1;
    }
    return 0;
}

void idmap_free(struct idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->count = 0;
}

static int grow(struct idmap *m)
{
    struct idmap bigger;
    if (idmap_init(&bigger, m->cap * 2) != 0)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            idmap_put(&bigger, m->keys[i], m->vals[i]);
    idmap_free(m);
    *m = bigger;
    return 0;
}

int idmap_put(struct idmap *m, uint64_t id, void *val)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    size_t i = slot_of(m, id);
    while (m->keys[i] && m->keys[i] != id)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->count++;
    m->keys[i] = id;
    m->vals[i] = val;
    return 0;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, id); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == id)
            return m->vals[i];
    return NULL;
}

void *idmap_remove(struct idmap *m, uint64_t id)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = slot_of(m, id);
    while (m->keys[i] && m->keys[i] != id)
        i = (i + 1) & mask;
    if (!m->keys[i])
        return NULL;
    void *val = m->vals[i];
    /* Backward-shift: pull later entries of the probe run into the hole when their home
     * slot allows it, so every remaining key stays reachable without tombstones. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->keys[j]);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->vals[hole] = NULL;
    m->count--;
    return val;
}
