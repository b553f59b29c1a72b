/* The trunk table (see trunks.h): one array of definitions, the configuration's first, and one
 * registration slot per trunk, under a read-write lock. A table of tens of trunks is scanned
 * linearly: cheaper than any index at that size, and the SIP thread takes the read lock only. */
#include "trunk/trunks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/su_md5.h>

struct reg {
    bool bound;
    struct cidr from;  /* the source as a /32 or /128 */
    struct trunk_reg r;
};

struct trunks {
    pthread_rwlock_t lock;
    char realm[64];
    uint64_t version;
    size_t n_config, n;          /* defs[0..n_config) come from the configuration */
    struct trunk_def *defs;
    struct reg *regs;            /* parallel to defs */
    void (*persist)(void *ctx, const struct trunk_reg *r);
    void *persist_ctx;
};

void trunks_ha1(const char *username, const char *realm, const char *password,
                char out[TRUNK_HA1_LEN + 1])
{
    su_md5_t md5;
    su_md5_init(&md5);
    su_md5_strupdate(&md5, username);
    su_md5_update(&md5, ":", 1);
    su_md5_strupdate(&md5, realm);
    su_md5_update(&md5, ":", 1);
    su_md5_strupdate(&md5, password);
    su_md5_hexdigest(&md5, out);
    su_md5_deinit(&md5);
}

static void def_from_config(struct trunk_def *d, const struct trunk_config *c, const char *realm)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", c->name);
    snprintf(d->account, sizeof d->account, "%s", c->account);
    d->n_allow = c->n_allow;
    memcpy(d->allow, c->allow, sizeof d->allow);
    if (c->username[0]) {
        snprintf(d->username, sizeof d->username, "%s", c->username);
        trunks_ha1(c->username, realm, c->password, d->ha1);
    }
    d->max_calls = c->max_calls;
    if (c->address_port)
        snprintf(d->address, sizeof d->address, strchr(c->address_host, ':') ? "[%s]:%u" : "%s:%u",
                 c->address_host, c->address_port);
}

struct trunks *trunks_create(const struct vcs_config *cfg, const char *realm)
{
    struct trunks *t = calloc(1, sizeof *t);
    size_t n = (size_t)cfg->n_trunks;
    if (!t)
        return NULL;
    t->defs = calloc(n ? n : 1, sizeof *t->defs);
    t->regs = calloc(n ? n : 1, sizeof *t->regs);
    if (!t->defs || !t->regs || pthread_rwlock_init(&t->lock, NULL) != 0) {
        free(t->defs);
        free(t->regs);
        free(t);
        return NULL;
    }
    snprintf(t->realm, sizeof t->realm, "%s", realm);
    for (size_t i = 0; i < n; i++)
        def_from_config(&t->defs[i], &cfg->trunks[i], realm);
    t->n_config = t->n = n;
    t->version = 1;
    return t;
}

void trunks_destroy(struct trunks *t)
{
    if (!t)
        return;
    pthread_rwlock_destroy(&t->lock);
    free(t->defs);
    free(t->regs);
    free(t);
}

const char *trunks_realm(const struct trunks *t)
{
    return t->realm;
}

static ssize_t find_name(const struct trunks *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->defs[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

/* Configuration trunks shadow managed ones of the same name or username. */
static bool shadowed(const struct trunks *t, const struct trunk_def *d)
{
    for (size_t i = 0; i < t->n_config; i++)
        if (strcmp(t->defs[i].name, d->name) == 0 ||
            (d->username[0] && strcmp(t->defs[i].username, d->username) == 0))
            return true;
    return false;
}

int trunks_set_managed(struct trunks *t, const struct trunk_def *defs, size_t n)
{
    size_t cap = t->n_config + n;
    struct trunk_def *nd = calloc(cap ? cap : 1, sizeof *nd);
    struct reg *nr = calloc(cap ? cap : 1, sizeof *nr);
    if (!nd || !nr) {
        free(nd);
        free(nr);
        return -1;
    }
    pthread_rwlock_wrlock(&t->lock);
    memcpy(nd, t->defs, t->n_config * sizeof *nd);
    memcpy(nr, t->regs, t->n_config * sizeof *nr);
    size_t m = t->n_config;
    for (size_t i = 0; i < n; i++) {
        if (shadowed(t, &defs[i]))
            continue;
        nd[m] = defs[i];
        ssize_t old = find_name(t, defs[i].name); /* a registration outlives an update */
        if (old >= 0)
            nr[m] = t->regs[old];
        m++;
    }
    free(t->defs);
    free(t->regs);
    t->defs = nd;
    t->regs = nr;
    t->n = m;
    t->version++;
    pthread_rwlock_unlock(&t->lock);
    return 0;
}

uint64_t trunks_version(struct trunks *t)
{
    pthread_rwlock_rdlock(&t->lock);
    uint64_t v = t->version;
    pthread_rwlock_unlock(&t->lock);
    return v;
}

bool trunks_any(struct trunks *t)
{
    pthread_rwlock_rdlock(&t->lock);
    bool any = t->n > 0;
    pthread_rwlock_unlock(&t->lock);
    return any;
}

bool trunks_config_has(struct trunks *t, const char *name, const char *username)
{
    struct trunk_def probe = { 0 };
    snprintf(probe.name, sizeof probe.name, "%s", name ? name : "");
    snprintf(probe.username, sizeof probe.username, "%s", username ? username : "");
    pthread_rwlock_rdlock(&t->lock);
    bool has = shadowed(t, &probe);
    pthread_rwlock_unlock(&t->lock);
    return has;
}

static void fill(struct trunk_match *out, const struct trunk_def *d)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", d->name);
    snprintf(out->account, sizeof out->account, "%s", d->account);
    out->max_calls = d->max_calls;
}

bool trunks_by_address(struct trunks *t, const struct sockaddr *src, struct trunk_match *out)
{
    bool found = false;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->n && !found; i++)
        for (int c = 0; c < t->defs[i].n_allow && !found; c++)
            if (cidr_contains(&t->defs[i].allow[c], src)) {
                fill(out, &t->defs[i]);
                found = true;
            }
    pthread_rwlock_unlock(&t->lock);
    return found;
}

bool trunks_by_username(struct trunks *t, const char *username, struct trunk_match *out)
{
    bool found = false;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->n && !found; i++)
        if (t->defs[i].username[0] && strcmp(t->defs[i].username, username) == 0) {
            fill(out, &t->defs[i]);
            found = true;
        }
    pthread_rwlock_unlock(&t->lock);
    return found;
}

bool trunks_get(struct trunks *t, const char *name, struct trunk_match *out)
{
    pthread_rwlock_rdlock(&t->lock);
    ssize_t i = find_name(t, name);
    if (i >= 0)
        fill(out, &t->defs[i]);
    pthread_rwlock_unlock(&t->lock);
    return i >= 0;
}

void trunks_each_credential(struct trunks *t,
                            void (*fn)(void *ctx, const char *username, const char *ha1),
                            void *ctx)
{
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->n; i++)
        if (t->defs[i].username[0])
            fn(ctx, t->defs[i].username, t->defs[i].ha1);
    pthread_rwlock_unlock(&t->lock);
}

int trunks_register(struct trunks *t, const struct trunk_reg *r)
{
    struct cidr from;
    if (r->expires_ms && config_parse_cidr(r->source, &from) != 0)
        return -1;
    pthread_rwlock_wrlock(&t->lock);
    ssize_t i = find_name(t, r->trunk);
    if (i >= 0) {
        struct reg *g = &t->regs[i];
        g->bound = r->expires_ms != 0;
        g->r = *r;
        if (g->bound)
            g->from = from;
    }
    pthread_rwlock_unlock(&t->lock);
    if (i >= 0 && t->persist)
        t->persist(t->persist_ctx, r);
    return i >= 0 ? 0 : -1;
}

bool trunks_registration(struct trunks *t, const char *name, int64_t now_ms,
                         struct trunk_reg *out)
{
    pthread_rwlock_rdlock(&t->lock);
    ssize_t i = find_name(t, name);
    bool found = i >= 0 && t->regs[i].bound && t->regs[i].r.expires_ms > now_ms;
    if (found)
        *out = t->regs[i].r;
    pthread_rwlock_unlock(&t->lock);
    return found;
}

void trunks_set_persist(struct trunks *t, void (*fn)(void *ctx, const struct trunk_reg *r),
                        void *ctx)
{
    t->persist = fn;
    t->persist_ctx = ctx;
}

bool trunks_by_registered(struct trunks *t, const struct sockaddr *src, int64_t now_ms,
                          struct trunk_match *out)
{
    bool found = false;
    pthread_rwlock_rdlock(&t->lock);
    for (size_t i = 0; i < t->n && !found; i++) {
        const struct reg *g = &t->regs[i];
        if (g->bound && g->r.expires_ms > now_ms && cidr_contains(&g->from, src)) {
            fill(out, &t->defs[i]);
            found = true;
        }
    }
    pthread_rwlock_unlock(&t->lock);
    return found;
}

int trunks_route(struct trunks *t, const char *name, int64_t now_ms, char *uri, size_t len)
{
    int rc = -1;
    pthread_rwlock_rdlock(&t->lock);
    ssize_t i = find_name(t, name);
    if (i >= 0 && t->regs[i].bound && t->regs[i].r.expires_ms > now_ms)
        rc = snprintf(uri, len, "%s", t->regs[i].r.contact) < (int)len ? 0 : -1;
    else if (i >= 0 && t->defs[i].address[0])
        rc = snprintf(uri, len, "sip:%s", t->defs[i].address) < (int)len ? 0 : -1;
    pthread_rwlock_unlock(&t->lock);
    return rc;
}
