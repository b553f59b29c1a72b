/* Unit tests of src/script/pattern.c: the step-counted find, match, gmatch and gsub give what
 * Lua 5.4's own give (results and error messages, compared expression by expression against a
 * state with the stock string library), and a meter that says stop ends a backtracking bomb. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "script/pattern.h"

static long steps_seen, step_limit;

static bool meter(lua_State *L, long steps)
{
    (void)L;
    steps_seen += steps;
    return step_limit == 0 || steps_seen < step_limit;
}

/* Runs expr in L and returns its results (or error) as one string, owned by the caller. */
static char *eval(lua_State *L, const char *expr)
{
    char code[2048];
    snprintf(code, sizeof code,
             "local r = table.pack(pcall(function() return %s end))\n"
             "local out = {}\n"
             "for i = 1, r.n do out[#out + 1] = type(r[i]) .. ':' .. tostring(r[i]) end\n"
             "return table.concat(out, '|')", expr);
    if (luaL_dostring(L, code) != LUA_OK)
        fail_msg("%s: %s", expr, lua_tostring(L, -1));
    char *s = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return s;
}

static const char *const EXPRS[] = {
    "string.find('hello world', 'o w')",
    "string.find('hello world', 'o', 6)",
    "string.find('hello', 'l', -2)",
    "string.find('hello', 'x')",
    "string.find('hello', '', 10)",
    "string.find('hello', '', 6)",
    "string.find('a.b', '.', 1, true)",
    "string.find('a+b', '+', 1, true)",
    "string.find('abc\\0def', '\\0d')",
    "string.find('abc\\0d.f', '\\0d.')",
    "string.find('  key = value  ', '^%s*(%w+)%s*=%s*(%w+)%s*$')",
    "string.find('xabc', '^abc')",
    "string.find('abc', '()b()')",
    "string.match('sip:1000@example.com', '^sip:([^@]+)@(.+)$')",
    "string.match('2024-01-05', '(%d+)-(%d+)-(%d+)')",
    "string.match('hello', '.-')",
    "string.match('hello', 'l+')",
    "string.match('hello', 'l*o')",
    "string.match('hello', 'x?h')",
    "string.match('f(a(b)c)d', '%b()')",
    "string.match('THE (quick) fox', '%f[%a]%a+')",
    "string.match('abcabc', '(abc)%1')",
    "string.match('[x]', '[]x[]+')",
    "string.match('a-b', '[a%-]+')",
    "string.match('A1_', '[%u%d_]+')",
    "string.match('abc', '[^b]+')",
    "string.match('end$', 'd%$')",
    "string.match('a$b', 'a$b')",
    "string.match('hello', '(h)(e)(l)(l)(o)')",
    "string.match('hello', '()ll()')",
    "string.match('x', '%')",
    "string.match('x', '[a')",
    "string.match('x', '(x')",
    "string.match('x', 'x)')",
    "string.match('x', '%1')",
    "string.match('x', '%b')",
    "string.match('x', '%fx')",
    "string.match(string.rep('a', 300), string.rep('(a)', 33))",
    "string.match('\\xe9t\\xe9', '%a+')",
    "string.gsub('hello world', 'o', '0')",
    "string.gsub('hello world', '(%w+)', '<%1>')",
    "string.gsub('hello world', '%w+', '%0 %0', 1)",
    "string.gsub('abc', '', '-')",
    "string.gsub('abc', '.-', '-')",
    "string.gsub('hello', 'l', {l = 'L'})",
    "string.gsub('hello', 'l', {})",
    "string.gsub('hello', '(l)', function(x) return x:upper() end)",
    "string.gsub('hello', 'l', function() return false end)",
    "string.gsub('hello', 'l', function() return {} end)",
    "string.gsub('hello', 'l', '%2')",
    "string.gsub('hello', 'l', '%x')",
    "string.gsub('hello', 'l', '100%%')",
    "string.gsub('hello', '^h', 'H')",
    "string.gsub('hello', 'l', 7)",
    "string.gsub('hello', 'l', true)",
    "string.gsub('abc', '()', '%1')",
    "string.gsub('abc', '%w', '%1')",
    "select('#', string.gsub('x', 'x', 'y', 0))",
    "(function() local t = {} for k, v in string.gmatch('a=1, b=2', '(%w+)=(%w+)') do "
        "t[#t + 1] = k .. v end return table.concat(t, ',') end)()",
    "(function() local t = {} for w in string.gmatch('one two  three', '%a+') do "
        "t[#t + 1] = w end return table.concat(t, ',') end)()",
    "(function() local t = {} for w in string.gmatch('abc', '') do t[#t + 1] = 'x' end "
        "return #t end)()",
    "(function() local t = {} for w in string.gmatch('hello', 'l', 4) do t[#t + 1] = w end "
        "return #t end)()",
    "(function() local t = {} for w in string.gmatch('hello', '()l') do t[#t + 1] = w end "
        "return table.concat(t, ',') end)()",
    "(function() local t = {} for w in string.gmatch('^a^a', '^a') do t[#t + 1] = w end "
        "return #t end)()",
    "('x'):rep(3):find('xx')",
    NULL,
};

static lua_State *reference(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    return L;
}

static lua_State *metered(void)
{
    lua_State *L = reference();
    lua_getglobal(L, "string");
    pattern_install(L, -1, meter);
    lua_pop(L, 1);
    return L;
}

static void same_as_lua(void **state)
{
    (void)state;
    lua_State *ref = reference(), *ours = metered();
    step_limit = 0;
    for (const char *const *e = EXPRS; *e; e++) {
        char *want = eval(ref, *e), *got = eval(ours, *e);
        if (strcmp(want, got) != 0)
            fail_msg("%s\n  lua:  %s\n  ours: %s", *e, want, got);
        free(want);
        free(got);
    }
    lua_close(ref);
    lua_close(ours);
}

static void meter_stops_a_bomb(void **state)
{
    (void)state;
    lua_State *L = metered();
    steps_seen = 0;
    step_limit = 1000000;
    char *r = eval(L, "string.find(string.rep('a', 400), '.-.-.-b')");
    if (strncmp(r, "boolean:false|", 14) != 0 || !strstr(r, "pattern matching ran too long"))
        fail_msg("%s", r);
    assert_true(steps_seen >= step_limit);
    assert_true(steps_seen < step_limit + 2048);
    free(r);
    /* Every function reports its steps, short matches included. */
    steps_seen = 0;
    step_limit = 0;
    free(eval(L, "(function() for i = 1, 2000 do string.match('abc', 'b') end end)()"));
    assert_true(steps_seen >= 2000);
    lua_close(L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_as_lua),
        cmocka_unit_test(meter_stops_a_bomb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
