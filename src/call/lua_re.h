/* PCRE2 for Lua: the matcher behind read_digits' valid= (SPEC 5.1), handed to
 * call_methods.lua as re_match. A pattern cannot stall a worker: matching stops after a bounded
 * number of backtracking steps and then counts as no match. */
#ifndef VCS_LUA_RE_H
#define VCS_LUA_RE_H

#include <lua.h>

/* re_match(pattern, subject) -> boolean; anchored only by the pattern itself. A pattern that
 * does not compile raises "valid: <PCRE2 message> at offset N" (the caller adds where). */
int lua_re_match(lua_State *L);

#endif
