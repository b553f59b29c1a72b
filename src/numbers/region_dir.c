/* The callee region table in use (see region_dir.h). */
#include "numbers/region_dir.h"
#include "core/thread_class.h"

#include <pthread.h>
#include <stdlib.h>

struct region_ref {
    int refs;
    struct region_table *table;
};

struct region_dir {
    pthread_mutex_t mu;
    struct region_ref *current;
};

static struct region_ref *ref_new(struct region_table *t)
{
    struct region_ref *r = calloc(1, sizeof *r);
    if (!t)
        t = region_table_build(NULL, 0);
    if (!r || !t) {
        free(r);
        region_table_free(t);
        return NULL;
    }
    r->refs = 1;
    r->table = t;
    return r;
}

void region_ref_release(struct region_ref *r)
{
    if (r && __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        region_table_free(r->table);
        free(r);
    }
}

const struct region_table *region_ref_table(const struct region_ref *r)
{
    return r->table;
}

struct region_dir *region_dir_create(void)
{
    struct region_dir *d = calloc(1, sizeof *d);
    if (!d || !(d->current = ref_new(NULL))) {
        free(d);
        return NULL;
    }
    thread_class_mutex_init(&d->mu);
    return d;
}

void region_dir_destroy(struct region_dir *d)
{
    if (!d)
        return;
    region_ref_release(d->current);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void region_dir_set(struct region_dir *d, struct region_table *t)
{
    struct region_ref *r = ref_new(t);
    if (!r)
        return; /* out of memory: the last table stays */
    pthread_mutex_lock(&d->mu);
    struct region_ref *old = d->current;
    d->current = r;
    pthread_mutex_unlock(&d->mu);
    region_ref_release(old);
}

struct region_ref *region_dir_acquire(struct region_dir *d)
{
    pthread_mutex_lock(&d->mu);
    struct region_ref *r = d->current;
    __atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&d->mu);
    return r;
}
