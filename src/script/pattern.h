/* Lua 5.4's pattern functions (string.find, match, gmatch, gsub), same results and errors, with
 * a step meter: Lua's own matcher backtracks inside one C call where neither the count hook nor
 * the wall-clock watchdog can stop it (string.rep('a', 400):find('.-.-.-b') runs for seconds).
 * Every backtracking step here is counted and reported to the meter in batches; when the meter
 * says stop, the function raises a Lua error. */
#ifndef VCS_PATTERN_H
#define VCS_PATTERN_H

#include <stdbool.h>

#include <lua.h>

/* Charges steps to whoever runs; false when the running code must stop. */
typedef bool (*pattern_meter)(lua_State *L, long steps);

/* Replaces find, match, gmatch and gsub in the table at idx (the string library). */
void pattern_install(lua_State *L, int idx, pattern_meter meter);

#endif
