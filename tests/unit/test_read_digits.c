/* The digit collection rules of call:read_digits (SPEC 5.1), run on the real Lua code compiled
 * into vcsd (call_methods.lua) with vcsd's real PCRE2 matcher for valid= (lua_re_match) against
 * a scripted caller: each test lists what the caller does (a key during the prompt, keys,
 * timeouts) and checks what read_digits returns and plays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "call/lua_re.h"

extern const char call_methods_lua[];

/* The fake call: `events` is what the caller does, consumed in order. "k:5" a key, "t" a
 * timeout (get_digit returns nil), during a prompt "k:5" interrupts it and "-" lets it end. */
static const char fake_call[] =
    "local methods, events = ...\n"
    "local call = { played = {} }\n"
    "local function next_event() return table.remove(events, 1) end\n"
    "function call:play(p, o)\n"
    "  table.insert(self.played, type(p) == 'table' and table.concat(p, '+') or p)\n"
    "  if not (o and o.digits) then return nil end\n"
    "  local e = next_event()\n"
    "  if e and e:sub(1, 2) == 'k:' then return e:sub(3) end\n"
    "  return nil\n"
    "end\n"
    "function call:get_digit(ms)\n"
    "  local e = next_event()\n"
    "  if e == nil or e == 't' then return nil end\n"
    "  return e:sub(3)\n"
    "end\n"
    "setmetatable(call, { __index = methods })\n"
    "return call\n";

struct outcome {
    char result[512]; /* "nil" when read_digits returned nil, "error: ..." when it raised */
    char played[256];
};

/* Runs call:read_digits(opts) where opts is Lua source, with the caller doing events. */
static void run(const char *opts, const char *const *events, struct outcome *out)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_newtable(L); /* methods */
    int methods = lua_gettop(L);
    assert_int_equal(luaL_loadbuffer(L, call_methods_lua, strlen(call_methods_lua), "=call_methods"), LUA_OK);
    lua_pushvalue(L, methods);
    lua_pushcfunction(L, lua_re_match);
    assert_int_equal(lua_pcall(L, 2, 0, 0), LUA_OK);
    assert_int_equal(luaL_loadstring(L, fake_call), LUA_OK);
    lua_pushvalue(L, methods);
    lua_newtable(L);
    for (int i = 0; events[i]; i++) {
        lua_pushstring(L, events[i]);
        lua_rawseti(L, -2, i + 1);
    }
    assert_int_equal(lua_pcall(L, 2, 1, 0), LUA_OK);
    int call = lua_gettop(L);
    char src[512];
    snprintf(src, sizeof src, "local call = ... return call:read_digits(%s)", opts);
    assert_int_equal(luaL_loadstring(L, src), LUA_OK);
    lua_pushvalue(L, call);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        snprintf(out->result, sizeof out->result, "error: %s", lua_tostring(L, -1));
    else
        snprintf(out->result, sizeof out->result, "%s", lua_isnil(L, -1) ? "nil" : lua_tostring(L, -1));
    lua_getfield(L, call, "played");
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "concat");
    lua_pushvalue(L, -3);
    lua_pushstring(L, ",");
    lua_call(L, 2, 1);
    snprintf(out->played, sizeof out->played, "%s", lua_tostring(L, -1));
    lua_close(L);
}

#define EVENTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_terminator_ends_entry(void **state)
{
    struct outcome o;
    run("{ max = 10 }", EVENTS("k:1", "k:2", "k:#"), &o);
    assert_string_equal(o.result, "12");
}

static void test_max_ends_entry_without_terminator(void **state)
{
    struct outcome o;
    run("{ max = 3 }", EVENTS("k:1", "k:2", "k:3", "k:4"), &o);
    assert_string_equal(o.result, "123");
}

static void test_key_during_prompt_counts(void **state)
{
    struct outcome o;
    run("{ max = 4, prompt = 'enter' }", EVENTS("k:7", "k:8", "k:#"), &o);
    assert_string_equal(o.result, "78");
    assert_string_equal(o.played, "enter");
}

static void test_short_entry_uses_a_try_and_plays_invalid(void **state)
{
    struct outcome o;
    run("{ min = 3, max = 4, tries = 2, prompt = 'enter', invalid_prompt = 'bad' }",
        EVENTS("-", "k:1", "k:#", "-", "k:1", "k:2", "k:3", "k:#"), &o);
    assert_string_equal(o.result, "123");
    assert_string_equal(o.played, "enter,bad,enter");
}

static void test_timeout_without_keys_uses_a_try(void **state)
{
    struct outcome o;
    run("{ tries = 2, prompt = 'enter', invalid_prompt = 'bad' }", EVENTS("-", "t", "-", "t"), &o);
    assert_string_equal(o.result, "nil");
    assert_string_equal(o.played, "enter,bad,enter,bad");
}

static void test_digit_timeout_ends_a_partial_entry(void **state)
{
    struct outcome o;
    run("{ min = 2, max = 6 }", EVENTS("k:4", "k:2", "t"), &o);
    assert_string_equal(o.result, "42");
}

static void test_valid_pattern(void **state)
{
    struct outcome o;
    run("{ max = 4, tries = 2, valid = [[^1\\d\\d$]] }",
        EVENTS("k:2", "k:3", "k:4", "k:#", "k:1", "k:5", "k:9", "k:#"), &o);
    assert_string_equal(o.result, "159");
}

/* PCRE2, not Lua patterns: alternation and counted repeats work, and a Lua pattern is just a
 * PCRE2 pattern with a literal '%' (so it matches no digits). */
static void test_valid_is_pcre2(void **state)
{
    struct outcome o;
    run("{ max = 4, tries = 3, valid = [[^(12|34)\\d{2}$]] }",
        EVENTS("k:1", "k:3", "k:5", "k:6", "k:3", "k:4", "k:5", "k:6"), &o);
    assert_string_equal(o.result, "3456");
    run("{ max = 3, tries = 1, valid = '^1%d%d$' }", EVENTS("k:1", "k:5", "k:9"), &o);
    assert_string_equal(o.result, "nil");
    run("{ max = 3, tries = 1, valid = [[^1\\d(?=9)\\d$]] }", EVENTS("k:1", "k:5", "k:9"), &o);
    assert_string_equal(o.result, "159"); /* a lookahead: no Lua pattern has one */
}

/* A pattern that backtracks exponentially stops at the match limit and counts as no match
 * instead of stalling the worker. */
static void test_valid_backtracking_is_bounded(void **state)
{
    const char *keys[32];
    for (int i = 0; i < 30; i++)
        keys[i] = "k:1";
    keys[30] = "k:#";
    keys[31] = NULL;
    struct outcome o;
    run("{ max = 40, tries = 1, valid = [[^(\\d+)+[02-9]$]] }", keys, &o);
    assert_string_equal(o.result, "nil");
}

static void test_terminators_option(void **state)
{
    struct outcome o;
    run("{ max = 8, terminators = '*#' }", EVENTS("k:5", "k:*"), &o);
    assert_string_equal(o.result, "5");
}

static void test_empty_terminated_entry_is_invalid(void **state)
{
    struct outcome o;
    run("{ min = 1, tries = 1 }", EVENTS("k:#"), &o);
    assert_string_equal(o.result, "nil");
}

static void test_bad_options_raise(void **state)
{
    struct outcome o;
    run("{ colour = 'red' }", EVENTS("t"), &o);
    assert_non_null(strstr(o.result, "unknown option 'colour'"));
    run("{ min = 5, max = 2 }", EVENTS("t"), &o);
    assert_non_null(strstr(o.result, "min is larger than max"));
    run("{ max = 0 }", EVENTS("t"), &o);
    assert_non_null(strstr(o.result, "max must be a positive integer"));
    run("{ valid = '(' }", EVENTS("t"), &o);
    assert_non_null(strstr(o.result, "call:read_digits(): valid: missing closing parenthesis at offset 1"));
    assert_string_equal(o.played, ""); /* raised before any prompt */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminator_ends_entry),
        cmocka_unit_test(test_max_ends_entry_without_terminator),
        cmocka_unit_test(test_key_during_prompt_counts),
        cmocka_unit_test(test_short_entry_uses_a_try_and_plays_invalid),
        cmocka_unit_test(test_timeout_without_keys_uses_a_try),
        cmocka_unit_test(test_digit_timeout_ends_a_partial_entry),
        cmocka_unit_test(test_valid_pattern),
        cmocka_unit_test(test_valid_is_pcre2),
        cmocka_unit_test(test_valid_backtracking_is_bounded),
        cmocka_unit_test(test_terminators_option),
        cmocka_unit_test(test_empty_terminated_entry_is_invalid),
        cmocka_unit_test(test_bad_options_raise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
