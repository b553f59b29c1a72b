/* The Lua face of a call (SPEC 5.1): the call object handed to the handler, its methods, and
 * the driving of the handler's coroutine (resume, hangup error, script errors, on_hangup).
 * Waiting methods yield the call's coroutine with lua_yieldk; the worker resumes it when the
 * wait is over (call_wake), and the continuation returns the result or raises. */
#ifndef VCS_CALL_LUA_H
#define VCS_CALL_LUA_H

#include <lua.h>

struct call;

/* Registers the call object's metatable in a worker's Lua state, and the vcs functions that
 * act for the running call. */
void call_lua_register(lua_State *L);
/* The call whose script runs on this thread now (NULL between runs): whom vcs functions act for. */
struct call *call_running(void);

#endif
