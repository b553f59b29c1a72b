/* The registry of legs up now. See live_calls.h. */
#include "call/live_calls.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/idmap.h"
#include "core/thread_class.h"

struct live_calls {
    pthread_mutex_t mu;
    struct idmap legs; /* leg id -> struct live_call * */
};

struct live_calls *live_calls_create(void)
{
    struct live_calls *l = calloc(1, sizeof *l);
    if (!l || idmap_init(&l->legs, 1024) != 0) {
        free(l);
        return NULL;
    }
    thread_class_mutex_init(&l->mu);
    return l;
}

void live_calls_destroy(struct live_calls *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->legs.cap; i++)
        if (l->legs.keys[i])
            free(l->legs.vals[i]);
    idmap_free(&l->legs);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int live_calls_put(struct live_calls *l, const struct live_call *lc)
{
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    struct live_call *e = idmap_get(&l->legs, lc->leg_id);
    if (e) {
        *e = *lc;
    } else if ((e = malloc(sizeof *e))) {
        *e = *lc;
        if (idmap_put(&l->legs, lc->leg_id, e) != 0) {
            free(e);
            rc = -1;
        }
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

void live_calls_remove(struct live_calls *l, uint64_t leg_id)
{
    pthread_mutex_lock(&l->mu);
    free(idmap_remove(&l->legs, leg_id));
    pthread_mutex_unlock(&l->mu);
}

uint64_t live_call_leg_of(const char *id)
{
    const char *dash = id ? strrchr(id, '-') : NULL;
    if (!dash || !dash[1] || strspn(dash + 1, "0123456789abcdef") != strlen(dash + 1) ||
        strlen(dash + 1) > 16)
        return 0;
    return strtoull(dash + 1, NULL, 16);
}

bool live_calls_find(struct live_calls *l, const char *id, struct live_call *out)
{
    uint64_t leg = live_call_leg_of(id);
    if (!leg)
        return false;
    pthread_mutex_lock(&l->mu);
    const struct live_call *e = idmap_get(&l->legs, leg);
    bool found = e && strcmp(e->id, id) == 0;
    if (found)
        *out = *e;
    pthread_mutex_unlock(&l->mu);
    return found;
}

static int by_start(const void *a, const void *b)
{
    const struct live_call *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

long live_calls_list(struct live_calls *l, const char *account, struct live_call **out)
{
    pthread_mutex_lock(&l->mu);
    struct live_call *arr = malloc((l->legs.count + 1) * sizeof *arr);
    long n = 0;
    for (size_t i = 0; arr && i < l->legs.cap; i++) {
        const struct live_call *e = l->legs.keys[i] ? l->legs.vals[i] : NULL;
        if (e && (!account || strcmp(e->account, account) == 0))
            arr[n++] = *e;
    }
    pthread_mutex_unlock(&l->mu);
    if (!arr)
        return -1;
    if (n > 1)
        qsort(arr, (size_t)n, sizeof *arr, by_start);
    *out = arr;
    return n;
}
