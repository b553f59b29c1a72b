/* The gateway resolver thread (see gw_resolver.h). */
#include "trunk/gw_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/thread_class.h"
#include "trunk/gateways.h"

#define RESOLVE_EVERY_S 60
#define RETRY_S 5

struct gw_resolver {
    struct gateways *g;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static bool is_name(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}

/* Resolves gateway i; false when the name does not resolve now. */
static bool resolve(struct gateways *g, size_t i)
{
    const struct gateway_config *gc = gateways_config(g, i);
    char port[8];
    snprintf(port, sizeof port, "%u", gc->port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = gc->transport == SIP_TRANSPORT_TCP ? SOCK_STREAM
                                                                                : SOCK_DGRAM };
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(gc->host, port, &hints, &res);
    if (rc != 0 || !res) {
        log_warn("gateway %s: cannot resolve %s: %s", gc->name, gc->host, gai_strerror(rc));
        return false;
    }
    /* Our SIP socket is usually IPv4: an IPv4 answer first ("localhost" is both). */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    struct sockaddr_storage old;
    socklen_t old_len;
    bool had = gateways_address(g, i, &old, &old_len);
    if (!had || old_len != pick->ai_addrlen || memcmp(&old, pick->ai_addr, old_len) != 0) {
        char ip[64] = "?";
        const void *raw = pick->ai_family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)pick->ai_addr)->sin_addr;
        inet_ntop(pick->ai_family, raw, ip, sizeof ip);
        log_info("gateway %s: %s is %s", gc->name, gc->host, ip);
    }
    gateways_set_address(g, i, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

static void *run(void *arg)
{
    struct gw_resolver *r = arg;
    thread_class_background("gateway resolver");
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        bool all = true;
        for (size_t i = 0; i < gateways_count(r->g); i++)
            if (is_name(gateways_config(r->g, i)->host))
                all = resolve(r->g, i) && all;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += all ? RESOLVE_EVERY_S : RETRY_S;
        pthread_mutex_lock(&r->mu);
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct gw_resolver *gw_resolver_start(struct gateways *g)
{
    bool any = false;
    for (size_t i = 0; i < gateways_count(g); i++)
        any = any || is_name(gateways_config(g, i)->host);
    struct gw_resolver *r = any ? calloc(1, sizeof *r) : NULL;
    if (!r)
        return NULL;
    r->g = g;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        log_error("gateways: cannot start the resolver thread");
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        free(r);
        return NULL;
    }
    return r;
}

void gw_resolver_stop(struct gw_resolver *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL); /* a getaddrinfo in progress ends by its own timeout */
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
