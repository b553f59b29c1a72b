/* Throw-away Lua states for the data files admins write (the configuration file, routes.lua):
 * base, math and string without the functions that can run unbounded inside one C call
 * (rep, find, match, gmatch, gsub), no load/dofile/require/io/os, no setmetatable (Lua runs
 * __gc finalizers with hooks off), a memory budget enforced by the allocator, and an
 * instruction budget that, once exceeded, fails every later instruction so that a pcall in the
 * file cannot swallow it. */
#ifndef VCS_LUA_BOUNDED_H
#define VCS_LUA_BOUNDED_H

#include <stddef.h>

#include <lua.h>

struct lua_budget {
    size_t used, limit;   /* bytes */
    int max_instructions;
};

/* A new state charging b (which must outlive it); NULL when out of memory. */
lua_State *lua_bounded_new(struct lua_budget *b);
/* Opens the allowed libraries; allocates, so call it under lua_pcall. */
void lua_bounded_open(lua_State *L);
/* Arms the instruction budget before running the file's chunk. */
void lua_bounded_arm(lua_State *L);

#endif
