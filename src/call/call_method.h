/* What a file of call methods (method_*.c) may use: the call behind the object, the services,
 * answering on the way, the keys that interrupt. Each such file exports its luaL_Reg table,
 * registered by call_lua.c; a method that waits does so through call_wait.h. */
#ifndef VCS_CALL_METHOD_H
#define VCS_CALL_METHOD_H

#include <stdbool.h>

#include <lauxlib.h>
#include <lua.h>

#include "call/call.h"
#include "call/call_wait.h"
#include "call/engine.h"
#include "call/worker.h"

static inline const struct engine_services *call_svc(const struct call *c)
{
    return engine_services(worker_engine(c->w));
}

/* The call of the object at stack index 1, or NULL once the call is gone. */
struct call *method_call(lua_State *L);
/* For methods that wait: the call must be up (else the hangup error is raised) and L its own
 * coroutine (else a script error). */
struct call *method_live_call(lua_State *L, const char *method);
/* Answers a ringing call (200 with our SDP) without waiting for the ACK. */
void call_answer_now(struct call *c);
/* Sends 183 with our SDP to a ringing call (early media). */
void call_progress_now(struct call *c);
/* Reads opts.digits at idx (the keys that interrupt the coming prompt) into c->wait.keys. A key
 * pressed before (type-ahead) that is in the set answers at once: it is pushed and true returned;
 * keys outside the set are dropped, as they would be during the prompt. */
bool method_interrupt_keys(lua_State *L, struct call *c, int idx);

extern const luaL_Reg method_answer_funcs[];  /* ring, progress, answer */
extern const luaL_Reg method_play_funcs[];    /* play, say, say_digits, say_number, tone */
extern const luaL_Reg method_sleep_funcs[];   /* sleep, echo */
extern const luaL_Reg method_dtmf_funcs[];    /* get_digit, send_dtmf */
extern const luaL_Reg method_record_funcs[];  /* _record (record is Lua, call_methods.lua) */
extern const luaL_Reg method_record_call_funcs[]; /* record_call, pause_recording, resume_recording */
extern const luaL_Reg method_conference_funcs[]; /* conference, mute */
extern const luaL_Reg vcs_conference_funcs[];    /* vcs.conference_members, vcs.conference_kick */
extern const luaL_Reg method_dial_funcs[];    /* dial */
extern const luaL_Reg method_detect_machine_funcs[]; /* detect_machine */

#endif
