/* See number_table.h. */
#include "numbers/number_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/thread_class.h"

struct number_snapshot {
    int refs;
    size_t n;
    struct number_record *list; /* sorted by number */
};

struct number_directory {
    struct store *store;
    pthread_mutex_t sync_mu;    /* one reader of the database at a time */
    pthread_mutex_t mu;         /* guards current */
    struct number_snapshot *current;
    long long rev;              /* of current; -1 before the first read */
};

static int number_cmp(const void *a, const void *b)
{
    return strcmp(((const struct number_record *)a)->number,
                  ((const struct number_record *)b)->number);
}

static struct number_snapshot *snapshot_new(struct number_record *list, size_t n)
{
    struct number_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->refs = 1;
    s->list = list;
    s->n = n;
    if (n)
        qsort(list, n, sizeof *list, number_cmp);
    return s;
}

void number_snapshot_release(struct number_snapshot *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(s->list);
        free(s);
    }
}

const struct number_record *number_snapshot_find(const struct number_snapshot *s,
                                                 const char *number)
{
    struct number_record key;
    if (!s || !s->n || !number || strlen(number) >= sizeof key.number)
        return NULL;
    strcpy(key.number, number);
    return bsearch(&key, s->list, s->n, sizeof key, number_cmp);
}

size_t number_snapshot_of_account(const struct number_snapshot *s, const char *account,
                                  const struct number_record **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; s && i < s->n && n < max; i++)
        if (strcmp(s->list[i].account, account) == 0)
            out[n++] = &s->list[i];
    return n;
}

struct number_directory *number_directory_create(struct store *st)
{
    struct number_directory *d = calloc(1, sizeof *d);
    if (!d || !(d->current = snapshot_new(NULL, 0))) {
        free(d);
        return NULL;
    }
    d->store = st;
    d->rev = -1;
    pthread_mutex_init(&d->sync_mu, NULL);
    thread_class_mutex_init(&d->mu);
    return d;
}

void number_directory_destroy(struct number_directory *d)
{
    if (!d)
        return;
    number_snapshot_release(d->current);
    pthread_mutex_destroy(&d->sync_mu);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

int number_directory_sync(struct number_directory *d, bool force)
{
    pthread_mutex_lock(&d->sync_mu);
    long long rev = store_numbers_rev(d->store);
    int rc = 0;
    if (force || rev < 0 || rev != d->rev) {
        struct number_record *list = NULL;
        size_t n = 0;
        struct number_snapshot *s = NULL;
        if (store_active_numbers(d->store, &list, &n) != 0 || !(s = snapshot_new(list, n))) {
            free(list);
            log_error("numbers: cannot read the number table; calls keep the last one read");
            rc = -1;
        } else {
            pthread_mutex_lock(&d->mu);
            struct number_snapshot *old = d->current;
            d->current = s;
            pthread_mutex_unlock(&d->mu);
            number_snapshot_release(old);
            d->rev = rev;
        }
    }
    pthread_mutex_unlock(&d->sync_mu);
    return rc;
}

struct number_snapshot *number_directory_acquire(struct number_directory *d)
{
    pthread_mutex_lock(&d->mu);
    struct number_snapshot *s = d->current;
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&d->mu);
    return s;
}
