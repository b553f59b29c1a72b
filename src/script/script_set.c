#include "script/script_set.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "core/log.h"
#include "script/routes.h"
#include "core/thread_class.h"

#define MAX_SOURCE_BYTES (4 * 1024 * 1024)
#define MAX_MODULE_DEPTH 4

struct script_registry {
    struct sandbox_config cfg;
    pthread_mutex_t reload_mu; /* one reload at a time */
    pthread_mutex_t mu;        /* guards current */
    struct script_set *current;
    long last_version;
};

/* ---- lookup ------------------------------------------------------------------------------- */

static int source_cmp(const void *a, const void *b)
{
    return strcmp(((const struct script_source *)a)->name, ((const struct script_source *)b)->name);
}

const struct script_source *script_set_find(const struct script_set *set, const char *name)
{
    struct script_source key = { .name = (char *)name };
    if (!set->n_sources)
        return NULL; /* bsearch must not see a NULL array */
    return bsearch(&key, set->sources, set->n_sources, sizeof key, source_cmp);
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static void set_free(struct script_set *set)
{
    for (size_t i = 0; i < set->n_sources; i++) {
        free(set->sources[i].name);
        free(set->sources[i].chunkname);
        free(set->sources[i].code);
    }
    free(set->sources);
    routes_free(set->routes);
    free(set);
}

void script_set_retain(struct script_set *set)
{
    __atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
}

void script_set_release(struct script_set *set)
{
    if (set && __atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL) == 0)
        set_free(set);
}

struct script_set *script_registry_acquire(struct script_registry *reg)
{
    pthread_mutex_lock(&reg->mu);
    struct script_set *set = reg->current;
    if (set)
        script_set_retain(set);
    pthread_mutex_unlock(&reg->mu);
    return set;
}

struct script_registry *script_registry_create(const struct sandbox_config *cfg)
{
    struct script_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return NULL;
    reg->cfg = *cfg;
    pthread_mutex_init(&reg->reload_mu, NULL);
    thread_class_mutex_init(&reg->mu);
    return reg;
}

void script_registry_destroy(struct script_registry *reg)
{
    if (!reg)
        return;
    script_set_release(reg->current);
    pthread_mutex_destroy(&reg->reload_mu);
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

/* ---- reading sources ---------------------------------------------------------------------- */

struct source_list {
    size_t n, cap;
    struct script_source *v;
};

/* "./dialplans/x.lua" reads better as "dialplans/x.lua" in messages. */
static const char *display_path(const char *path)
{
    return strncmp(path, "./", 2) == 0 ? path + 2 : path;
}

static int add_source(struct source_list *l, const char *name, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", display_path(path), strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size > MAX_SOURCE_BYTES) {
        snprintf(err, errlen, "%s: too large (limit %d bytes)", display_path(path), MAX_SOURCE_BYTES);
        fclose(f);
        return -1;
    }
    char *code = malloc((size_t)st.st_size + 1);
    size_t len = code ? fread(code, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!code) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    code[len] = '\0';
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct script_source *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(code);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        l->v = v;
        l->cap = cap;
    }
    struct script_source *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    s->name = strdup(name);
    s->code = code;
    s->len = len;
    size_t clen = strlen(path) + 2;
    s->chunkname = malloc(clen);
    if (s->chunkname)
        snprintf(s->chunkname, clen, "@%s", display_path(path));
    if (!s->name || !s->chunkname) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static bool plain_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool lua_file(const char *file, size_t *stem)
{
    size_t n = strlen(file);
    if (n <= 4 || strcmp(file + n - 4, ".lua") != 0)
        return false;
    *stem = n - 4;
    return true;
}

static int read_dialplans(struct source_list *l, const char *dir, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", display_path(dir), strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        size_t stem;
        if (!lua_file(e->d_name, &stem) || strcmp(e->d_name, "routes.lua") == 0)
            continue;
        if (!plain_name(e->d_name, stem)) {
            log_warn("reload: skipping %s/%s: script names use letters, digits, '_' and '-'",
                     display_path(dir), e->d_name);
            continue;
        }
        char path[1024], name[256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%.*s", (int)stem, e->d_name);
        rc = add_source(l, name, path, err, errlen);
    }
    closedir(d);
    return rc;
}

/* lua/vcs/ivr.lua becomes module "vcs.ivr". */
static int read_modules(struct source_list *l, const char *root, const char *prefix, int depth,
                        char *err, size_t errlen)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s%s%s", root, prefix[0] ? "/" : "", prefix);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no shipped modules: nothing to offer */
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1280], sub[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t stem;
        if (S_ISDIR(st.st_mode) && depth < MAX_MODULE_DEPTH && plain_name(e->d_name, strlen(e->d_name))) {
            snprintf(sub, sizeof sub, "%s%s%s", prefix, prefix[0] ? "/" : "", e->d_name);
            rc = read_modules(l, root, sub, depth + 1, err, errlen);
        } else if (S_ISREG(st.st_mode) && lua_file(e->d_name, &stem) && plain_name(e->d_name, stem)) {
            char name[512];
            snprintf(name, sizeof name, "%s%s%.*s", prefix, prefix[0] ? "/" : "", (int)stem, e->d_name);
            for (char *p = name; *p; p++)
                if (*p == '/')
                    *p = '.';
            rc = add_source(l, name, path, err, errlen);
        }
    }
    closedir(d);
    return rc;
}

/* ---- checking ----------------------------------------------------------------------------- */

/* Runs every chunk once in a throw-away sandbox: syntax, top-level errors and the kind of value
 * returned are found here, before anything is published. */
static int check_sources(const struct sandbox_config *cfg, struct script_set *set, char *err, size_t errlen)
{
    lua_State *L = sandbox_new_state(cfg);
    if (!L) {
        snprintf(err, errlen, "cannot create a Lua state");
        return -1;
    }
    struct mem_account acct = { .limit = cfg->max_memory };
    sandbox_run_as(L, &acct, "reload");
    lua_newtable(L);
    int loaded = lua_gettop(L);
    int rc = 0;
    for (size_t i = 0; i < set->n_sources && rc == 0; i++) {
        struct script_source *src = &set->sources[i];
        if (lua_getfield(L, loaded, src->name) == LUA_TNIL) {
            lua_pop(L, 1);
            sandbox_arm(L, cfg->max_instructions);
            if (sandbox_load_source(L, set, src->name, loaded) != LUA_OK) {
                snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
                rc = -1;
                break;
            }
            lua_pushvalue(L, -1);
            lua_setfield(L, loaded, src->name);
        }
        bool module = strchr(src->name, '.') != NULL;
        src->handler = lua_isfunction(L, -1);
        if (!module && !src->handler && !lua_istable(L, -1)) {
            snprintf(err, errlen, "%s: must return a function (the call handler) or a table (a module)",
                     src->chunkname + 1);
            rc = -1;
        }
        lua_pop(L, 1);
    }
    sandbox_arm(L, 0);
    sandbox_close_state(L);
    return rc;
}

static int check_routes(const struct script_set *set, const char *dir, char *err, size_t errlen)
{
    for (size_t i = 0; i < set->routes->n; i++) {
        const struct script_source *src = script_set_find(set, set->routes->list[i].script);
        if (!src || !src->handler) {
            snprintf(err, errlen, "%s/routes.lua: entry %zu: script '%s' is not a dialplan in %s",
                     display_path(dir), i + 1, set->routes->list[i].script, display_path(dir));
            return -1;
        }
    }
    return 0;
}

int script_registry_reload(struct script_registry *reg, char *err, size_t errlen)
{
    pthread_mutex_lock(&reg->reload_mu);
    struct script_set *set = calloc(1, sizeof *set);
    struct source_list l = { 0 };
    int rc = -1;
    if (!set) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    set->refs = 1;
    if (read_dialplans(&l, reg->cfg.dialplans_dir, err, errlen) != 0 ||
        read_modules(&l, reg->cfg.lua_dir, "", 0, err, errlen) != 0) {
        set->sources = l.v;
        set->n_sources = l.n;
        goto out;
    }
    set->sources = l.v;
    set->n_sources = l.n;
    if (set->n_sources)
        qsort(set->sources, set->n_sources, sizeof *set->sources, source_cmp);
    for (size_t i = 1; i < set->n_sources; i++) {
        if (strcmp(set->sources[i - 1].name, set->sources[i].name) == 0) {
            snprintf(err, errlen, "%s and %s both define '%s'", set->sources[i - 1].chunkname + 1,
                     set->sources[i].chunkname + 1, set->sources[i].name);
            goto out;
        }
    }
    char routes_path[1024];
    snprintf(routes_path, sizeof routes_path, "%s/routes.lua", reg->cfg.dialplans_dir);
    struct stat st;
    if (stat(routes_path, &st) == 0)
        set->routes = routes_load(routes_path, err, errlen);
    else
        set->routes = routes_load_buffer("return {}", 9, "routes.lua", err, errlen);
    if (!set->routes)
        goto out;
    if (check_sources(&reg->cfg, set, err, errlen) != 0 ||
        check_routes(set, reg->cfg.dialplans_dir, err, errlen) != 0)
        goto out;
    set->version = ++reg->last_version;
    pthread_mutex_lock(&reg->mu);
    struct script_set *old = reg->current;
    reg->current = set;
    pthread_mutex_unlock(&reg->mu);
    script_set_release(old);
    set = NULL;
    rc = 0;
out:
    if (set)
        set_free(set);
    pthread_mutex_unlock(&reg->reload_mu);
    return rc;
}
