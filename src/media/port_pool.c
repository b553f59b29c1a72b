#include "port_pool.h"
#include "core/thread_class.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#define COOL_MAX 1024u

enum { SLOT_FREE, SLOT_USED, SLOT_COOLING };

struct port_pool {
    pthread_mutex_t mu;
    uint16_t base;      /* first even port */
    unsigned n;         /* number of pairs */
    uint8_t *state;     /* per pair: SLOT_* */
    unsigned *free;     /* pair indexes ready to hand out, in any order */
    unsigned nfree;
    unsigned *cool;     /* ring of released pairs, oldest first */
    unsigned cool_cap, cool_head, ncool;
    uint64_t rng;       /* xorshift64* state */
};

static uint64_t seed(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v)
        v = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&v;
    return v | 1; /* xorshift must not start at zero */
}

/* Uniform in [0, bound): 64 random bits make the modulo bias negligible (< 2^-48 here). */
static unsigned below(struct port_pool *pp, unsigned bound)
{
    pp->rng ^= pp->rng >> 12;
    pp->rng ^= pp->rng << 25;
    pp->rng ^= pp->rng >> 27;
    return (unsigned)((pp->rng * 0x2545F4914F6CDD1DULL) % bound);
}

struct port_pool *port_pool_create(uint16_t lo, uint16_t hi)
{
    uint16_t base = (uint16_t)((lo + 1u) & ~1u);
    if (hi < base + 1u)
        return NULL;
    struct port_pool *pp = calloc(1, sizeof *pp);
    if (!pp)
        return NULL;
    thread_class_mutex_init(&pp->mu);
    pp->base = base;
    pp->n = ((unsigned)hi - base + 1u) / 2u;
    pp->cool_cap = pp->n / 4u < COOL_MAX ? pp->n / 4u : COOL_MAX;
    pp->state = calloc(pp->n, sizeof *pp->state);
    pp->free = calloc(pp->n, sizeof *pp->free);
    pp->cool = calloc(pp->cool_cap + 1u, sizeof *pp->cool);
    if (!pp->state || !pp->free || !pp->cool) {
        port_pool_destroy(pp);
        return NULL;
    }
    for (unsigned i = 0; i < pp->n; i++)
        pp->free[i] = i;
    pp->nfree = pp->n;
    pp->rng = seed();
    return pp;
}

void port_pool_destroy(struct port_pool *pp)
{
    if (!pp)
        return;
    pthread_mutex_destroy(&pp->mu);
    free(pp->state);
    free(pp->free);
    free(pp->cool);
    free(pp);
}

static unsigned cool_pop(struct port_pool *pp)
{
    unsigned i = pp->cool[pp->cool_head];
    pp->cool_head = (pp->cool_head + 1u) % pp->cool_cap;
    pp->ncool--;
    return i;
}

uint16_t port_pool_take(struct port_pool *pp)
{
    uint16_t port = 0;
    pthread_mutex_lock(&pp->mu);
    unsigned i = pp->n;
    if (pp->nfree) {
        unsigned k = below(pp, pp->nfree);
        i = pp->free[k];
        pp->free[k] = pp->free[--pp->nfree];
    } else if (pp->ncool) {
        i = cool_pop(pp); /* nothing else is free: the coolest one will do */
    }
    if (i < pp->n) {
        pp->state[i] = SLOT_USED;
        port = (uint16_t)(pp->base + 2u * i);
    }
    pthread_mutex_unlock(&pp->mu);
    return port;
}

void port_pool_release(struct port_pool *pp, uint16_t port)
{
    if (port < pp->base || (port - pp->base) % 2u)
        return;
    unsigned i = (unsigned)(port - pp->base) / 2u;
    if (i >= pp->n)
        return;
    pthread_mutex_lock(&pp->mu);
    if (pp->state[i] == SLOT_USED) {
        if (!pp->cool_cap) {
            pp->state[i] = SLOT_FREE;
            pp->free[pp->nfree++] = i;
        } else {
            if (pp->ncool == pp->cool_cap) { /* the oldest has cooled down */
                unsigned j = cool_pop(pp);
                pp->state[j] = SLOT_FREE;
                pp->free[pp->nfree++] = j;
            }
            pp->state[i] = SLOT_COOLING;
            pp->cool[(pp->cool_head + pp->ncool) % pp->cool_cap] = i;
            pp->ncool++;
        }
    }
    pthread_mutex_unlock(&pp->mu);
}

unsigned port_pool_size(const struct port_pool *pp)
{
    return pp->n;
}
