/* dialplans/routes.lua: an ordered list of { match = PCRE2 pattern, script = NAME, vars = {...},
 * source = "gateway"|"trunk" (optional: only calls from that kind of source, SPEC 4) }.
 * Loaded in a throw-away sandboxed Lua state (no io, os or require), validated (pattern compiles,
 * script is a plain name whose file the caller checks, vars are flat string/number/boolean),
 * then kept as immutable C data that any thread may match against concurrently. */
#ifndef VCS_ROUTES_H
#define VCS_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

enum route_var_type { ROUTE_VAR_STRING, ROUTE_VAR_NUMBER, ROUTE_VAR_INTEGER, ROUTE_VAR_BOOLEAN };

struct route_var {
    char *key;
    enum route_var_type type;
    char *str;        /* ROUTE_VAR_STRING */
    double number;    /* ROUTE_VAR_NUMBER */
    long long integer;/* ROUTE_VAR_INTEGER */
    int boolean;      /* ROUTE_VAR_BOOLEAN */
};

/* The kind of source a call came from (SPEC 4); ROUTE_FROM_ANY only in a route. */
enum route_source { ROUTE_FROM_ANY, ROUTE_FROM_GATEWAY, ROUTE_FROM_TRUNK };

struct route {
    enum route_source source;
    char *pattern;
    char *script;
    size_t n_vars;
    struct route_var *vars;
    void *code;       /* pcre2_code_8 * */
};

struct routes {
    size_t n;
    struct route *list;
};

struct lua_State;
/* Reads the number or boolean at idx into v (type and value); false for any other type.
 * Strings stay the caller's: each bounds and copies them its own way. */
bool route_var_scalar(struct lua_State *L, int idx, struct route_var *v);

/* Loads a routes file. Returns NULL and writes "dialplans/routes.lua:3: ..." style messages
 * (file and line where Lua reports one; the entry index otherwise) into err. */
struct routes *routes_load(const char *path, char *err, size_t errlen);
/* Same from a buffer; name is used in messages. */
struct routes *routes_load_buffer(const char *buf, size_t len, const char *name, char *err, size_t errlen);
void routes_free(struct routes *r);

/* The first route for calls from `from` whose pattern matches number, or NULL. Thread-safe. */
const struct route *routes_match(const struct routes *r, const char *number,
                                 enum route_source from);

#endif
