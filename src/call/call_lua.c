/* The call object, its methods, and the handler's coroutine. See call_lua.h. */
#include "call/call_lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "call/call_method.h"
#include "call/lua_re.h"
#include "call/originate.h"
#include "core/log.h"
#include "script/routes.h"
#include "script/sandbox.h"

#define CALL_MT "vcs.call"

struct call_ud {
    struct call *c; /* NULL once the call is gone */
};

static const char *label_of(const struct call *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "call %.40s %.48s", c->id, c->cdr.script);
    return buf;
}

struct call *method_call(lua_State *L)
{
    struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);
    return ud->c;
}

struct call *method_live_call(lua_State *L, const char *method)
{
    struct call *c = method_call(L);
    if (!c || c->ended)
        call_raise_hangup(L, c);
    if (L != c->co)
        luaL_error(L, "call:%s() must run in the call's own coroutine, not in a coroutine it created", method);
    return c;
}

void call_script_wake(struct call *c)
{
    worker_attend(c->w, c);
}

void call_digit_arrived(struct call *c)
{
    call_wait_notify(c, WAIT_EV_DIGIT);
}

/* ---- variables and control ------------------------------------------------------------------ */

static int m_set(lua_State *L)
{
    struct call *c = method_call(L);
    luaL_checkstring(L, 2);
    int t = lua_type(L, 3);
    if (t != LUA_TSTRING && t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TNIL)
        return luaL_typeerror(L, 3, "string, number, boolean or nil");
    if (!c)
        return 0; /* the CDR is written: nothing to record into */
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->vars_ref);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

void call_script_set_var(struct call *c, const char *key, const char *value)
{
    if (c->vars_ref == LUA_NOREF)
        return;
    lua_State *L = worker_lua(c->w);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->vars_ref);
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
}

static int m_get(lua_State *L)
{
    struct call *c = method_call(L);
    luaL_checkstring(L, 2);
    if (!c)
        return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->vars_ref);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    lua_getiuservalue(L, 1, 1); /* fields: fall back to call.vars */
    lua_getfield(L, -1, "vars");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static const char *cause_for_code(int code)
{
    switch (code) {
    case 486: case 600: return "busy";
    case 404: case 484: case 604: return "not_found";
    case 403: return "forbidden";
    case 408: case 480: return "no_answer";
    default: return "rejected";
    }
}

static int m_hangup(lua_State *L)
{
    struct call *c = method_call(L);
    lua_Integer code = luaL_optinteger(L, 2, 0);
    if (code && (code < 300 || code > 699))
        return luaL_argerror(L, 2, "a SIP error code (300-699)");
    if (!c || c->ended)
        return 0;
    bool answered = c->state == CALL_UP || c->state == CALL_ANSWERING;
    call_end(c, (int)code, answered || !code ? "normal_clearing" : cause_for_code((int)code), "script");
    return 0;
}

static int m_on_hangup(lua_State *L)
{
    struct call *c = method_call(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    if (!c)
        return 0;
    luaL_unref(L, LUA_REGISTRYINDEX, c->on_hangup_ref);
    lua_pushvalue(L, 2);
    c->on_hangup_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int call_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1; /* a method */
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int call_newindex(lua_State *L)
{
    return luaL_error(L, "call.%s is read-only (use call:set for variables)", luaL_optstring(L, 2, "?"));
}

static int call_tostring(lua_State *L)
{
    struct call *c = method_call(L);
    lua_pushfstring(L, "call %s", c ? c->id : "(ended)");
    return 1;
}

extern const char call_methods_lua[]; /* generated from call_methods.lua */
#define AMD_GATE_KEY "vcs.campaign_amd_gate" /* the registry's copy of call_methods.lua's gate */

void call_lua_register(lua_State *L)
{
    static const luaL_Reg object_funcs[] = {
        { "set", m_set }, { "get", m_get }, { "hangup", m_hangup }, { "on_hangup", m_on_hangup },
        { NULL, NULL } };
    static const luaL_Reg *const method_files[] = {
        object_funcs, method_answer_funcs, method_play_funcs, method_sleep_funcs,
        method_dtmf_funcs, method_record_funcs, method_record_call_funcs, method_conference_funcs,
        method_dial_funcs, method_detect_machine_funcs };
    luaL_newmetatable(L, CALL_MT);
    lua_newtable(L);
    for (size_t i = 0; i < sizeof method_files / sizeof method_files[0]; i++)
        luaL_setfuncs(L, method_files[i], 0);
    if (luaL_loadbufferx(L, call_methods_lua, strlen(call_methods_lua), "=call_methods", "t") != LUA_OK) {
        log_error("call methods: %s", lua_tostring(L, -1)); /* a build defect, not user input */
        lua_pop(L, 1);
    } else {
        lua_pushvalue(L, -2);
        lua_pushcfunction(L, lua_re_match);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
            log_error("call methods: %s", lua_tostring(L, -1));
            lua_pop(L, 1);
        } else {
            lua_setfield(L, LUA_REGISTRYINDEX, AMD_GATE_KEY);
        }
    }
    lua_pushcclosure(L, call_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, call_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, call_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "call");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    static const luaL_Reg vcs_originate_funcs[] = { { "originate", originate_lua }, { NULL, NULL } };
    sandbox_extend_vcs(L, vcs_conference_funcs);
    sandbox_extend_vcs(L, vcs_originate_funcs);
}

/* ---- the coroutine -------------------------------------------------------------------------- */

static void push_route_var(lua_State *L, const struct route_var *v)
{
    switch (v->type) {
    case ROUTE_VAR_STRING: lua_pushstring(L, v->str); break;
    case ROUTE_VAR_NUMBER: lua_pushnumber(L, v->number); break;
    case ROUTE_VAR_INTEGER: lua_pushinteger(L, v->integer); break;
    case ROUTE_VAR_BOOLEAN: lua_pushboolean(L, v->boolean); break;
    }
}

/* Pushes the call object onto co and keeps references to it and to its variables. */
static void push_call_object(struct call *c, lua_State *co, const struct route *route)
{
    struct call_ud *ud = lua_newuserdatauv(co, sizeof *ud, 1);
    ud->c = c;
    luaL_setmetatable(co, CALL_MT);
    lua_createtable(co, 0, 10);
    lua_pushstring(co, c->id);
    lua_setfield(co, -2, "id");
    lua_pushstring(co, c->cdr.from_number);
    lua_setfield(co, -2, "from");
    lua_pushstring(co, c->cdr.to_number);
    lua_setfield(co, -2, "to");
    lua_pushstring(co, c->from_uri);
    lua_setfield(co, -2, "from_uri");
    lua_pushstring(co, c->to_uri);
    lua_setfield(co, -2, "to_uri");
    lua_pushstring(co, c->cdr.direction);
    lua_setfield(co, -2, "direction");
    lua_pushstring(co, c->cdr.account);
    lua_setfield(co, -2, "account");
    if (c->number) {
        const struct number_record *n = c->number;
        lua_createtable(co, 0, 6);
        lua_pushstring(co, n->number);
        lua_setfield(co, -2, "number");
        lua_pushstring(co, n->account);
        lua_setfield(co, -2, "account");
        lua_pushstring(co, n->region);
        lua_setfield(co, -2, "region");
        lua_pushstring(co, n->type);
        lua_setfield(co, -2, "type");
        lua_pushinteger(co, n->max_concurrent);
        lua_setfield(co, -2, "max_concurrent");
        lua_pushstring(co, n->script);
        lua_setfield(co, -2, "script");
        lua_setfield(co, -2, "number");
    }
    lua_createtable(co, 0, route ? (int)route->n_vars : 0);
    for (size_t i = 0; route && i < route->n_vars; i++) {
        push_route_var(co, &route->vars[i]);
        lua_setfield(co, -2, route->vars[i].key);
    }
    lua_setfield(co, -2, "vars");
    lua_setiuservalue(co, -2, 1);
    lua_pushvalue(co, -1);
    c->obj_ref = luaL_ref(co, LUA_REGISTRYINDEX);
    lua_newtable(co);
    c->vars_ref = luaL_ref(co, LUA_REGISTRYINDEX);
}

/* The handler's function is on the worker state's top: its coroutine starts at the next flush. */
static void start_coroutine(struct call *c, const struct route *route)
{
    lua_State *L = worker_lua(c->w);
    c->co = lua_newthread(L);
    c->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    *(struct call **)lua_getextraspace(c->co) = c; /* vcs functions acting for the call */
    lua_xmove(L, c->co, 1); /* the handler */
    push_call_object(c, c->co, route);
    sandbox_run_as(L, NULL, NULL);
    c->started = false;
    call_wait_ready(c);
}

/* A campaign leg whose campaign has amd on (the dialer's var campaign_amd, SPEC 9): the handler on
 * L's top is replaced by the gate that detects the machine first (call_methods.lua). */
static int gate_campaign_amd(struct call *c, const struct route *route)
{
    const char *mode = NULL;
    for (size_t i = 0; c->cdr.campaign_id && route && i < route->n_vars; i++)
        if (route->vars[i].type == ROUTE_VAR_STRING && strcmp(route->vars[i].key, "campaign_amd") == 0)
            mode = route->vars[i].str;
    if (!mode || (strcmp(mode, "hangup") != 0 && strcmp(mode, "continue") != 0))
        return LUA_OK;
    lua_State *L = worker_lua(c->w);
    if (lua_getfield(L, LUA_REGISTRYINDEX, AMD_GATE_KEY) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return LUA_OK;
    }
    lua_rotate(L, -2, 1); /* gate, handler */
    lua_pushstring(L, mode);
    return lua_pcall(L, 2, 1, 0); /* builds a closure: fails only out of the call's memory */
}

void call_script_start(struct call *c, const char *script, const struct route *route)
{
    lua_State *L = worker_lua(c->w);
    char label[96];
    sandbox_run_as(L, &c->mem, label_of(c, label, sizeof label));
    if (worker_push_handler(c->w, c->set, script) != LUA_OK || gate_campaign_amd(c, route) != LUA_OK) {
        log_error("%s: cannot load: %s", label, lua_tostring(L, -1));
        lua_pop(L, 1);
        sandbox_run_as(L, NULL, NULL);
        c->script_done = true;
        call_end(c, 500, "script_error", "system");
        return;
    }
    c->version_held = true;
    start_coroutine(c, route);
}

void call_script_screen(struct call *c, int fn_ref)
{
    lua_State *L = worker_lua(c->w);
    char label[96];
    sandbox_run_as(L, &c->mem, label_of(c, label, sizeof label));
    lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
    c->screening = true;
    c->script_done = false;
    start_coroutine(c, NULL);
}

static void drop_coroutine(struct call *c)
{
    if (!c->co)
        return;
    lua_State *L = worker_lua(c->w);
    lua_resetthread(c->co); /* closes pending to-be-closed variables, frees the stack */
    luaL_unref(L, LUA_REGISTRYINDEX, c->co_ref);
    c->co = NULL;
    c->co_ref = LUA_NOREF;
}

static bool start_cleanup(struct call *c)
{
    if (c->on_hangup_ref == LUA_NOREF)
        return false;
    lua_State *L = worker_lua(c->w);
    c->co = lua_newthread(L);
    c->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    *(struct call **)lua_getextraspace(c->co) = c;
    lua_rawgeti(c->co, LUA_REGISTRYINDEX, c->on_hangup_ref);
    lua_rawgeti(c->co, LUA_REGISTRYINDEX, c->obj_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, c->on_hangup_ref);
    c->on_hangup_ref = LUA_NOREF; /* it runs once */
    c->in_cleanup = true;
    c->started = false;
    c->wait.woken = true; /* the caller steps it at once */
    return true;
}

/* The coroutine ended: by returning (error NULL), by a hangup error, or by a script error. */
static void coroutine_ended(struct call *c, const char *error)
{
    char label[96];
    label_of(c, label, sizeof label);
    if (c->screening) { /* call:dial's on_answer: the leg stays up unless it said no */
        if (error)
            log_error("%s: on_answer failed: %s", label, error);
        drop_coroutine(c);
        c->screening = false;
        c->script_done = true;
        call_dial_screened(c, !error && !c->screen_refused && !c->ended);
        return;
    }
    if (c->in_cleanup) {
        if (error)
            log_error("%s: on_hangup failed: %s", label, error);
        drop_coroutine(c);
        c->script_done = true;
        return;
    }
    if (error) {
        log_error("%s: script error: %s", label, error);
        call_end(c, 500, "script_error", "system");
    } else {
        call_end(c, 0, "normal_clearing", "script");
    }
    drop_coroutine(c);
    if (!start_cleanup(c))
        c->script_done = true;
}

static _Thread_local struct call *running_call;

struct call *call_running(void)
{
    return running_call;
}

static void resume(struct call *c, int nargs)
{
    lua_State *L = worker_lua(c->w);
    char label[96];
    sandbox_run_as(L, &c->mem, label_of(c, label, sizeof label));
    sandbox_arm(c->co, call_svc(c)->sandbox.max_instructions);
    int nres = 0;
    c->running = true;
    struct call *outer = running_call;
    running_call = c;
    int status = lua_resume(c->co, L, nargs, &nres);
    running_call = outer;
    c->running = false;
    if (status == LUA_YIELD) {
        lua_pop(c->co, nres);
        sandbox_run_as(L, NULL, NULL);
        if (!c->wait.kind) /* coroutine.yield() straight from the handler */
            coroutine_ended(c, "coroutine.yield() in the handler: only call methods may wait");
        return;
    }
    if (status == LUA_OK || sandbox_is_hangup(c->co, -1)) {
        /* on_answer returning false refuses the leg (nil or anything else accepts it) */
        c->screen_refused = status == LUA_OK && nres > 0 && lua_isboolean(c->co, -nres) &&
                            !lua_toboolean(c->co, -nres);
        sandbox_run_as(L, NULL, NULL);
        coroutine_ended(c, NULL);
        return;
    }
    const char *msg = sandbox_error_text(c->co);
    if (status == LUA_ERRMEM)
        msg = "memory limit exceeded (not enough memory)";
    luaL_traceback(L, c->co, msg, 0);
    sandbox_run_as(L, NULL, NULL);
    char text[2048];
    snprintf(text, sizeof text, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    coroutine_ended(c, text);
}

void call_script_step(struct call *c)
{
    /* A cleanup coroutine may start right after the main one ended: loop, bounded by that. */
    for (int round = 0; round < 2; round++) {
        if (!c->co || c->running || !c->wait.woken)
            return;
        c->wait.woken = false;
        int nargs = c->started ? 0 : 1;
        c->started = true;
        resume(c, nargs);
    }
}

void call_script_free(struct call *c)
{
    lua_State *L = worker_lua(c->w);
    drop_coroutine(c);
    if (c->obj_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, c->obj_ref);
        struct call_ud *ud = lua_touserdata(L, -1);
        if (ud)
            ud->c = NULL; /* a script that kept the object sees an ended call */
        lua_pop(L, 1);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, c->obj_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, c->vars_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, c->on_hangup_ref);
    c->obj_ref = c->vars_ref = c->on_hangup_ref = LUA_NOREF;
    sandbox_account_release(L, &c->mem);
}

char *call_script_vars_json(struct call *c)
{
    if (c->vars_ref == LUA_NOREF)
        return NULL;
    lua_State *L = worker_lua(c->w);
    json_t *obj = json_object();
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->vars_ref);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *key = lua_tostring(L, -2);
            json_t *v = NULL;
            switch (lua_type(L, -1)) {
            case LUA_TSTRING: v = json_string(lua_tostring(L, -1)); break;
            case LUA_TBOOLEAN: v = json_boolean(lua_toboolean(L, -1)); break;
            case LUA_TNUMBER:
                v = lua_isinteger(L, -1) ? json_integer((json_int_t)lua_tointeger(L, -1))
                                         : json_real(lua_tonumber(L, -1));
                break;
            }
            if (!v) /* not valid UTF-8, say: keep the key, say what happened */
                v = json_string("(unrepresentable value)");
            json_object_set_new(obj, key, v);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return text;
}
