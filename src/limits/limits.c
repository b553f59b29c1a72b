/* Concurrency limits. See limits.h. */
#include "limits/limits.h"
#include "core/thread_class.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct limit_entry {
    char *key;
    int count;
};

/* Open addressing, never shrinking: keys are numbers, accounts, trunks and gateways we know. */
struct table {
    struct limit_entry **slots;
    size_t cap, used;
};

struct limits {
    pthread_mutex_t mu;
    struct table scopes[LIMIT_SCOPES];
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct limit_entry *find(const struct table *t, const char *key)
{
    if (!t->cap)
        return NULL;
    for (size_t i = hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slots[i])
            return NULL;
        if (strcmp(t->slots[i]->key, key) == 0)
            return t->slots[i];
    }
}

static int grow(struct table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct limit_entry **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i])
            continue;
        size_t j = hash(t->slots[i]->key) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

static struct limit_entry *find_or_add(struct table *t, const char *key)
{
    struct limit_entry *e = find(t, key);
    if (e)
        return e;
    if ((t->used + 1) * 2 > t->cap && grow(t) != 0)
        return NULL;
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return NULL;
    }
    size_t i = hash(key) & (t->cap - 1);
    while (t->slots[i])
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = e;
    t->used++;
    return e;
}

struct limits *limits_create(void)
{
    struct limits *l = calloc(1, sizeof *l);
    if (l)
        thread_class_mutex_init(&l->mu);
    return l;
}

void limits_destroy(struct limits *l)
{
    if (!l)
        return;
    for (int s = 0; s < LIMIT_SCOPES; s++) {
        for (size_t i = 0; i < l->scopes[s].cap; i++) {
            if (l->scopes[s].slots[i]) {
                free(l->scopes[s].slots[i]->key);
                free(l->scopes[s].slots[i]);
            }
        }
        free(l->scopes[s].slots);
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int limits_acquire(struct limits *l, const struct limit_claim *claim, struct limit_ticket *t,
                   enum limit_scope *full)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_lock(&l->mu);
    /* Look everything up first, then count: a refusal changes nothing. */
    for (int s = 0; s < LIMIT_SCOPES; s++) {
        const char *key = claim->key[s];
        if (!key || !key[0])
            continue;
        struct limit_entry *e = find_or_add(&l->scopes[s], key);
        if (!e) {
            pthread_mutex_unlock(&l->mu);
            *full = LIMIT_SCOPES;
            memset(t, 0, sizeof *t);
            return -1;
        }
        if (claim->max[s] > 0 && e->count >= claim->max[s]) {
            pthread_mutex_unlock(&l->mu);
            *full = (enum limit_scope)s;
            memset(t, 0, sizeof *t);
            return -1;
        }
        t->held[s] = e;
    }
    for (int s = 0; s < LIMIT_SCOPES; s++)
        if (t->held[s])
            t->held[s]->count++;
    t->taken = true;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void limits_release(struct limits *l, struct limit_ticket *t)
{
    if (!t->taken)
        return;
    pthread_mutex_lock(&l->mu);
    for (int s = 0; s < LIMIT_SCOPES; s++)
        if (t->held[s] && t->held[s]->count > 0)
            t->held[s]->count--;
    pthread_mutex_unlock(&l->mu);
    memset(t, 0, sizeof *t);
}

int limits_count(struct limits *l, enum limit_scope scope, const char *key)
{
    pthread_mutex_lock(&l->mu);
    struct limit_entry *e = find(&l->scopes[scope], key);
    int n = e ? e->count : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}

const char *limit_reason(enum limit_scope scope)
{
    static const char *const reasons[] = { "number limit", "account limit", "trunk limit", "gateway limit" };
    return scope < LIMIT_SCOPES ? reasons[scope] : "out of memory";
}
