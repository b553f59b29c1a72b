/* The Lua 5.4 environment dialplans run in (SPEC 5.3), one lua_State per worker thread. What
 * it promises, so that scripts can neither touch each other nor escape their limits:
 * - Memory is charged per call exactly: every block carries its owner (a small header), growth
 *   is charged to the call running (sandbox_run_as) and fails past its cap, so only that call
 *   gets LUA_ERRMEM; a free credits the block's owner whoever runs (the GC frees one call's
 *   garbage while another runs). An owner outlives its account while its objects live.
 * - One instruction budget per run (from sandbox_arm to the next wait), shared by every
 *   coroutine of the call: the script's own coroutine.create/wrap draw on it (100
 *   instructions at creation, then counted every 100), and so do the pattern functions'
 *   backtracking steps (string.find, match, gmatch, gsub run a step-counted matcher). Once it
 *   is spent every later instruction fails, so no pcall can swallow the error.
 * - A wall-clock limit per run (max_run_ms): a watchdog thread signals the worker, whose
 *   handler sets the kill hook, so a run ends within ~10 ms of the limit in Lua code and in
 *   the pattern matcher (which polls it); other C functions (string.rep, table.sort, ...) are
 *   bounded by the memory cap and stop at their return.
 * - Library tables (string, table, math, utf8, coroutine, os, io, vcs and _G) are read-only
 *   proxies: writes raise, rawset refuses them, getmetatable gives false, pairs still walks
 *   them; the strings' metatable is hidden the same way (methods still work: ("x"):rep(3)).
 * - A global table without debug, dofile, loadfile, load, os.execute and friends; io.open
 *   reads inside the dialplans, sounds and recordings folders and writes ("w", "a", any "+")
 *   only inside recordings, symlinks resolved; require only from the script set (dialplans and
 *   shipped modules, from memory) and "vcs"; no __gc metamethods (finalizers run unhooked).
 * - The vcs module (log, now, is_hangup, and originate when the call layer gives it; the call
 *   layer may add more with sandbox_extend_vcs) and the hangup error object.
 * - Each chunk gets its own _ENV (its metatable hidden) whose undeclared globals are refused
 *   after it has loaded, so calls cannot leak state into each other by accident.
 * - A script's error object becomes text (sandbox_error_text) without ever raising. */
#ifndef VCS_SANDBOX_H
#define VCS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include <lauxlib.h>
#include <lua.h>

struct script_set;
struct mem_owner;

struct sandbox_config {
    char dialplans_dir[512];
    char lua_dir[512];
    char sounds_dir[512];
    char recordings_dir[600];
    long max_instructions;
    size_t max_memory;   /* bytes per call */
    long max_run_ms;     /* wall-clock limit per run; 0: none */
};

/* A call's memory: set limit, leave owner NULL; sandbox_account_release when the call ends. */
struct mem_account {
    size_t limit;
    struct mem_owner *owner;
};

/* A worker's Lua state. Returns NULL on failure. */
lua_State *sandbox_new_state(const struct sandbox_config *cfg);
void sandbox_close_state(lua_State *L);

/* Charges allocations to acct and labels vcs.log lines with label (e.g. "call 1f3a.. hello")
 * until the next call; acct NULL: nobody is charged and the current run ends. */
void sandbox_run_as(lua_State *L, struct mem_account *acct, const char *label);
/* The call is gone: its objects still alive stay charged to a record freed with the last. */
void sandbox_account_release(lua_State *L, struct mem_account *acct);

/* Starts a run on co (a call's coroutine, or the state itself for a chunk): the instruction
 * budget and the wall-clock limit start again. max_instructions 0 ends the run instead. */
void sandbox_arm(lua_State *co, long max_instructions);

/* Loads and runs a chunk of set (by source name) in a fresh environment, leaving its first
 * result on the stack. Uses and fills the per-version module cache at stack index loaded_idx
 * (a table). Returns LUA_OK or an error status with the message on the stack. */
int sandbox_load_source(lua_State *L, const struct script_set *set, const char *name, int loaded_idx);

/* The text of the error value on the top of co (a coroutine that ended with an error), valid
 * while co's stack is not popped below it. Never raises: a __tostring metamethod runs
 * protected, within the run's limits. May leave one more value on co's stack. */
const char *sandbox_error_text(lua_State *co);

/* Adds functions to the vcs module of a state (the call layer's, e.g. vcs.conference_members):
 * the module stays read-only to scripts. */
void sandbox_extend_vcs(lua_State *L, const luaL_Reg *funcs);

/* The hangup error (SPEC 5.1): vcs.is_hangup(err) is true for it. */
void sandbox_push_hangup(lua_State *L, const char *cause);
bool sandbox_is_hangup(lua_State *L, int idx);

#endif
