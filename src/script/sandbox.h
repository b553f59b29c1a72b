/* The Lua 5.4 environment dialplans run in (SPEC 5.3), one lua_State per worker thread:
 * - a counting allocator that charges each allocation to the call currently running
 *   (sandbox_run_as) and fails it past the call's memory cap, so only that call gets LUA_ERRMEM;
 * - an instruction budget per resume (count hook), sticky once exceeded so that pcall cannot
 *   swallow it;
 * - a global table without debug, dofile, loadfile, load, os.execute and friends; io.open only
 *   inside the dialplans, sounds and recordings folders; require only from the script set
 *   (dialplans and shipped modules, from memory) and "vcs";
 * - the vcs module (log, now, is_hangup) and the hangup error object;
 * - each chunk gets its own _ENV whose undeclared globals are refused after it has loaded, so
 *   calls cannot leak state into each other by accident. */
#ifndef VCS_SANDBOX_H
#define VCS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

struct script_set;

struct sandbox_config {
    char dialplans_dir[512];
    char lua_dir[512];
    char sounds_dir[512];
    char recordings_dir[600];
    long max_instructions;
    size_t max_memory;   /* bytes per call */
};

struct mem_account {
    size_t used;
    size_t limit;
};

/* A worker's Lua state. Returns NULL on failure. */
lua_State *sandbox_new_state(const struct sandbox_config *cfg);
void sandbox_close_state(lua_State *L);

/* Charges allocations to acct (NULL: uncharged) and labels vcs.log lines with label
 * (e.g. "call 1f3a.. hello") until the next call. */
void sandbox_run_as(lua_State *L, struct mem_account *acct, const char *label);

/* Arms the instruction budget on a thread before each resume. */
void sandbox_arm(lua_State *co, long max_instructions);

/* Loads and runs a chunk of set (by source name) in a fresh environment, leaving its first
 * result on the stack. Uses and fills the per-version module cache at stack index loaded_idx
 * (a table). Returns LUA_OK or an error status with the message on the stack. */
int sandbox_load_source(lua_State *L, const struct script_set *set, const char *name, int loaded_idx);

/* The hangup error (SPEC 5.1): vcs.is_hangup(err) is true for it. */
void sandbox_push_hangup(lua_State *L, const char *cause);
bool sandbox_is_hangup(lua_State *L, int idx);

#endif
