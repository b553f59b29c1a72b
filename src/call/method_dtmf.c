/* call:get_digit([ms]) and call:send_dtmf(digits [, {duration=, gap=}]). */
#include "call/call_method.h"
#include "media/dtmf.h"

static void digit_event(struct call *c, enum wait_event ev)
{
    if (ev == WAIT_EV_DIGIT) {
        char key[2] = { dtmf_dedup_pop(&c->digits), '\0' };
        call_wait_set_result(c, key);
        call_wait_wake(c);
    }
}

/* The timer ends it with no key: nil. */
static const struct wait_kind digit_wait = {
    "get_digit", .wake_on = WAIT_ON(WAIT_EV_TIMER), .on_event = digit_event };

/* The next key pressed (type-ahead first), or nil after ms (default 5 s). */
static int m_get_digit(lua_State *L)
{
    struct call *c = method_live_call(L, "get_digit");
    lua_Integer ms = luaL_optinteger(L, 2, 5000);
    char d = dtmf_dedup_pop(&c->digits);
    if (d) {
        char key[2] = { d, '\0' };
        lua_pushstring(L, key);
        return 1;
    }
    if (ms <= 0)
        return 0;
    call_wait_set_result(c, NULL);
    call_wait_timer(c, ms);
    return call_wait_yield(L, c, &digit_wait);
}

static const struct wait_kind dtmf_out_wait = { "send_dtmf", .wake_on = WAIT_ON(WAIT_EV_DTMF_SENT) };

/* RFC 4733 events to the caller, paced by the media tick; returns when sent. */
static int m_send_dtmf(lua_State *L)
{
    struct call *c = method_live_call(L, "send_dtmf");
    const char *digits = luaL_checkstring(L, 2);
    lua_Integer duration = 0, gap = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "duration");
        duration = luaL_optinteger(L, -1, 0);
        lua_getfield(L, 3, "gap");
        gap = luaL_optinteger(L, -1, 0);
        lua_pop(L, 2);
    }
    if (!c->have_remote || c->remote.dtmf_pt < 0)
        return luaL_error(L, "call:send_dtmf(): the caller did not offer telephone-event (RFC 4733)");
    if (c->state == CALL_INCOMING)
        return luaL_error(L, "call:send_dtmf(): answer the call or start early media first");
    if (dtmf_rtp_tx_start(&c->dtmf_tx, digits, (unsigned)(duration > 0 ? duration : 0),
                          (unsigned)(gap > 0 ? gap : 0)) != 0)
        return luaL_error(L, "call:send_dtmf(): invalid digits '%s' or durations (0-9 * # A-D, "
                             "at most %d keys, %d-%d ms)", digits, DTMF_TX_MAX_DIGITS,
                          DTMF_TX_MIN_DURATION_MS, DTMF_TX_MAX_DURATION_MS);
    return call_wait_yield(L, c, &dtmf_out_wait);
}

const luaL_Reg method_dtmf_funcs[] = {
    { "get_digit", m_get_digit }, { "send_dtmf", m_send_dtmf }, { NULL, NULL } };
