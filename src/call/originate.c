/* vcs.originate, POST /v1/calls and the live-calls listing. See originate.h. */
#include "call/originate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "call/call.h"
#include "call/engine.h"
#include "call/live_calls.h"
#include "call/outleg.h"
#include "call/worker.h"
#include "campaign/compliance_gate.h"
#include "core/clock.h"
#include "core/log.h"

#define VAR_KEY_MAX 64
#define VAR_STR_MAX 1024

static struct outleg_request *request_new(const char *account)
{
    struct outleg_request *req = calloc(1, sizeof *req);
    if (req) {
        snprintf(req->account, sizeof req->account, "%s", account);
        req->timeout_ms = OUTLEG_TIMEOUT_MS_DEFAULT;
    }
    return req;
}

/* Copies s into a field, or fails when it does not fit (never truncates a target). */
static bool set_field(char *dst, size_t cap, const char *s)
{
    if (!s || strlen(s) >= cap)
        return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static struct route_var *var_add(struct outleg_request *req, const char *key)
{
    if (req->n_vars == ORIGINATE_MAX_VARS || !key || !key[0] || strlen(key) > VAR_KEY_MAX)
        return NULL;
    if (!req->vars && !(req->vars = calloc(ORIGINATE_MAX_VARS, sizeof *req->vars)))
        return NULL;
    struct route_var *v = &req->vars[req->n_vars];
    if (!(v->key = strdup(key)))
        return NULL;
    req->n_vars++;
    return v;
}

/* ---- vcs.originate ------------------------------------------------------------------------ */

static const char *opt_string(lua_State *L, const char *field)
{
    int t = lua_getfield(L, 1, field);
    const char *s = t == LUA_TNIL ? NULL : lua_tostring(L, -1);
    if (t != LUA_TNIL && t != LUA_TSTRING && t != LUA_TNUMBER)
        luaL_error(L, "vcs.originate: %s must be a string", field);
    lua_pop(L, 1); /* the string stays referenced by the table */
    return s;
}

static void lua_vars(lua_State *L, struct outleg_request *req)
{
    if (lua_getfield(L, 1, "vars") == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    if (!lua_istable(L, -1))
        luaL_error(L, "vcs.originate: vars must be a table");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        struct route_var *v = var_add(req, key);
        if (!v)
            luaL_error(L, "vcs.originate: vars: at most %d, with names of 1 to %d characters",
                       ORIGINATE_MAX_VARS, VAR_KEY_MAX);
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            if (lua_rawlen(L, -1) > VAR_STR_MAX || !(v->str = strdup(lua_tostring(L, -1))))
                luaL_error(L, "vcs.originate: vars.%s: at most %d bytes", key, VAR_STR_MAX);
            v->type = ROUTE_VAR_STRING;
            break;
        default:
            if (!route_var_scalar(L, -1, v))
                luaL_error(L, "vcs.originate: vars.%s must be a string, number or boolean", key);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The request is kept in a userdata while the table is read, so that an error raised on the
 * way frees it (its __close), and is handed over only once complete. */
static int request_close(lua_State *L)
{
    struct outleg_request **slot = lua_touserdata(L, 1);
    outleg_request_free(*slot);
    *slot = NULL;
    return 0;
}

/* The request in the slot at stack index 2 goes out: its id, or the engine's refusal raised. */
static int place(lua_State *L, struct call *c)
{
    struct outleg_request **slot = lua_touserdata(L, 2);
    struct outleg_request *req = *slot;
    *slot = NULL; /* handed over */
    char id[48], err[256];
    if (engine_originate(worker_engine(c->w), req, id, sizeof id, err, sizeof err) != 0)
        return luaL_error(L, "vcs.originate: %s", err);
    lua_pushstring(L, id);
    return 1;
}

/* ---- the do-not-call lists and caps, asked off the worker (compliance_gate.h) ------------- */

/* A lost answer (no memory for the message) or a database locked for longer than the gate's
 * busy timeout must not hold the script for ever. */
#define VERDICT_WAIT_MS 15000

struct asked {
    struct worker *w;
    uint64_t leg_id;
    uint32_t generation;
};

/* The script goes on: the leg is placed, or nil and the refusal's code (SPEC 9: "dnc",
 * "frequency_cap"); no CDR row, as POST /v1/calls writes none for its 403. */
static int verdict_results(lua_State *L, struct call *c)
{
    char verdict[sizeof c->wait.result];
    memcpy(verdict, c->wait.result, sizeof verdict);
    c->wait.result[0] = '\0';
    if (!verdict[0])
        return luaL_error(L, "vcs.originate: the do-not-call lists could not be read in time");
    if (strcmp(verdict, "ok") == 0)
        return place(L, c);
    if (strcmp(verdict, "unknown") == 0)
        return luaL_error(L, "vcs.originate: the do-not-call lists could not be read");
    const char *code =
        compliance_code(strcmp(verdict, "dnc") == 0 ? COMPLIANCE_DNC : COMPLIANCE_CAP);
    struct outleg_request **slot = lua_touserdata(L, 2);
    log_info("call %s: vcs.originate to %s refused: %s", c->id, (*slot)->to, code);
    lua_pushnil(L);
    lua_pushstring(L, code);
    return 2;
}

/* Only the answer (or the timer) ends the wait: a hangup meanwhile does not, and the script,
 * which may be on_hangup's, gets its answer as usual (originate needs no media). */
static const struct wait_kind verdict_wait = {
    "originate", .wake_on = WAIT_ON(WAIT_EV_TIMER), .results = verdict_results,
    .handles_hangup = true, .returns_after_hangup = true,
};

static void verdict_arrived(struct call *c, uint32_t generation, int verdict)
{
    if (!call_waiting(c, &verdict_wait) || call_wait_generation(c) != generation)
        return; /* the wait timed out: this answer is for nobody */
    call_wait_set_result(c, verdict == COMPLIANCE_DNC       ? "dnc"
                            : verdict == COMPLIANCE_CAP     ? "cap"
                            : verdict == COMPLIANCE_UNKNOWN ? "unknown"
                                                            : "ok");
    call_wait_wake(c);
}

/* The gate's thread: the answer goes to the asking call's worker. */
static void on_verdict(enum compliance verdict, void *arg)
{
    struct asked *a = arg;
    worker_post_reply(a->w, a->leg_id, a->generation, verdict_arrived, (int)verdict);
    free(a);
}

int originate_lua(lua_State *L)
{
    struct call *c = *(struct call **)lua_getextraspace(L);
    if (!c)
        return luaL_error(L, "vcs.originate: only from a call's own coroutine");
    luaL_checktype(L, 1, LUA_TTABLE);
    struct outleg_request **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = NULL;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, request_close);
    lua_setfield(L, -2, "__close");
    lua_setmetatable(L, -2);
    lua_toclose(L, -1);
    struct outleg_request *req = *slot = request_new(c->cdr.account);
    if (!req)
        return luaL_error(L, "vcs.originate: out of memory");
    const char *to = opt_string(L, "to"), *from = opt_string(L, "from");
    const char *script = opt_string(L, "script"), *gateway = opt_string(L, "gateway");
    if (!to || !set_field(req->to, sizeof req->to, to))
        return luaL_error(L, "vcs.originate: to: a sip: URI or a number");
    if (!script || !set_field(req->script, sizeof req->script, script))
        return luaL_error(L, "vcs.originate: script: the dialplan to run on answer");
    if (gateway && !set_field(req->gateway, sizeof req->gateway, gateway))
        return luaL_error(L, "vcs.originate: gateway: a gateway's name");
    /* Our number: by default the one the caller dialled when it is one of the account's. */
    if (!from)
        from = c->number ? c->number->number : "auto";
    if (!set_field(req->from, sizeof req->from, from))
        return luaL_error(L, "vcs.originate: from: a number of the account");
    if (lua_getfield(L, 1, "timeout") != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            return luaL_error(L, "vcs.originate: timeout: milliseconds, an integer");
        lua_Integer ms = lua_tointeger(L, -1);
        req->timeout_ms = ms > 0 && ms <= OUTLEG_TIMEOUT_MS_MAX ? (int)ms : -1;
    }
    lua_pop(L, 1);
    lua_vars(L, req);
    snprintf(req->parent_call_id, sizeof req->parent_call_id, "%s", c->id);
    lua_settop(L, 2); /* the slot stays at 2 while the coroutine waits */
    /* As POST /v1/calls: the lists and caps first (a number only), then the request's checks. */
    const char *callee = compliance_callee(req->to);
    if (!callee)
        return place(L, c);
    if (L != c->co)
        return luaL_error(L, "vcs.originate: only from a call's own coroutine");
    struct compliance_gate *gate = engine_services(worker_engine(c->w))->compliance;
    struct asked *a = malloc(sizeof *a);
    if (a)
        *a = (struct asked){ c->w, c->leg_id, call_wait_generation(c) };
    if (!a || compliance_gate_ask(gate, req->account, callee, on_verdict, a) != 0) {
        free(a);
        return luaL_error(L, "vcs.originate: to: %s cannot be checked against the do-not-call"
                          " lists", callee);
    }
    call_wait_timer(c, VERDICT_WAIT_MS);
    return call_wait_yield(L, c, &verdict_wait);
}

/* ---- POST /v1/calls ----------------------------------------------------------------------- */

static int json_vars(const json_t *vars, struct outleg_request *req, char *err, size_t errlen)
{
    const char *key;
    const json_t *val;
    if (vars && !json_is_object(vars)) {
        snprintf(err, errlen, "vars: an object");
        return -1;
    }
    json_object_foreach((json_t *)vars, key, val) {
        struct route_var *v = var_add(req, key);
        if (!v) {
            snprintf(err, errlen, "vars: at most %d, with names of 1 to %d characters",
                     ORIGINATE_MAX_VARS, VAR_KEY_MAX);
            return -1;
        }
        if (json_is_string(val) && json_string_length(val) <= VAR_STR_MAX &&
            strlen(json_string_value(val)) == json_string_length(val)) {
            v->type = ROUTE_VAR_STRING;
            if (!(v->str = strdup(json_string_value(val))))
                return -1;
        } else if (json_is_integer(val)) {
            v->type = ROUTE_VAR_INTEGER;
            v->integer = json_integer_value(val);
        } else if (json_is_real(val)) {
            v->type = ROUTE_VAR_NUMBER;
            v->number = json_real_value(val);
        } else if (json_is_boolean(val)) {
            v->type = ROUTE_VAR_BOOLEAN;
            v->boolean = json_is_true(val);
        } else {
            snprintf(err, errlen, "vars.%.64s: a string (at most %d bytes), number or boolean", key,
                     VAR_STR_MAX);
            return -1;
        }
    }
    return 0;
}

int originate_json(struct engine *e, const char *account, const json_t *body, char *id,
                   size_t idlen, char *err, size_t errlen)
{
    return originate_campaign_json(e, account, body, 0, id, idlen, err, errlen);
}

int originate_campaign_json(struct engine *e, const char *account, const json_t *body,
                            int64_t campaign_id, char *id, size_t idlen, char *err, size_t errlen)
{
    struct outleg_request *req = request_new(account);
    if (!req) {
        snprintf(err, errlen, "out of memory");
        return 500;
    }
    const char *to = json_string_value(json_object_get(body, "to"));
    const char *from = json_string_value(json_object_get(body, "from"));
    const char *script = json_string_value(json_object_get(body, "script"));
    const char *gateway = json_string_value(json_object_get(body, "gateway"));
    const json_t *timeout = json_object_get(body, "timeout_s");
    const char *bad = !to || !set_field(req->to, sizeof req->to, to) ? "to: a sip: URI or a number"
                      : !from || !set_field(req->from, sizeof req->from, from) ? "from: a number of the account"
                      : !script || !set_field(req->script, sizeof req->script, script) ? "script: the dialplan to run on answer"
                      : timeout && (!json_is_integer(timeout) || json_integer_value(timeout) < 1 ||
                                    json_integer_value(timeout) > OUTLEG_TIMEOUT_MS_MAX / 1000)
                          ? "timeout_s: 1 to 600 seconds"
                      : gateway && !set_field(req->gateway, sizeof req->gateway, gateway)
                          ? "gateway: a gateway's name"
                          : NULL;
    if (bad || json_vars(json_object_get(body, "vars"), req, err, errlen) != 0) {
        if (bad)
            snprintf(err, errlen, "%s", bad);
        outleg_request_free(req);
        return 400;
    }
    if (timeout)
        req->timeout_ms = (int)json_integer_value(timeout) * 1000;
    req->campaign_id = campaign_id;
    return engine_originate(e, req, id, idlen, err, errlen);
}

/* ---- the live legs ------------------------------------------------------------------------ */

static json_t *time_or_null(int64_t ms)
{
    if (!ms)
        return json_null();
    char iso[ISO8601_LEN];
    iso8601_ms(ms, iso);
    return json_string(iso);
}

static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

static json_t *live_json(const struct live_call *lc)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "id", lc->id, "direction",
                     lc->direction, "from", lc->from, "to", lc->to, "script",
                     str_or_null(lc->script), "state", lc->state, "start_time",
                     time_or_null(lc->start_ms), "answer_time", time_or_null(lc->answer_ms),
                     "parent_call_id", str_or_null(lc->parent_call_id));
}

json_t *originate_live_list(struct engine *e, const char *account)
{
    struct live_call *all = NULL;
    long n = live_calls_list(engine_live(e), account, &all);
    json_t *arr = n >= 0 ? json_array() : NULL;
    for (long i = 0; arr && i < n; i++)
        json_array_append_new(arr, live_json(&all[i]));
    free(all);
    return arr;
}

json_t *originate_live_get(struct engine *e, const char *account, const char *id)
{
    struct live_call lc;
    if (!live_calls_find(engine_live(e), id, &lc) || (account && strcmp(lc.account, account) != 0))
        return NULL;
    return live_json(&lc);
}
