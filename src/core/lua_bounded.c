#include "core/lua_bounded.h"

#include <stdlib.h>

#include <lauxlib.h>
#include <lualib.h>

static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct lua_budget *b = ud;
    if (ptr == NULL)
        osize = 0; /* then osize holds the type of the new object, not a size */
    if (nsize == 0) {
        free(ptr);
        b->used -= osize;
        return NULL;
    }
    if (nsize > osize && nsize - osize > b->limit - b->used)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p != NULL)
        b->used = b->used - osize + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    lua_getallocf(L, &ud);
    const struct lua_budget *b = ud;
    /* From now on every instruction fails: a pcall in the file may catch this error, but not
     * the next one, so the error reaches the top. */
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    lua_getinfo(L, "Sl", ar);
    lua_pushfstring(L, "%s:%d: instruction limit exceeded (%d)", ar->short_src, ar->currentline,
                    b->max_instructions);
    lua_error(L);
}

lua_State *lua_bounded_new(struct lua_budget *b)
{
    return lua_newstate(budget_alloc, b);
}

void lua_bounded_arm(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, ((const struct lua_budget *)ud)->max_instructions);
}

void lua_bounded_open(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    lua_pop(L, 3);
    static const char *const no_globals[] = { "dofile", "loadfile", "load", "setmetatable" };
    for (size_t i = 0; i < sizeof no_globals / sizeof no_globals[0]; i++) {
        lua_pushnil(L);
        lua_setglobal(L, no_globals[i]);
    }
    static const char *const no_string[] = { "rep", "find", "match", "gmatch", "gsub" };
    lua_getglobal(L, LUA_STRLIBNAME);
    for (size_t i = 0; i < sizeof no_string / sizeof no_string[0]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, no_string[i]);
    }
    lua_pop(L, 1);
}
