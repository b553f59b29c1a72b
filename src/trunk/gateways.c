/* See gateways.h. */
#include "trunk/gateways.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct gateway_rt {
    struct sockaddr_storage addr;
    socklen_t addr_len; /* 0: unresolved */
    atomic_bool up;
    atomic_bool registered;
    atomic_llong probe_ms;
};

struct gateways {
    const struct vcs_config *cfg;
    pthread_rwlock_t lock; /* the addresses */
    struct gateway_rt *rt;
};

/* A literal IPv4 or IPv6 address with the configured port, or 0. */
static socklen_t literal_address(const struct gateway_config *gc, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, gc->host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(gc->port);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, gc->host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(gc->port);
        return sizeof *v6;
    }
    return 0;
}

struct gateways *gateways_create(const struct vcs_config *cfg)
{
    struct gateways *g = calloc(1, sizeof *g);
    size_t n = (size_t)cfg->n_gateways;
    if (!g || !(g->rt = calloc(n ? n : 1, sizeof *g->rt))) {
        free(g);
        return NULL;
    }
    g->cfg = cfg;
    pthread_rwlock_init(&g->lock, NULL);
    for (size_t i = 0; i < n; i++) {
        g->rt[i].addr_len = literal_address(&cfg->gateways[i], &g->rt[i].addr);
        atomic_init(&g->rt[i].up, true);
        atomic_init(&g->rt[i].registered, false);
        atomic_init(&g->rt[i].probe_ms, -1);
    }
    return g;
}

void gateways_destroy(struct gateways *g)
{
    if (!g)
        return;
    pthread_rwlock_destroy(&g->lock);
    free(g->rt);
    free(g);
}

size_t gateways_count(const struct gateways *g)
{
    return (size_t)g->cfg->n_gateways;
}

const struct gateway_config *gateways_config(const struct gateways *g, size_t i)
{
    return i < gateways_count(g) ? &g->cfg->gateways[i] : NULL;
}

int gateways_find(const struct gateways *g, const char *name)
{
    for (size_t i = 0; i < gateways_count(g); i++)
        if (strcmp(g->cfg->gateways[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (b->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}

int gateways_match_source(struct gateways *g, const struct sockaddr *sa)
{
    if (!sa)
        return -1;
    int found = -1;
    pthread_rwlock_rdlock(&g->lock);
    for (size_t i = 0; i < gateways_count(g) && found < 0; i++)
        if (g->cfg->gateways[i].inbound && g->rt[i].addr_len && same_host(&g->rt[i].addr, sa))
            found = (int)i;
    pthread_rwlock_unlock(&g->lock);
    return found;
}

void gateways_set_address(struct gateways *g, size_t i, const struct sockaddr *sa, socklen_t len)
{
    if (i >= gateways_count(g) || len > sizeof(struct sockaddr_storage))
        return;
    pthread_rwlock_wrlock(&g->lock);
    memset(&g->rt[i].addr, 0, sizeof g->rt[i].addr);
    if (sa && len)
        memcpy(&g->rt[i].addr, sa, len);
    g->rt[i].addr_len = sa ? len : 0;
    pthread_rwlock_unlock(&g->lock);
}

bool gateways_address(struct gateways *g, size_t i, struct sockaddr_storage *out, socklen_t *len)
{
    if (i >= gateways_count(g))
        return false;
    pthread_rwlock_rdlock(&g->lock);
    *out = g->rt[i].addr;
    *len = g->rt[i].addr_len;
    pthread_rwlock_unlock(&g->lock);
    return *len != 0;
}

void gateways_set_up(struct gateways *g, size_t i, bool up)
{
    if (i < gateways_count(g))
        atomic_store(&g->rt[i].up, up);
}

bool gateways_is_up(const struct gateways *g, size_t i)
{
    return i < gateways_count(g) && atomic_load(&g->rt[i].up);
}

void gateways_set_registered(struct gateways *g, size_t i, bool registered)
{
    if (i < gateways_count(g))
        atomic_store(&g->rt[i].registered, registered);
}

bool gateways_registered(const struct gateways *g, size_t i)
{
    return i < gateways_count(g) && atomic_load(&g->rt[i].registered);
}

void gateways_set_probe_ms(struct gateways *g, size_t i, long long ms)
{
    if (i < gateways_count(g))
        atomic_store(&g->rt[i].probe_ms, ms);
}

long long gateways_probe_ms(const struct gateways *g, size_t i)
{
    return i < gateways_count(g) ? atomic_load(&g->rt[i].probe_ms) : -1;
}
