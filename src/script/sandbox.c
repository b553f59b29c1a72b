#include "script/sandbox.h"

#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "core/clock.h"
#include "core/log.h"
#include "script/script_set.h"

/* Registry keys (addresses of these statics are unique light userdata). */
static const char HANGUP_MT_KEY = 0;
static const char GLOBALS_KEY = 0;

struct alloc_ctx {
    struct mem_account *current;
    char label[96];
    struct sandbox_config cfg;
    char roots[3][PATH_MAX]; /* dialplans, sounds, recordings: resolved */
};

static struct alloc_ctx *ctx_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct alloc_ctx *ctx = ud;
    struct mem_account *acct = ctx->current;
    if (!ptr)
        osize = 0; /* osize then encodes the object type, not a size */
    if (nsize == 0) {
        if (acct)
            acct->used -= osize < acct->used ? osize : acct->used;
        free(ptr);
        return NULL;
    }
    if (acct && nsize > osize && acct->used + (nsize - osize) > acct->limit)
        return NULL; /* this call is over its cap: only its coroutine sees LUA_ERRMEM */
    void *p = realloc(ptr, nsize);
    if (p && acct) {
        if (nsize > osize)
            acct->used += nsize - osize;
        else
            acct->used -= (osize - nsize) < acct->used ? (osize - nsize) : acct->used;
    }
    return p;
}

void sandbox_run_as(lua_State *L, struct mem_account *acct, const char *label)
{
    struct alloc_ctx *ctx = ctx_of(L);
    ctx->current = acct;
    snprintf(ctx->label, sizeof ctx->label, "%s", label ? label : "script");
}

/* ---- instruction budget ------------------------------------------------------------------- */

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    /* From now on every instruction fails, so a pcall around the loop cannot keep it alive. */
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "script ran too long without waiting (instruction limit)");
}

void sandbox_arm(lua_State *co, long max_instructions)
{
    int count = max_instructions > INT_MAX ? INT_MAX : (int)max_instructions;
    lua_sethook(co, count > 0 ? budget_hook : NULL, count > 0 ? LUA_MASKCOUNT : 0, count);
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

/* Resolves path (the file itself, or its folder for a file to be created) and checks that it
 * lies inside one of the allowed folders. */
static bool path_allowed(struct alloc_ctx *ctx, const char *path, char *resolved)
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
    }
    for (int i = 0; i < 3; i++)
        if (inside(resolved, ctx->roots[i]))
            return true;
    return false;
}

static int sandbox_io_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *mode = luaL_optstring(L, 2, "r");
    char resolved[PATH_MAX];
    if (!path_allowed(ctx_of(L), path, resolved)) {
        luaL_pushfail(L);
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
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
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
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int sandbox_collectgarbage(lua_State *L)
{
    static const char *const allowed[] = { "count", "collect", "step", NULL };
    luaL_checkoption(L, 1, "collect", allowed);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
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
        lua_getglobal(L, "vcs");
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
    lua_createtable(L, 0, 2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &GLOBALS_KEY);
    lua_setfield(L, -2, "__index");
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

lua_State *sandbox_new_state(const struct sandbox_config *cfg)
{
    struct alloc_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->cfg = *cfg;
    resolve_root(cfg->dialplans_dir, ctx->roots[0]);
    resolve_root(cfg->sounds_dir, ctx->roots[1]);
    resolve_root(cfg->recordings_dir, ctx->roots[2]);
    snprintf(ctx->label, sizeof ctx->label, "script");
    lua_State *L = lua_newstate(counting_alloc, ctx);
    if (!L) {
        free(ctx);
        return NULL;
    }
    /* The globals table every chunk environment reads through. */
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
        "rawset", "select", "getmetatable", "tonumber", "tostring", "type", "xpcall",
        "_VERSION", NULL };
    lua_pushglobaltable(L);
    int real = lua_gettop(L);
    lua_getfield(L, real, "setmetatable");
    lua_pushcclosure(L, sandbox_setmetatable, 1);
    lua_setfield(L, G, "setmetatable");
    lua_getfield(L, real, "string"); /* also the strings' own methods: ("x"):rep(n) */
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, sandbox_string_rep, 1);
    lua_setfield(L, -2, "rep");
    lua_pop(L, 1);
    for (const char *const *n = base_names; *n; n++) {
        lua_getfield(L, real, *n);
        lua_setfield(L, G, *n);
    }
    static const char *const libs[] = { "string", "table", "math", "utf8", "coroutine", NULL };
    for (const char *const *n = libs; *n; n++) {
        lua_getfield(L, real, *n);
        lua_setfield(L, G, *n);
    }
    lua_createtable(L, 0, 4); /* os: time and date only */
    lua_getfield(L, real, "os");
    static const char *const os_names[] = { "time", "clock", "date", "difftime", NULL };
    for (const char *const *n = os_names; *n; n++) {
        lua_getfield(L, -1, *n);
        lua_setfield(L, -3, *n);
    }
    lua_pop(L, 1);
    lua_setfield(L, G, "os");
    lua_createtable(L, 0, 1); /* io: open, confined to the allowed folders */
    lua_getfield(L, real, "io");
    lua_getfield(L, -1, "open");
    lua_pushcclosure(L, sandbox_io_open, 1);
    lua_setfield(L, -3, "open");
    lua_pop(L, 1);
    lua_setfield(L, G, "io");
    lua_getfield(L, real, "collectgarbage");
    lua_pushcclosure(L, sandbox_collectgarbage, 1);
    lua_setfield(L, G, "collectgarbage");
    lua_pushcfunction(L, sandbox_print);
    lua_setfield(L, G, "print");
    lua_pop(L, 1); /* real globals */

    static const luaL_Reg vcs_funcs[] = {
        { "log", vcs_log }, { "now", vcs_now }, { "is_hangup", vcs_is_hangup }, { NULL, NULL } };
    luaL_newlib(L, vcs_funcs);
    lua_setfield(L, G, "vcs");
    lua_pushvalue(L, G);
    lua_setfield(L, G, "_G");

    lua_createtable(L, 0, 1); /* shared by every call of this worker: read-only */
    lua_pushcfunction(L, refuse_global);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, G);
    lua_pushvalue(L, G);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &GLOBALS_KEY);
    lua_pop(L, 1);

    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, hangup_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &HANGUP_MT_KEY);
    return L;
}

void sandbox_close_state(lua_State *L)
{
    if (!L)
        return;
    struct alloc_ctx *ctx = ctx_of(L);
    ctx->current = NULL;
    lua_close(L);
    free(ctx);
}
