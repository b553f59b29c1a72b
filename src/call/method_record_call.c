/* call:record_call{enabled=}, call:pause_recording(), call:resume_recording(): the script's say
 * over the whole-call recording (SPEC 5.1, 8). None of them waits. */
#include "call/call_method.h"

static int m_record_call(lua_State *L)
{
    struct call *c = method_call(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "enabled");
    luaL_argexpected(L, lua_isboolean(L, -1), 2, "{enabled = true|false}");
    bool enabled = lua_toboolean(L, -1);
    if (!c || c->ended)
        return 0;
    c->callrec_wanted = enabled;
    if (enabled)
        call_recording_start(c); /* now if answered, else at the ACK */
    else
        call_recording_stop(c);  /* what was recorded so far is kept */
    return 0;
}

static int pause_or_resume(lua_State *L, bool pause)
{
    struct call *c = method_call(L);
    if (c && !c->ended)
        call_recording_pause(c, pause);
    return 0;
}

static int m_pause_recording(lua_State *L)
{
    return pause_or_resume(L, true);
}

static int m_resume_recording(lua_State *L)
{
    return pause_or_resume(L, false);
}

const luaL_Reg method_record_call_funcs[] = {
    { "record_call", m_record_call }, { "pause_recording", m_pause_recording },
    { "resume_recording", m_resume_recording }, { NULL, NULL } };
