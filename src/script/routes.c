/* routes.lua: loaded in a throw-away Lua state that has only the base, string and math libraries
 * (no load, dofile, io, os or require), under an instruction budget and a memory budget, so a
 * broken file ends in an error message, never a hang. Each entry is validated and compiled with
 * PCRE2 (JIT when available); the result is plain C data, immutable after loading. Matching uses
 * one match-data block per thread, so any thread may match concurrently without allocating. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "routes.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/lua_bounded.h"
#include "core/log.h"

#define ROUTES_MAX_INSTRUCTIONS 10000000
#define ROUTES_MAX_MEMORY ((size_t)16 << 20)
#define ROUTES_MAX_FILE ((size_t)4 << 20)
#define SCRIPT_NAME_MAX 128
/* Backtracking budget per pattern and number: a pathological pattern written by an admin
 * costs a few milliseconds and counts as no match, instead of stalling a worker. */
#define ROUTES_MATCH_LIMIT 1000000

/* struct routes as handed out, plus what matching needs and callers do not. */
struct routes_box {
    struct routes pub;
    pcre2_match_context *mctx;
};

/* ---- validation ---------------------------------------------------------------------------- */

struct load {
    const char *buf;
    size_t len;
    const char *name;
    struct routes_box *box;
    char *err;
    size_t errlen;
    int load_status; /* of luaL_loadbufferx, so that a memory error keeps its status */
    int ok;
};

static int fail(struct load *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct load *ld, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ld->errlen > 0)
        snprintf(ld->err, ld->errlen, "%s: %s", ld->name, msg);
    return -1;
}

/* A key or value from the file, fit to quote in a message: printable, at most 48 bytes. */
static void quote(char out[64], const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 48; i++)
        out[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* A copy of the string at idx; NULL after an error for a non-string or an embedded NUL (the C
 * side would silently cut the value there). what names the value in the message. */
static char *dup_string(struct load *ld, lua_State *L, int idx, const char *what)
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        fail(ld, "%s: expected string, got %s", what, luaL_typename(L, idx));
        return NULL;
    }
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    if (strlen(s) != len) {
        fail(ld, "%s: contains a NUL byte", what);
        return NULL;
    }
    char *copy = strdup(s);
    if (copy == NULL)
        fail(ld, "%s: out of memory", what);
    return copy;
}

static int compile_pattern(struct load *ld, size_t i, struct route *r)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, 0, &code,
                                   &offset, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "PCRE2 error %d", code);
        return fail(ld, "entry %zu: match: %s at offset %zu", i, (const char *)msg, (size_t)offset);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter still works without */
    r->code = re;
    return 0;
}

static int check_script_name(struct load *ld, size_t i, const char *s)
{
    size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    char q[64];
    quote(q, s, strlen(s));
    if (n == 0 || s[n] != '\0')
        return fail(ld, "entry %zu: script: expected a name of letters, digits, '_' and '-' "
                        "(the file dialplans/NAME.lua), got \"%s\"", i, q);
    if (n > SCRIPT_NAME_MAX)
        return fail(ld, "entry %zu: script: name longer than %d bytes", i, SCRIPT_NAME_MAX);
    return 0;
}

static int var_cmp(const void *a, const void *b)
{
    return strcmp(((const struct route_var *)a)->key, ((const struct route_var *)b)->key);
}

bool route_var_scalar(lua_State *L, int idx, struct route_var *v)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            v->type = ROUTE_VAR_INTEGER;
            v->integer = (long long)lua_tointeger(L, idx);
        } else {
            v->type = ROUTE_VAR_NUMBER;
            v->number = (double)lua_tonumber(L, idx);
        }
        return true;
    case LUA_TBOOLEAN:
        v->type = ROUTE_VAR_BOOLEAN;
        v->boolean = lua_toboolean(L, idx);
        return true;
    default:
        return false;
    }
}

static int load_vars(struct load *ld, lua_State *L, int idx, size_t i, struct route *r)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return fail(ld, "entry %zu: vars: expected table, got %s", i, luaL_typename(L, idx));
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
    }
    if (n == 0)
        return 0;
    r->vars = calloc(n, sizeof *r->vars);
    if (r->vars == NULL)
        return fail(ld, "entry %zu: vars: out of memory", i);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return fail(ld, "entry %zu: vars: keys must be strings, got %s", i,
                        luaL_typename(L, -2));
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen);
        char what[128], q[64];
        quote(q, k, klen);
        snprintf(what, sizeof what, "entry %zu: vars.%s", i, q);
        struct route_var *v = &r->vars[r->n_vars];
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            v->type = ROUTE_VAR_STRING;
            v->str = dup_string(ld, L, -1, what);
            if (v->str == NULL)
                return -1;
            break;
        default:
            if (route_var_scalar(L, -1, v))
                break;
            return fail(ld, "%s: expected string, number or boolean, got %s", what,
                        luaL_typename(L, -1));
        }
        v->key = dup_string(ld, L, -2, what);
        if (v->key == NULL) {
            free(v->str);
            return -1;
        }
        r->n_vars++;
        lua_pop(L, 1);
    }
    if (r->n_vars)
        qsort(r->vars, r->n_vars, sizeof *r->vars, var_cmp); /* an order that hashing cannot change */
    return 0;
}

/* Compares the key at idx with name, length included: "match\0x" is not "match". */
static int key_is(lua_State *L, int idx, const char *name)
{
    size_t len;
    if (lua_type(L, idx) != LUA_TSTRING)
        return 0;
    const char *k = lua_tolstring(L, idx, &len);
    return len == strlen(name) && memcmp(k, name, len) == 0;
}

static int load_entry(struct load *ld, lua_State *L, int idx, size_t i, struct route *r)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return fail(ld, "entry %zu: expected table, got %s", i, luaL_typename(L, idx));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char what[64];
        if (key_is(L, -2, "match")) {
            snprintf(what, sizeof what, "entry %zu: match", i);
            r->pattern = dup_string(ld, L, -1, what);
            if (r->pattern == NULL || compile_pattern(ld, i, r) < 0)
                return -1;
        } else if (key_is(L, -2, "script")) {
            snprintf(what, sizeof what, "entry %zu: script", i);
            r->script = dup_string(ld, L, -1, what);
            if (r->script == NULL || check_script_name(ld, i, r->script) < 0)
                return -1;
        } else if (key_is(L, -2, "vars")) {
            if (load_vars(ld, L, lua_gettop(L), i, r) < 0)
                return -1;
        } else if (key_is(L, -2, "source")) {
            const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            if (strcmp(v, "gateway") == 0)
                r->source = ROUTE_FROM_GATEWAY;
            else if (strcmp(v, "trunk") == 0)
                r->source = ROUTE_FROM_TRUNK;
            else
                return fail(ld, "entry %zu: source: expected \"gateway\" or \"trunk\"", i);
        } else if (lua_type(L, -2) == LUA_TSTRING) {
            size_t klen;
            char q[64];
            const char *k = lua_tolstring(L, -2, &klen);
            quote(q, k, klen);
            return fail(ld, "entry %zu: %s: unknown key (expected match, script, vars, source)", i,
                        q);
        } else {
            return fail(ld, "entry %zu: unexpected %s key (expected match, script, vars, source)", i,
                        luaL_typename(L, -2));
        }
        lua_pop(L, 1);
    }
    if (r->pattern == NULL)
        return fail(ld, "entry %zu: match: missing", i);
    if (r->script == NULL)
        return fail(ld, "entry %zu: script: missing", i);
    return 0;
}

/* Runs under lua_pcall: everything that may allocate in the Lua state is protected. C data
 * hangs off ld->box as soon as it exists, so the caller frees it whatever happens. */
static int load_protected(lua_State *L)
{
    struct load *ld = lua_touserdata(L, 1);
    char chunkname[512];
    snprintf(chunkname, sizeof chunkname, "@%s", ld->name);
    lua_bounded_open(L);
    /* text only: bytecode is not checked by the VM */
    ld->load_status = luaL_loadbufferx(L, ld->buf, ld->len, chunkname, "t");
    if (ld->load_status != LUA_OK)
        return lua_error(L);
    lua_bounded_arm(L);
    lua_call(L, 0, 1);
    int t = lua_gettop(L);
    if (lua_type(L, t) != LUA_TTABLE) {
        fail(ld, "expected the file to return a list of routes, got %s", luaL_typename(L, t));
        return 0;
    }
    size_t n = 0;
    lua_Integer top = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                size_t klen;
                char q[64];
                const char *k = lua_tolstring(L, -2, &klen);
                quote(q, k, klen);
                fail(ld, "expected a list of routes, got key \"%s\"", q);
            } else {
                fail(ld, "expected a list of routes, got a %s key", luaL_typename(L, -2));
            }
            return 0;
        }
        if (lua_tointeger(L, -2) > top)
            top = lua_tointeger(L, -2);
        n++;
        lua_pop(L, 1);
    }
    if ((size_t)top != n) {
        fail(ld, "expected a list of routes, but it has holes");
        return 0;
    }
    struct routes *r = &ld->box->pub;
    if (n > 0) {
        r->list = calloc(n, sizeof *r->list);
        if (r->list == NULL) {
            fail(ld, "out of memory");
            return 0;
        }
        r->n = n;
    }
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, t, (lua_Integer)(i + 1));
        if (load_entry(ld, L, lua_gettop(L), i + 1, &r->list[i]) < 0)
            return 0;
        lua_pop(L, 1);
    }
    ld->ok = 1;
    return 0;
}

struct routes *routes_load_buffer(const char *buf, size_t len, const char *name, char *err,
                                  size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    struct routes_box *box = calloc(1, sizeof *box);
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    struct lua_budget b = { 0, ROUTES_MAX_MEMORY, ROUTES_MAX_INSTRUCTIONS };
    lua_State *L = box && mctx ? lua_bounded_new(&b) : NULL;
    if (L == NULL) {
        free(box);
        pcre2_match_context_free(mctx);
        if (errlen > 0)
            snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    pcre2_set_match_limit(mctx, ROUTES_MATCH_LIMIT);
    box->mctx = mctx;
    struct load ld = { buf, len, name, box, err, errlen, LUA_OK, 0 };
    lua_pushcfunction(L, load_protected);
    lua_pushlightuserdata(L, &ld);
    int status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK && ld.load_status != LUA_OK)
        status = ld.load_status;
    if (status == LUA_ERRMEM) {
        if (errlen > 0)
            snprintf(err, errlen, "%s: memory limit exceeded (%zu MiB)", name,
                     ROUTES_MAX_MEMORY >> 20);
    } else if (status != LUA_OK && errlen > 0) {
        size_t nlen = strlen(name);
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (msg == NULL)
            snprintf(err, errlen, "%s: error object is a %s value", name, luaL_typename(L, -1));
        else if (strncmp(msg, name, nlen) == 0 && msg[nlen] == ':')
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "%s: %s", name, msg); /* error("...", 0) has no position */
    }
    lua_close(L);
    if (status != LUA_OK || !ld.ok) {
        routes_free(&box->pub);
        return NULL;
    }
    return &box->pub;
}

struct routes *routes_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errlen > 0)
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (len == cap) {
            char *bigger = cap < ROUTES_MAX_FILE ? realloc(buf, cap * 2) : NULL;
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    if (buf == NULL) {
        if (errlen > 0)
            snprintf(err, errlen, "%s: larger than %zu MiB", path, ROUTES_MAX_FILE >> 20);
        return NULL;
    }
    if (read_error != 0) {
        free(buf);
        if (errlen > 0)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(read_error));
        return NULL;
    }
    struct routes *r = routes_load_buffer(buf, len, path, err, errlen);
    free(buf);
    return r;
}

void routes_free(struct routes *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        struct route *e = &r->list[i];
        free(e->pattern);
        free(e->script);
        pcre2_code_free(e->code);
        for (size_t j = 0; j < e->n_vars; j++) {
            free(e->vars[j].key);
            free(e->vars[j].str);
        }
        free(e->vars);
    }
    free(r->list);
    struct routes_box *box = (struct routes_box *)r;
    pcre2_match_context_free(box->mctx);
    free(box);
}

/* ---- matching ------------------------------------------------------------------------------ */

/* One match-data block per thread, freed when the thread exits (a bare _Thread_local pointer
 * would leak it). One ovector pair is enough: only match or no match matters. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static int md_key_ok;

static void md_free(void *md)
{
    pcre2_match_data_free(md);
}

static void md_key_create(void)
{
    md_key_ok = pthread_key_create(&md_key, md_free) == 0;
}

static pcre2_match_data *thread_match_data(void)
{
    pthread_once(&md_once, md_key_create);
    if (!md_key_ok)
        return NULL;
    pcre2_match_data *md = pthread_getspecific(md_key);
    if (md == NULL) {
        md = pcre2_match_data_create(1, NULL);
        if (md != NULL && pthread_setspecific(md_key, md) != 0) {
            pcre2_match_data_free(md);
            md = NULL;
        }
    }
    return md;
}

const struct route *routes_match(const struct routes *r, const char *number,
                                 enum route_source from)
{
    if (r == NULL || number == NULL || r->n == 0)
        return NULL;
    pcre2_match_data *md = thread_match_data();
    if (md == NULL) {
        log_error("routes: out of memory for pattern matching");
        return NULL;
    }
    const struct routes_box *box = (const struct routes_box *)r;
    size_t len = strlen(number);
    for (size_t i = 0; i < r->n; i++) {
        const struct route *e = &r->list[i];
        if (e->source != ROUTE_FROM_ANY && e->source != from)
            continue;
        int rc = pcre2_match(e->code, (PCRE2_SPTR)number, len, 0, 0, md, box->mctx);
        if (rc >= 0) /* 0: matched, with more groups than the ovector holds */
            return e;
        if (rc != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR msg[128];
            char q[64];
            if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
                snprintf((char *)msg, sizeof msg, "PCRE2 error %d", rc);
            quote(q, number, len); /* the number comes from the network */
            log_warn("routes: entry %zu (%s) against \"%s\": %s; taken as no match", i + 1,
                     e->pattern, q, (const char *)msg);
        }
    }
    return NULL;
}
