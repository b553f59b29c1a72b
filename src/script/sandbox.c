#include "script/sandbox.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <limits.h>
#include <libgen.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "core/clock.h"
#include "core/log.h"
#include "script/pattern.h"
#include "script/script_set.h"
#include "script/watchdog.h"

/* Instructions between two budget checks on the coroutine a run resumes, and on a coroutine
 * the script created (which is charged that much when created: its first, partial period
 * would go uncounted otherwise). */
#define HOOK_PERIOD 1000
#define CHILD_PERIOD 100

/* Registry keys and markers (addresses of these statics are unique light userdata). */
static const char HANGUP_MT_KEY = 0;
static const char GLOBALS_KEY = 0;
static const char PROXY_KEY = 0;
static const char VCS_KEY = 0;       /* the real vcs table behind its proxy */

/* Who owns live Lua memory: a call (through its mem_account) while it lives, then as long as
 * objects it allocated do. */
struct mem_owner {
    size_t used, limit, blocks;
    bool released;                 /* the account let go of it: freed with its last block */
    struct mem_owner *prev, *next;
};

/* Every block carries its owner, so that a free credits the right call whoever runs. Lua
 * needs its blocks aligned for its own types only (LUAI_MAXALIGN: numbers, pointers), so the
 * header keeps that alignment, not max_align_t's 16 bytes: glibc's chunks grow by 16, and an
 * 8-byte header often fits in the slack of the chunk the block had anyway. */
union block_header {
    struct mem_owner *owner;
    lua_Number n;
    lua_Integer i;
    double d;
    void *p;
    long l;
};

struct sandbox_ctx {
    struct mem_owner *current;     /* charged for allocations now; NULL: nobody */
    struct mem_owner *owners;
    struct mem_owner refused;      /* limit 0: an account whose owner could not be allocated */
    long budget_left;              /* instructions (and pattern steps) left in this run */
    struct watchdog_slot wd;
    bool watched;
    char label[96];
    struct sandbox_config cfg;
    char roots[3][PATH_MAX]; /* dialplans, sounds, recordings: resolved */
};

static struct sandbox_ctx *ctx_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* ---- memory ------------------------------------------------------------------------------- */

static void owner_free(struct sandbox_ctx *ctx, struct mem_owner *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        ctx->owners = o->next;
    if (o->next)
        o->next->prev = o->prev;
    free(o);
}

static void charge(struct mem_owner *o, size_t n)
{
    if (o) {
        o->used += n;
        o->blocks++;
    }
}

static void credit(struct sandbox_ctx *ctx, struct mem_owner *o, size_t n)
{
    if (!o)
        return;
    o->used -= n < o->used ? n : o->used;
    if (--o->blocks == 0 && o->released)
        owner_free(ctx, o);
}

static void *tagged_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct sandbox_ctx *ctx = ud;
    union block_header *h = ptr ? (union block_header *)ptr - 1 : NULL;
    struct mem_owner *old = h ? h->owner : NULL;
    if (!h)
        osize = 0; /* osize then encodes the object type, not a size */
    if (nsize == 0) {
        if (h) {
            credit(ctx, old, osize);
            free(h);
        }
        return NULL;
    }
    /* Growth is charged to whoever runs; a shrink, which must not fail, stays with its owner. */
    bool grows = nsize > osize;
    struct mem_owner *owner = grows && ctx->current ? ctx->current : old;
    if (grows && owner && owner->used + nsize > owner->limit + (owner == old ? osize : 0))
        return NULL; /* this call is over its cap: only its coroutine sees LUA_ERRMEM */
    if (nsize > SIZE_MAX - sizeof *h)
        return NULL;
    union block_header *nh = realloc(h, sizeof *nh + nsize);
    if (!nh)
        return NULL;
    charge(owner, nsize);
    nh->owner = owner;
    if (h)
        credit(ctx, old, osize);
    return nh + 1;
}

static struct mem_owner *owner_of(struct sandbox_ctx *ctx, struct mem_account *acct)
{
    if (!acct->owner) {
        struct mem_owner *o = calloc(1, sizeof *o);
        if (!o)
            return &ctx->refused;
        o->limit = acct->limit;
        o->next = ctx->owners;
        if (o->next)
            o->next->prev = o;
        ctx->owners = o;
        acct->owner = o;
    }
    return acct->owner;
}

void sandbox_run_as(lua_State *L, struct mem_account *acct, const char *label)
{
    struct sandbox_ctx *ctx = ctx_of(L);
    ctx->current = acct ? owner_of(ctx, acct) : NULL;
    snprintf(ctx->label, sizeof ctx->label, "%s", label ? label : "script");
    if (!acct && ctx->watched)
        watchdog_end(&ctx->wd);
}

void sandbox_account_release(lua_State *L, struct mem_account *acct)
{
    struct sandbox_ctx *ctx = ctx_of(L);
    struct mem_owner *o = acct->owner;
    if (!o)
        return;
    acct->owner = NULL;
    if (ctx->current == o)
        ctx->current = NULL;
    o->released = true;
    if (o->blocks == 0)
        owner_free(ctx, o);
}

/* The wrappers below hold the function they wrap as upvalue 1: calls it with the first nargs
 * arguments and returns the number of its results. */
static int call_original(lua_State *L, int nargs, int nresults)
{
    lua_settop(L, nargs);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, nargs, nresults);
    return lua_gettop(L);
}

/* ---- time and instruction budget ---------------------------------------------------------- */

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct sandbox_ctx *ctx = ctx_of(L);
    ctx->budget_left -= lua_gethookcount(L);
    bool late = ctx->watched && watchdog_expired(&ctx->wd);
    if (ctx->budget_left > 0 && !late)
        return;
    /* From now on every instruction of this coroutine fails, and every other coroutine of the
     * call fails at its next check, so no pcall can keep the run alive. */
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    if (late)
        luaL_error(L, "script ran for more than %d ms without waiting (time limit)",
                   (int)ctx->cfg.max_run_ms);
    luaL_error(L, "script ran too long without waiting (instruction limit)");
}

/* The pattern functions' meter: their backtracking steps draw on the same budget. */
static bool pattern_steps(lua_State *L, long steps)
{
    struct sandbox_ctx *ctx = ctx_of(L);
    ctx->budget_left -= steps;
    return ctx->budget_left > 0 && !(ctx->watched && watchdog_expired(&ctx->wd));
}

void sandbox_arm(lua_State *co, long max_instructions)
{
    struct sandbox_ctx *ctx = ctx_of(co);
    if (max_instructions <= 0) {
        lua_sethook(co, NULL, 0, 0);
        if (ctx->watched)
            watchdog_end(&ctx->wd);
        return;
    }
    ctx->budget_left = max_instructions;
    lua_sethook(co, budget_hook, LUA_MASKCOUNT,
                max_instructions < HOOK_PERIOD ? (int)max_instructions : HOOK_PERIOD);
    if (ctx->watched)
        watchdog_begin(&ctx->wd, co);
}

/* A coroutine the script creates draws on the call's budget like the call's own. */
static void arm_child(lua_State *L, lua_State *child)
{
    struct sandbox_ctx *ctx = ctx_of(L);
    ctx->budget_left -= CHILD_PERIOD;
    if (child)
        lua_sethook(child, budget_hook, LUA_MASKCOUNT, CHILD_PERIOD);
}

static int sandbox_co_create(lua_State *L)
{
    call_original(L, 1, 1);
    arm_child(L, lua_tothread(L, -1));
    return 1;
}

static int sandbox_co_wrap(lua_State *L)
{
    call_original(L, 1, 1);
    lua_getupvalue(L, -1, 1); /* the wrapped coroutine */
    arm_child(L, lua_tothread(L, -1));
    lua_pop(L, 1);
    return 1;
}

/* ---- hangup error ------------------------------------------------------------------------- */

void sandbox_push_hangup(lua_State *L, const char *cause)
{
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "hangup");
    lua_pushstring(L, cause);
    lua_setfield(L, -2, "cause");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &HANGUP_MT_KEY);
    lua_setmetatable(L, -2);
}

bool sandbox_is_hangup(lua_State *L, int idx)
{
    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return false;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &HANGUP_MT_KEY);
    bool same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

static int hangup_tostring(lua_State *L)
{
    lua_getfield(L, 1, "cause");
    lua_pushfstring(L, "hangup (%s)", luaL_optstring(L, -1, "caller"));
    return 1;
}

static int tostring_value(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

const char *sandbox_error_text(lua_State *co)
{
    int t = lua_type(co, -1);
    if (t == LUA_TSTRING || t == LUA_TNUMBER)
        return lua_tostring(co, -1);
    /* __tostring is script code: run it protected, within what is left of the run's budget. */
    if (!lua_checkstack(co, 2))
        return "(error object cannot be shown)";
    lua_pushcfunction(co, tostring_value);
    lua_pushvalue(co, -2);
    if (lua_pcall(co, 1, 1, 0) == LUA_OK && lua_type(co, -1) == LUA_TSTRING)
        return lua_tostring(co, -1);
    return "(error object cannot be shown: its __tostring failed)";
}

/* ---- vcs module --------------------------------------------------------------------------- */

static int vcs_log(lua_State *L)
{
    enum log_level level;
    if (log_level_parse(luaL_checkstring(L, 1), &level) != 0)
        return luaL_argerror(L, 1, "level must be debug, info, warn or error");
    if (level < log_threshold)
        return 0;
    int n = lua_gettop(L); /* before luaL_buffinit, which may push a placeholder */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 2; i <= n; i++) {
        if (i > 2)
            luaL_addchar(&b, ' ');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    log_msg(level, "%s: %s", ctx_of(L)->label, lua_tostring(L, -1));
    return 0;
}

static int vcs_now(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)clock_wall_ms());
    return 1;
}

static int vcs_is_hangup(lua_State *L)
{
    lua_pushboolean(L, sandbox_is_hangup(L, 1));
    return 1;
}

static int sandbox_print(lua_State *L)
{
    lua_pushstring(L, "info");
    lua_insert(L, 1);
    return vcs_log(L);
}

/* ---- files -------------------------------------------------------------------------------- */

static bool inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    return root[0] && strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

enum { ROOT_DIALPLANS, ROOT_SOUNDS, ROOT_RECORDINGS };

/* Resolves path (the file itself, or its folder for a file to be created) and checks that it
 * lies inside one of the allowed folders: all three for reading, recordings for writing. */
static bool path_allowed(struct sandbox_ctx *ctx, const char *path, bool write, char *resolved)
{
    if (!realpath(path, resolved)) {
        char tmp[PATH_MAX], dir[PATH_MAX];
        if (errno != ENOENT || strlen(path) >= sizeof tmp)
            return false;
        strcpy(tmp, path);
        if (!realpath(dirname(tmp), dir))
            return false;
        strcpy(tmp, path);
        const char *base = basename(tmp);
        size_t dlen = strlen(dir), blen = strlen(base);
        if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0 || dlen + blen + 2 > PATH_MAX)
            return false;
        memcpy(resolved, dir, dlen);
        resolved[dlen] = '/';
        memcpy(resolved + dlen + 1, base, blen + 1);
        struct stat st;
        if (lstat(resolved, &st) == 0)
            return false; /* a dangling symlink: opening it would create its target */
    }
    if (write)
        return inside(resolved, ctx->roots[ROOT_RECORDINGS]);
    for (int i = 0; i < 3; i++)
        if (inside(resolved, ctx->roots[i]))
            return true;
    return false;
}

static int sandbox_io_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *mode = luaL_optstring(L, 2, "r");
    bool write = strpbrk(mode, "wa+") != NULL; /* "r+" writes too */
    char resolved[PATH_MAX];
    if (!path_allowed(ctx_of(L), path, write, resolved)) {
        luaL_pushfail(L);
        if (write)
            lua_pushfstring(L, "%s: writing is only allowed under the recordings folder", path);
        else
            lua_pushfstring(L, "%s: access outside the dialplans, sounds and recordings folders is not allowed", path);
        return 2;
    }
    lua_pushvalue(L, lua_upvalueindex(1)); /* the real io.open */
    lua_pushstring(L, resolved);
    lua_pushstring(L, mode);
    lua_call(L, 2, LUA_MULTRET);
    return lua_gettop(L) - 2;
}

/* Finalizers run with hooks off, so a looping __gc would escape the instruction limit and
 * stall every call of the worker: dialplans get no finalizers. */
static int sandbox_setmetatable(lua_State *L)
{
    if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc metamethods are not available to dialplans");
    return call_original(L, 2, 1);
}

/* string.rep runs its loop in C, out of the hook's reach: bound it by the memory cap's order
 * of magnitude, counting repetitions of an empty string as well. */
static int sandbox_string_rep(lua_State *L)
{
    size_t len, seplen = 0;
    luaL_checklstring(L, 1, &len);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (n > 0 && (double)n * (double)(len + seplen + 1) > (double)ctx_of(L)->cfg.max_memory)
        return luaL_error(L, "string.rep: result too large");
    return call_original(L, lua_gettop(L), 1);
}

static int sandbox_collectgarbage(lua_State *L)
{
    static const char *const allowed[] = { "count", "collect", "step", NULL };
    luaL_checkoption(L, 1, "collect", allowed);
    return call_original(L, lua_gettop(L), LUA_MULTRET);
}

/* ---- environments and require ------------------------------------------------------------- */

/* ---- read-only library tables ------------------------------------------------------------ */

static int refuse_write(lua_State *L)
{
    return luaL_error(L, "library tables are read-only (cannot set '%s')",
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : luaL_typename(L, 2));
}

static bool is_proxy(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return false;
    bool proxy = lua_rawgetp(L, -1, &PROXY_KEY) != LUA_TNIL;
    lua_pop(L, 2);
    return proxy;
}

static int proxy_next(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 2);
    if (lua_next(L, 2))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* pairs(string) walks the real table without handing it out. */
static int proxy_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, proxy_next, 1);
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
}

/* An empty table reading through to the table at real: writes raise, its metatable is hidden
 * and rawset refuses it (sandbox_rawset), so nothing reaches the real table. */
static void push_proxy(lua_State *L, int real)
{
    real = lua_absindex(L, real);
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, real);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, refuse_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, real);
    lua_pushcclosure(L, proxy_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, &PROXY_KEY);
    lua_setmetatable(L, -2);
}

static int sandbox_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (is_proxy(L, 1))
        return luaL_error(L, "rawset: library tables are read-only");
    return call_original(L, 3, 1);
}

/* ---- environments and require ------------------------------------------------------------- */

static int refuse_global(lua_State *L)
{
    return luaL_error(L, "assignment to undeclared global '%s' (use local)", luaL_optstring(L, 2, "?"));
}

static int sandbox_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    if (strcmp(name, "vcs") == 0) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &GLOBALS_KEY);
        lua_getfield(L, -1, "vcs");
        return 1;
    }
    const struct script_set *set = lua_touserdata(L, lua_upvalueindex(1));
    int loaded = lua_upvalueindex(2);
    if (lua_getfield(L, loaded, name) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    if (!script_set_find(set, name))
        return luaL_error(L, "module '%s' not found in the dialplans or Lua module folders", name);
    /* Mark as loading first so a require cycle fails instead of recursing forever. */
    lua_pushboolean(L, 0);
    lua_setfield(L, loaded, name);
    lua_pushvalue(L, loaded);
    if (sandbox_load_source(L, set, name, lua_gettop(L)) != LUA_OK)
        return lua_error(L);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, loaded, name);
    return 1;
}

int sandbox_load_source(lua_State *L, const struct script_set *set, const char *name, int loaded_idx)
{
    loaded_idx = lua_absindex(L, loaded_idx);
    const struct script_source *src = script_set_find(set, name);
    if (!src) {
        lua_pushfstring(L, "script '%s' not found", name);
        return LUA_ERRRUN;
    }
    int status = luaL_loadbufferx(L, src->code, src->len, src->chunkname, "t");
    if (status != LUA_OK)
        return status;
    /* _ENV = setmetatable({ require = <bound to this set> }, { __index = globals }) */
    lua_createtable(L, 0, 1);
    lua_pushlightuserdata(L, (void *)set);
    lua_pushvalue(L, loaded_idx);
    lua_pushcclosure(L, sandbox_require, 2);
    lua_setfield(L, -2, "require");
    lua_createtable(L, 0, 3);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &GLOBALS_KEY);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pushvalue(L, -1);
    lua_insert(L, -3); /* keep the metatable below env to lock it after the chunk ran */
    lua_setmetatable(L, -2);
    lua_setupvalue(L, -3, 1); /* chunk's first upvalue is _ENV */
    lua_insert(L, -2);        /* stack: metatable chunk */
    status = lua_pcall(L, 0, 1, 0);
    if (status != LUA_OK) {
        lua_remove(L, -2);
        return status;
    }
    lua_pushcfunction(L, refuse_global);
    lua_setfield(L, -3, "__newindex");
    lua_remove(L, -2);
    return LUA_OK;
}

/* ---- state -------------------------------------------------------------------------------- */

static void open_lib(lua_State *L, const char *name, lua_CFunction open)
{
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}

static void resolve_root(const char *dir, char out[PATH_MAX])
{
    if (!dir[0] || !realpath(dir, out))
        out[0] = '\0'; /* a missing folder allows nothing */
}

/* Replaces t[name] (t at idx) by wrapper, a closure over the original. */
static void wrap_field(lua_State *L, int idx, const char *name, lua_CFunction wrapper)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, name);
    lua_pushcclosure(L, wrapper, 1);
    lua_setfield(L, idx, name);
}

/* Sets G[name] to a read-only proxy of the table on the top, popping it. */
static void set_proxy(lua_State *L, int G, const char *name)
{
    push_proxy(L, -1);
    lua_setfield(L, G, name);
    lua_pop(L, 1);
}

lua_State *sandbox_new_state(const struct sandbox_config *cfg)
{
    struct sandbox_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->cfg = *cfg;
    resolve_root(cfg->dialplans_dir, ctx->roots[ROOT_DIALPLANS]);
    resolve_root(cfg->sounds_dir, ctx->roots[ROOT_SOUNDS]);
    resolve_root(cfg->recordings_dir, ctx->roots[ROOT_RECORDINGS]);
    snprintf(ctx->label, sizeof ctx->label, "script");
    lua_State *L = lua_newstate(tagged_alloc, ctx);
    if (!L) {
        free(ctx);
        return NULL;
    }
    if (cfg->max_run_ms > 0)
        ctx->watched = watchdog_add(&ctx->wd, cfg->max_run_ms, budget_hook) == 0;
    /* The globals every chunk environment reads through (behind a read-only proxy). */
    lua_createtable(L, 0, 32);
    int G = lua_gettop(L);
    open_lib(L, LUA_GNAME, luaopen_base);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_UTF8LIBNAME, luaopen_utf8);
    open_lib(L, LUA_COLIBNAME, luaopen_coroutine);
    open_lib(L, LUA_OSLIBNAME, luaopen_os);
    open_lib(L, LUA_IOLIBNAME, luaopen_io);

    static const char *const base_names[] = {
        "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
        "select", "getmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION", NULL };
    lua_pushglobaltable(L);
    int real = lua_gettop(L);
    for (const char *const *n = base_names; *n; n++) {
        lua_getfield(L, real, *n);
        lua_setfield(L, G, *n);
    }
    lua_getfield(L, real, "setmetatable");
    lua_pushcclosure(L, sandbox_setmetatable, 1);
    lua_setfield(L, G, "setmetatable");
    lua_getfield(L, real, "rawset");
    lua_pushcclosure(L, sandbox_rawset, 1);
    lua_setfield(L, G, "rawset");
    lua_getfield(L, real, "collectgarbage");
    lua_pushcclosure(L, sandbox_collectgarbage, 1);
    lua_setfield(L, G, "collectgarbage");
    lua_pushcfunction(L, sandbox_print);
    lua_setfield(L, G, "print");

    /* The real string table is also the strings' methods, ("x"):rep(n): patch it in place. */
    lua_getfield(L, real, "string");
    wrap_field(L, -1, "rep", sandbox_string_rep);
    pattern_install(L, -1, pattern_steps);
    set_proxy(L, G, "string");
    lua_getfield(L, real, "coroutine");
    wrap_field(L, -1, "create", sandbox_co_create);
    wrap_field(L, -1, "wrap", sandbox_co_wrap);
    set_proxy(L, G, "coroutine");
    static const char *const libs[] = { "table", "math", "utf8", NULL };
    for (const char *const *n = libs; *n; n++) {
        lua_getfield(L, real, *n);
        set_proxy(L, G, *n);
    }
    lua_createtable(L, 0, 4); /* os: time and date only */
    lua_getfield(L, real, "os");
    static const char *const os_names[] = { "time", "clock", "date", "difftime", NULL };
    for (const char *const *n = os_names; *n; n++) {
        lua_getfield(L, -1, *n);
        lua_setfield(L, -3, *n);
    }
    lua_pop(L, 1);
    set_proxy(L, G, "os");
    lua_createtable(L, 0, 1); /* io: open, confined to the allowed folders */
    lua_getfield(L, real, "io");
    lua_getfield(L, -1, "open");
    lua_pushcclosure(L, sandbox_io_open, 1);
    lua_setfield(L, -3, "open");
    lua_pop(L, 1);
    set_proxy(L, G, "io");
    lua_pop(L, 1); /* real globals */

    static const luaL_Reg vcs_funcs[] = {
        { "log", vcs_log }, { "now", vcs_now }, { "is_hangup", vcs_is_hangup }, { NULL, NULL } };
    luaL_newlib(L, vcs_funcs);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &VCS_KEY);
    set_proxy(L, G, "vcs");

    /* getmetatable("") must not hand out the strings' shared metatable. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    push_proxy(L, G);
    lua_pushvalue(L, -1);
    lua_setfield(L, G, "_G");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &GLOBALS_KEY);
    lua_pop(L, 1);

    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, hangup_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &HANGUP_MT_KEY);
    return L;
}

void sandbox_extend_vcs(lua_State *L, const luaL_Reg *funcs)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &VCS_KEY);
    luaL_setfuncs(L, funcs, 0);
    lua_pop(L, 1);
}

void sandbox_close_state(lua_State *L)
{
    if (!L)
        return;
    struct sandbox_ctx *ctx = ctx_of(L);
    ctx->current = NULL;
    if (ctx->watched)
        watchdog_remove(&ctx->wd);
    lua_close(L);
    while (ctx->owners) /* accounts never released: their calls' objects are gone now */
        owner_free(ctx, ctx->owners);
    free(ctx);
}
