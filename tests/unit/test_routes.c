/* Unit tests of src/script/routes.c: order, anchors and escapes as written in Lua, vars types,
 * one test per class of error (each names the entry and the key), the sandbox, runaway files,
 * loading from a file, and matching from several threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "script/routes.h"

static struct routes *load(const char *text, char *err, size_t errlen)
{
    return routes_load_buffer(text, strlen(text), "routes.lua", err, errlen);
}

static struct routes *load_ok(const char *text)
{
    char err[512];
    struct routes *r = load(text, err, sizeof err);
    if (r == NULL)
        fail_msg("%s", err);
    assert_string_equal(err, "");
    return r;
}

static void expect_error(const char *text, const char *fragment)
{
    char err[512];
    struct routes *r = load(text, err, sizeof err);
    if (r != NULL) {
        routes_free(r);
        fail_msg("loaded, expected an error containing '%s':\n%s", fragment, text);
    }
    if (strstr(err, fragment) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, fragment);
}

/* The script of the route number matches, or "" for none. */
static const char *script_for(const struct routes *r, const char *number)
{
    const struct route *e = routes_match(r, number, ROUTE_FROM_TRUNK);
    return e ? e->script : "";
}

/* SPEC 4: an entry may match calls from one kind of source only. */
static void test_source_kind(void **state)
{
    struct routes *r = load_ok("return {\n"
                               "  { match = '^400', script = 'pstn', source = 'gateway' },\n"
                               "  { match = '^400', script = 'pbx', source = 'trunk' },\n"
                               "  { match = '^4', script = 'any' },\n"
                               "}");
    assert_string_equal(routes_match(r, "4001", ROUTE_FROM_GATEWAY)->script, "pstn");
    assert_string_equal(routes_match(r, "4001", ROUTE_FROM_TRUNK)->script, "pbx");
    assert_string_equal(routes_match(r, "41", ROUTE_FROM_GATEWAY)->script, "any");
    routes_free(r);
    expect_error("return { { match = '^1', script = 'a', source = 'carrier' } }",
                 "routes.lua: entry 1: source: expected \"gateway\" or \"trunk\"");
}

static void test_order_matters(void **state)
{
    struct routes *r = load_ok("return {\n"
                               "  { match = '^400', script = 'wide' },\n"
                               "  { match = '^4001', script = 'narrow' },\n"
                               "}");
    assert_int_equal(r->n, 2);
    assert_string_equal(script_for(r, "4001234567"), "wide");
    routes_free(r);
    r = load_ok("return {\n"
                "  { match = '^4001', script = 'narrow' },\n"
                "  { match = '^400', script = 'wide' },\n"
                "}");
    assert_string_equal(script_for(r, "4001234567"), "narrow");
    assert_string_equal(script_for(r, "4009999999"), "wide");
    assert_string_equal(script_for(r, "5001234567"), "");
    assert_ptr_equal(routes_match(r, "4001", ROUTE_FROM_TRUNK), &r->list[0]);
    routes_free(r);
}

/* "^400\\d{7}$" in Lua source is the pattern ^400\d{7}$: anchored, exactly 10 digits. */
static void test_anchors_and_escapes(void **state)
{
    struct routes *r = load_ok("return { { match = \"^400\\\\d{7}$\", script = 'ivr_demo' },\n"
                               "         { match = [[^\\+86(\\d+)$]], script = 'china' } }");
    assert_string_equal(r->list[0].pattern, "^400\\d{7}$");
    assert_string_equal(r->list[1].pattern, "^\\+86(\\d+)$");
    assert_string_equal(script_for(r, "4001234567"), "ivr_demo");
    assert_string_equal(script_for(r, "40012345678"), "");
    assert_string_equal(script_for(r, "x4001234567"), "");
    assert_string_equal(script_for(r, "400123456a"), "");
    assert_string_equal(script_for(r, "400123456"), "");
    assert_string_equal(script_for(r, "+8613800000000"), "china");
    assert_string_equal(script_for(r, "8613800000000"), "");
    routes_free(r);
}

static void test_vars_types(void **state)
{
    struct routes *r = load_ok("return { { match = '.', script = 's',\n"
                               "  vars = { lang = 'zh', retries = 3, rate = 1.5, debug = true,\n"
                               "           quiet = false, big = 1 << 40, ['with space'] = '' } },\n"
                               "  { match = 'x', script = 't' } }");
    const struct route *e = &r->list[0];
    assert_string_equal(e->script, "s");
    assert_int_equal(e->n_vars, 7);
    /* sorted by key */
    static const char *const keys[] = { "big", "debug", "lang", "quiet", "rate", "retries",
                                         "with space" };
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(e->vars[i].key, keys[i]);
    assert_int_equal(e->vars[0].type, ROUTE_VAR_INTEGER);
    assert_true(e->vars[0].integer == 1LL << 40);
    assert_int_equal(e->vars[1].type, ROUTE_VAR_BOOLEAN);
    assert_int_equal(e->vars[1].boolean, 1);
    assert_int_equal(e->vars[2].type, ROUTE_VAR_STRING);
    assert_string_equal(e->vars[2].str, "zh");
    assert_int_equal(e->vars[3].type, ROUTE_VAR_BOOLEAN);
    assert_int_equal(e->vars[3].boolean, 0);
    assert_int_equal(e->vars[4].type, ROUTE_VAR_NUMBER);
    assert_true(e->vars[4].number == 1.5);
    assert_int_equal(e->vars[5].type, ROUTE_VAR_INTEGER);
    assert_int_equal(e->vars[5].integer, 3);
    assert_int_equal(e->vars[6].type, ROUTE_VAR_STRING);
    assert_string_equal(e->vars[6].str, "");
    /* no vars, or empty vars: none */
    assert_int_equal(r->list[1].n_vars, 0);
    assert_null(r->list[1].vars);
    routes_free(r);
}

static void test_empty_matches_nothing(void **state)
{
    struct routes *r = load_ok("-- no routes yet\nreturn {}");
    assert_int_equal(r->n, 0);
    assert_null(routes_match(r, "4001234567", ROUTE_FROM_TRUNK));
    assert_null(routes_match(r, "", ROUTE_FROM_TRUNK));
    routes_free(r);
    r = load_ok("return { { match = '^$', script = 'empty', vars = {} } }");
    assert_int_equal(r->list[0].n_vars, 0);
    assert_string_equal(script_for(r, ""), "empty");
    assert_string_equal(script_for(r, "1"), "");
    assert_null(routes_match(r, NULL, ROUTE_FROM_TRUNK));
    assert_null(routes_match(NULL, "1", ROUTE_FROM_TRUNK));
    routes_free(r);
    routes_free(NULL);
}

static void test_pattern_errors(void **state)
{
    char err[512];
    struct routes *r = load("return {\n"
                            "  { match = '^1', script = 'a' },\n"
                            "  { match = '^2', script = 'b' },\n"
                            "  { match = '^(40', script = 'c' },\n"
                            "}",
                            err, sizeof err);
    assert_null(r);
    assert_string_equal(err, "routes.lua: entry 3: match: missing closing parenthesis at offset 4");
    expect_error("return { { match = '[0-9', script = 'a' } }",
                 "routes.lua: entry 1: match: missing terminating ] for character class at offset 4");
    expect_error("return { { match = 4001234567, script = 'a' } }",
                 "routes.lua: entry 1: match: expected string, got number");
    expect_error("return { { match = '^1\\0', script = 'a' } }",
                 "routes.lua: entry 1: match: contains a NUL byte");
    expect_error("return { { script = 'a' } }", "routes.lua: entry 1: match: missing");
}

static void test_script_errors(void **state)
{
    expect_error("return { { match = '1', script = '../etc/passwd' } }",
                 "routes.lua: entry 1: script: expected a name of letters, digits, '_' and '-'");
    expect_error("return { { match = '1', script = 'ivr.lua' } }", "entry 1: script: expected a name");
    expect_error("return { { match = '1', script = 'a/b' } }", "entry 1: script: expected a name");
    expect_error("return { { match = '1', script = '' } }", "entry 1: script: expected a name");
    expect_error("return { { match = '1', script = 'a b' } }", "entry 1: script: expected a name");
    expect_error("return { { match = '1', script = true } }",
                 "routes.lua: entry 1: script: expected string, got boolean");
    expect_error("return { { match = '1' } }", "routes.lua: entry 1: script: missing");
    expect_error("return { { match = '1', script = 'a' .. string.format('%099d%029d', 0, 0) } }",
                 "routes.lua: entry 1: script: name longer than 128 bytes");
    struct routes *r = load_ok("return { { match = '1', script = 'Ivr_demo-2' } }");
    assert_string_equal(r->list[0].script, "Ivr_demo-2");
    routes_free(r);
    r = load_ok("return { { match = '1', script = 'a' .. string.format('%099d%028d', 0, 0) } }");
    assert_int_equal(strlen(r->list[0].script), 128);
    routes_free(r);
}

static void test_vars_errors(void **state)
{
    expect_error("return { { match = '1', script = 'a', vars = { lang = { 'zh' } } } }",
                 "routes.lua: entry 1: vars.lang: expected string, number or boolean, got table");
    expect_error("return { { match = '1', script = 'a', vars = { f = print } } }",
                 "routes.lua: entry 1: vars.f: expected string, number or boolean, got function");
    expect_error("return { { match = '1', script = 'a', vars = { 'zh' } } }",
                 "routes.lua: entry 1: vars: keys must be strings, got number");
    expect_error("return { { match = '1', script = 'a', vars = 'lang=zh' } }",
                 "routes.lua: entry 1: vars: expected table, got string");
    expect_error("return { { match = '1', script = 'a', vars = { s = 'a\\0b' } } }",
                 "routes.lua: entry 1: vars.s: contains a NUL byte");
}

static void test_shape_errors(void **state)
{
    expect_error("return { { match = '1', script = 'a', prio = 1 } }",
                 "routes.lua: entry 1: prio: unknown key (expected match, script, vars, source)");
    expect_error("return { { match = '1', script = 'a', [1] = 'x' } }",
                 "routes.lua: entry 1: unexpected number key");
    expect_error("return { { match = '1', script = 'a' }, 'b' }",
                 "routes.lua: entry 2: expected table, got string");
    expect_error("return { main = { match = '1', script = 'a' } }",
                 "routes.lua: expected a list of routes, got key \"main\"");
    expect_error("return { [1] = { match = '1', script = 'a' }, [3] = { match = '3', script = 'c' } }",
                 "routes.lua: expected a list of routes, but it has holes");
    expect_error("return 'routes'", "routes.lua: expected the file to return a list of routes, got string");
    expect_error("local routes = {}", "routes.lua: expected the file to return a list of routes, got nil");
}

static void test_lua_errors(void **state)
{
    expect_error("return {\n  { match = '1' script = 'a' },\n}", "routes.lua:2: '}' expected");
    expect_error("local t = nil\nreturn t[1]", "routes.lua:2: attempt to index a nil value");
    expect_error("error('no routes today')", "routes.lua:1: no routes today");
    expect_error("error(42)", "routes.lua: error object is a number value");
    expect_error("\x1bLua", "routes.lua: attempt to load a binary chunk");
    /* no file, process or code loading */
    struct routes *r = load_ok("local escaped = io or os or require or package or debug or load"
                               " or loadfile or dofile or string.rep or string.gsub\n"
                               "return { { match = escaped and 'escaped' or 'sandboxed',"
                               " script = 'a' } }");
    assert_string_equal(r->list[0].pattern, "sandboxed");
    routes_free(r);
    expect_error("return { { match = string.rep('', 1 << 50), script = 'a' } }",
                 "attempt to call a nil value (field 'rep')");
}

static void test_runaway(void **state)
{
    expect_error("while true do end", "routes.lua:1: instruction limit exceeded");
    expect_error("while true do pcall(function() while true do end end) end",
                 "instruction limit exceeded");
    expect_error("local t = {} for i = 1, 1 << 27 do t[i] = i end return {}",
                 "routes.lua: memory limit exceeded");
    expect_error("local s = '1' for i = 1, 40 do s = s .. s end return {}",
                 "routes.lua: memory limit exceeded");
    /* Lua runs finalizers with hooks off: a file cannot set one */
    expect_error("setmetatable({}, { __gc = function() while true do end end })\n"
                 "return { { match = '1', script = 'a' } }",
                 "routes.lua:1: attempt to call a nil value (global 'setmetatable')");
}

/* A pattern that backtracks without end counts as no match, and the next entry is tried. */
static void test_match_limit(void **state)
{
    struct routes *r = load_ok("return { { match = '^(a+)+$', script = 'slow' },\n"
                               "         { match = '', script = 'fallback' } }");
    assert_string_equal(script_for(r, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"), "fallback");
    assert_string_equal(script_for(r, "aaaa"), "slow");
    routes_free(r);
}

static void test_load_file(void **state)
{
    char dir[] = "/tmp/vcs-test-routes-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], err[512];
    snprintf(path, sizeof path, "%s/routes.lua", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("return {\n  { match = \"^400\\\\d{7}$\", script = \"ivr_demo\", vars = { lang = \"zh\" } },\n"
          "  { match = \"^(\", script = \"broken\" },\n}\n",
          f);
    assert_int_equal(fclose(f), 0);
    struct routes *r = routes_load(path, err, sizeof err);
    assert_null(r);
    char want[256];
    snprintf(want, sizeof want, "%s: entry 2: match: missing closing parenthesis at offset 2", path);
    assert_string_equal(err, want);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("return {\n  { match = \"^400\\\\d{7}$\", script = \"ivr_demo\", vars = { lang = \"zh\" } },\n"
          "}\n",
          f);
    assert_int_equal(fclose(f), 0);
    r = routes_load(path, err, sizeof err);
    if (r == NULL)
        fail_msg("%s", err);
    assert_string_equal(script_for(r, "4001234567"), "ivr_demo");
    assert_string_equal(r->list[0].vars[0].str, "zh");
    routes_free(r);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("return {\n  { match = '1', script = 'a' }\n  { match = '2', script = 'b' },\n}\n", f);
    assert_int_equal(fclose(f), 0);
    assert_null(routes_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s:3: '}' expected (to close '{' at line 1) near '{'", path);
    assert_string_equal(err, want);

    unlink(path);
    assert_null(routes_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
    assert_null(routes_load(dir, err, sizeof err));
    assert_non_null(strstr(err, "Is a directory"));
    rmdir(dir);
}

struct worker {
    const struct routes *r;
    int wrong;
};

static void *match_many(void *arg)
{
    struct worker *w = arg;
    char number[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(number, sizeof number, "%d%07d", 400 + i % 3, i);
        const char *want = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "";
        if (strcmp(script_for(w->r, number), want) != 0)
            w->wrong++;
    }
    return NULL;
}

/* Several threads share one routes set; each gets its own match data, freed at its exit. */
static void test_threads(void **state)
{
    struct routes *r = load_ok("return { { match = \"^400\\\\d{7}$\", script = 'a' },\n"
                               "         { match = \"^401\\\\d{7}$\", script = 'b' } }");
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ r, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, match_many, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].wrong, 0);
    }
    routes_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_matters),
        cmocka_unit_test(test_source_kind),
        cmocka_unit_test(test_anchors_and_escapes),
        cmocka_unit_test(test_vars_types),
        cmocka_unit_test(test_empty_matches_nothing),
        cmocka_unit_test(test_pattern_errors),
        cmocka_unit_test(test_script_errors),
        cmocka_unit_test(test_vars_errors),
        cmocka_unit_test(test_shape_errors),
        cmocka_unit_test(test_lua_errors),
        cmocka_unit_test(test_runaway),
        cmocka_unit_test(test_match_limit),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
