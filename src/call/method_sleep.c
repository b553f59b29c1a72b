/* call:sleep(ms) and call:echo([ms]): waits during which media keeps flowing. */
#include <stdlib.h>

#include "call/call_method.h"

static const struct wait_kind sleep_wait = { "sleep", .wake_on = WAIT_ON(WAIT_EV_TIMER) };

static int m_sleep(lua_State *L)
{
    struct call *c = method_live_call(L, "sleep");
    lua_Integer ms = luaL_checkinteger(L, 2);
    if (ms <= 0)
        return 0;
    call_wait_timer(c, ms);
    return call_wait_yield(L, c, &sleep_wait);
}

static void echo_finish(struct call *c)
{
    free(c->echo);
    c->echo = NULL;
}

static const struct wait_kind echo_wait = {
    "echo", .wake_on = WAIT_ON(WAIT_EV_TIMER), .finish = echo_finish };

/* call:echo([ms]): the caller hears themselves (for as long as ms, else until hangup). */
static int m_echo(lua_State *L)
{
    struct call *c = method_live_call(L, "echo");
    lua_Integer ms = luaL_optinteger(L, 2, 0);
    if (c->state == CALL_INCOMING)
        call_answer_now(c);
    if (!c->echo && !(c->echo = calloc(1, sizeof *c->echo)))
        return luaL_error(L, "call:echo(): out of memory");
    if (ms > 0)
        call_wait_timer(c, ms);
    return call_wait_yield(L, c, &echo_wait);
}

const luaL_Reg method_sleep_funcs[] = { { "sleep", m_sleep }, { "echo", m_echo }, { NULL, NULL } };
