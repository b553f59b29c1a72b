#include "port_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct port_pool {
    pthread_mutex_t mu;
    uint16_t base;     /* first even port */
    unsigned n;        /* number of pairs */
    unsigned next;     /* next-fit cursor */
    bool *used;
};

struct port_pool *port_pool_create(uint16_t lo, uint16_t hi)
{
    uint16_t base = (uint16_t)((lo + 1u) & ~1u);
    if (hi < base + 1u)
        return NULL;
    struct port_pool *pp = calloc(1, sizeof *pp);
    if (!pp)
        return NULL;
    pp->base = base;
    pp->n = ((unsigned)hi - base + 1u) / 2u;
    pp->used = calloc(pp->n, sizeof *pp->used);
    if (!pp->used) {
        free(pp);
        return NULL;
    }
    pthread_mutex_init(&pp->mu, NULL);
    return pp;
}

void port_pool_destroy(struct port_pool *pp)
{
    if (!pp)
        return;
    pthread_mutex_destroy(&pp->mu);
    free(pp->used);
    free(pp);
}

uint16_t port_pool_take(struct port_pool *pp)
{
    uint16_t port = 0;
    pthread_mutex_lock(&pp->mu);
    for (unsigned k = 0; k < pp->n; k++) {
        unsigned i = (pp->next + k) % pp->n;
        if (!pp->used[i]) {
            pp->used[i] = true;
            pp->next = (i + 1) % pp->n;
            port = (uint16_t)(pp->base + 2u * i);
            break;
        }
    }
    pthread_mutex_unlock(&pp->mu);
    return port;
}

void port_pool_release(struct port_pool *pp, uint16_t port)
{
    unsigned i = (unsigned)(port - pp->base) / 2u;
    if (port < pp->base || i >= pp->n)
        return;
    pthread_mutex_lock(&pp->mu);
    pp->used[i] = false;
    pthread_mutex_unlock(&pp->mu);
}

unsigned port_pool_size(const struct port_pool *pp)
{
    return pp->n;
}
