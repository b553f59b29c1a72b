/* call:conference(room, opts), call:mute(flag), vcs.conference_members(room) and
 * vcs.conference_kick(room, call_id) (SPEC 5.5). The rooms and their mixing are
 * conference/room.h's; this file ties a call to one: its received audio goes through a jitter
 * buffer into the room on each media tick, the room's mix is what it sends (and so what the
 * whole-call recording's right channel holds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/call_lua.h"
#include "call/call_method.h"
#include "conference/room.h"
#include "core/clock.h"
#include "core/log.h"
#include "media/g711.h"
#include "media/dtmf.h"
#include "media/jitter.h"
#include "sip/sdp.h"

/* A key of opts.digits ends the wait but not the membership: the script may call:mute and
 * call:conference again meanwhile (the member is mixed all along). */
static void conference_event(struct call *c, enum wait_event ev)
{
    if (ev != WAIT_EV_DIGIT)
        return;
    char d = dtmf_dedup_pop(&c->digits);
    if (d && c->wait.keys[0] && strchr(c->wait.keys, d)) {
        char key[2] = { d, '\0' };
        call_wait_set_result(c, key);
        c->conf_stay = true;
        call_wait_wake(c);
    }
}

static void conference_finish(struct call *c)
{
    if (!c->conf_stay || c->ended)
        call_conference_leave(c);
    c->conf_stay = false;
}

/* Leaving because of a hangup raises; kicked, closed by a moderator or a key returns. */
static const struct wait_kind conference_wait = {
    "conference", .on_event = conference_event, .finish = conference_finish };

void call_conference_leave(struct call *c)
{
    if (!c->conf)
        return;
    c->conf_stay = false;
    conf_leave(c->conf);
    c->conf = NULL;
    jitter_free(c->conf_jb);
    c->conf_jb = NULL;
    log_info("call %s: left conference '%s'", c->id, c->conf_room);
}

void call_conference_frame(struct call *c, uint8_t frame[FRAME_SAMPLES])
{
    uint8_t got[JITTER_FRAME];
    int16_t said[FRAME_SAMPLES], heard[FRAME_SAMPLES];
    bool voiced = jitter_get(c->conf_jb, got) == JITTER_FRAME;
    if (voiced)
        call_decode(c, said, got, FRAME_SAMPLES);
    conf_member_exchange(c->conf, voiced ? said : NULL, heard);
    if (c->have_remote && c->remote.codec_pt == SDP_PT_PCMA)
        g711_alaw_encode(frame, heard, FRAME_SAMPLES);
    else
        g711_ulaw_encode(frame, heard, FRAME_SAMPLES);
    enum conf_state st = conf_member_state(c->conf);
    if (st != CONF_IN && call_waiting(c, &conference_wait)) {
        call_wait_set_result(c, st == CONF_KICKED ? "kicked" : "ended");
        call_wait_wake(c);
    }
}

static bool opt_bool(lua_State *L, int idx, const char *key, bool dflt)
{
    if (!lua_istable(L, idx))
        return dflt;
    int t = lua_getfield(L, idx, key);
    bool v = dflt;
    if (t == LUA_TBOOLEAN)
        v = lua_toboolean(L, -1);
    else if (t != LUA_TNIL)
        luaL_error(L, "call:conference(): option %s must be a boolean", key);
    lua_pop(L, 1);
    return v;
}

/* A room name: 1 to CONF_NAME_MAX - 1 printable characters. */
static const char *check_room(lua_State *L, int idx, const char *fn)
{
    size_t len;
    const char *room = luaL_checklstring(L, idx, &len);
    bool ok = len > 0 && len < CONF_NAME_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)room[i] > ' ' && room[i] != 0x7f;
    if (!ok)
        luaL_error(L, "%s: room name must be 1 to %d printable characters without spaces", fn,
                   CONF_NAME_MAX - 1);
    return room;
}

/* Back in the room a key made the script leave for a moment: the options of the join stay,
 * muted excepted. */
static int conference_again(lua_State *L, struct call *c)
{
    enum conf_state st = conf_member_state(c->conf);
    if (st != CONF_IN) {
        call_conference_leave(c);
        lua_pushstring(L, st == CONF_KICKED ? "kicked" : "ended");
        return 1;
    }
    conf_member_mute(c->conf, c->conf_muted);
    if (method_interrupt_keys(L, c, 3))
        return 1;
    return call_wait_yield(L, c, &conference_wait);
}

/* Joins the room (answering a ringing call first) until the member leaves: returns "kicked"
 * (vcs.conference_kick), "ended" (a moderator with end_on_exit left) or "full" (max_members
 * reached, not joined); a hangup raises the hangup error. A key of opts.digits returns that
 * key with the member still in the room: calling it again for the same room goes on. */
static int m_conference(lua_State *L)
{
    struct call *c = method_live_call(L, "conference");
    const char *room = check_room(L, 2, "call:conference()");
    if (c->conf && strcmp(c->conf_room, room) != 0)
        call_conference_leave(c); /* another room: out of the one a key left open */
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer max_members = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "max_members");
        max_members = luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
        if (max_members < 0 || max_members > 100000)
            return luaL_error(L, "call:conference(): max_members must be 0 (no limit) to 100000");
        if (lua_getfield(L, 3, "muted") != LUA_TNIL)
            c->conf_muted = opt_bool(L, 3, "muted", false);
        lua_pop(L, 1);
    }
    struct conf_join_opts o = {
        .account = c->cdr.account, .room = room, .call_id = c->id, .from = c->cdr.from_number,
        .muted = c->conf_muted, .moderator = opt_bool(L, 3, "moderator", false),
        .end_on_exit = opt_bool(L, 3, "end_on_exit", false), .beep = opt_bool(L, 3, "beep", true),
        .max_members = (int)max_members };
    if (c->conf)
        return conference_again(L, c);
    if (c->state == CALL_INCOMING)
        call_answer_now(c);
    if (!(c->conf_jb = jitter_new()))
        return luaL_error(L, "call:conference(): out of memory");
    enum conf_join_result res;
    int home = -1, members = 0;
    c->conf = conf_join(worker_conf(c->w), &o, &res, &home, &members);
    if (!c->conf) {
        jitter_free(c->conf_jb);
        c->conf_jb = NULL;
        if (res == CONF_FULL) {
            log_info("call %s: conference '%s' is full", c->id, room);
            lua_pushliteral(L, "full");
            return 1;
        }
        return luaL_error(L, "call:conference(): out of memory");
    }
    snprintf(c->conf_room, sizeof c->conf_room, "%s", room);
    log_info("call %s: joined conference '%s' of account %s on worker %d (mixed on worker %d, "
             "%d members)", c->id, room, c->cdr.account, worker_index(c->w), home, members);
    if (method_interrupt_keys(L, c, 3))
        return 1; /* a key typed ahead: in the room, back to the script at once */
    return call_wait_yield(L, c, &conference_wait);
}

/* call:mute(flag): in a room, the others stop (or start again) hearing this member at the
 * next tick; before joining, it is how the next call:conference starts (as opts.muted). */
static int m_mute(lua_State *L)
{
    struct call *c = method_call(L);
    luaL_checktype(L, 2, LUA_TBOOLEAN);
    if (!c || c->ended)
        return 0;
    c->conf_muted = lua_toboolean(L, 2);
    if (c->conf)
        conf_member_mute(c->conf, c->conf_muted);
    return 0;
}

const luaL_Reg method_conference_funcs[] = {
    { "conference", m_conference }, { "mute", m_mute }, { NULL, NULL } };

/* ---- vcs.conference_* -------------------------------------------------------------------------- */

/* The account whose rooms the running script may see: its call's. */
static const char *running_account(lua_State *L, const char *fn)
{
    const struct call *c = call_running();
    if (!c)
        luaL_error(L, "%s: only a call's script may use conferences", fn);
    return c->cdr.account;
}

/* vcs.conference_members(room) -> { {call_id=, from=, muted=, moderator=, joined_ms=}, ... } */
static int v_conference_members(lua_State *L)
{
    const char *room = check_room(L, 1, "vcs.conference_members()");
    const char *account = running_account(L, "vcs.conference_members()");
    int n;
    struct conf_member_info *list = conf_list(account, room, &n);
    if (n < 0)
        return luaL_error(L, "vcs.conference_members(): out of memory");
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 5);
        lua_pushstring(L, list[i].call_id);
        lua_setfield(L, -2, "call_id");
        lua_pushstring(L, list[i].from);
        lua_setfield(L, -2, "from");
        lua_pushboolean(L, list[i].muted);
        lua_setfield(L, -2, "muted");
        lua_pushboolean(L, list[i].moderator);
        lua_setfield(L, -2, "moderator");
        lua_pushinteger(L, list[i].joined_ms);
        lua_setfield(L, -2, "joined_ms");
        lua_rawseti(L, -2, i + 1);
    }
    free(list);
    return 1;
}

/* vcs.conference_kick(room, call_id) -> true, or false when that call is not in the room. */
static int v_conference_kick(lua_State *L)
{
    const char *room = check_room(L, 1, "vcs.conference_kick()");
    const char *id = luaL_checkstring(L, 2);
    const char *account = running_account(L, "vcs.conference_kick()");
    lua_pushboolean(L, conf_kick(account, room, id) == 0);
    return 1;
}

const luaL_Reg vcs_conference_funcs[] = {
    { "conference_members", v_conference_members }, { "conference_kick", v_conference_kick },
    { NULL, NULL } };
