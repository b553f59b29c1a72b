/* call:_record(opts): records the caller into a WAV through the recorder thread (call:record in
 * call_methods.lua beeps first). Ends on a terminator key, silence after voice (the media tick's
 * VAD), max_seconds (the wait's timer) or hangup; resumes once the file is complete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call/call_method.h"
#include "media/dtmf.h"
#include "media/recorder.h"
#include "media/vad.h"

#define RECORD_MAX_SECONDS 3600

static void record_event(struct call *c, enum wait_event ev)
{
    switch (ev) {
    case WAIT_EV_TIMER:
        call_record_stop(c, "max", 0);
        break;
    case WAIT_EV_HANGUP:
        call_record_stop(c, "hangup", 0); /* returns normally: the message can be kept */
        break;
    case WAIT_EV_DIGIT:
        for (char d; c->rec && (d = dtmf_dedup_pop(&c->digits));)
            if (strchr(c->wait.keys, d))
                call_record_stop(c, "digit", 0);
        break;
    default:
        break;
    }
}

/* Also after a hangup: the message is kept and the next waiting method raises (SPEC 5.1). */
static int record_results(lua_State *L, struct call *c)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, c->rec_path);
    lua_setfield(L, -2, "path");
    lua_pushinteger(L, (lua_Integer)c->rec_duration_ms);
    lua_setfield(L, -2, "duration_ms");
    lua_pushstring(L, c->rec_reason);
    lua_setfield(L, -2, "reason");
    return 1;
}

static const struct wait_kind record_wait = {
    "record", .on_event = record_event, .results = record_results, .handles_hangup = true,
    .returns_after_hangup = true };

struct record_request {
    struct worker *w;
    uint64_t leg_id;
    uint32_t generation;
};

static void record_closed(void *arg, uint64_t duration_ms, const char *err)
{
    struct record_request *req = arg;
    worker_post_record_done(req->w, req->leg_id, req->generation, duration_ms, err); /* to the call's thread */
    free(req);
}

void call_record_stop(struct call *c, const char *reason, size_t trim_frames)
{
    if (!c->rec)
        return;
    snprintf(c->rec_reason, sizeof c->rec_reason, "%s", reason);
    c->wait.keys[0] = '\0';
    struct recording *rec = c->rec;
    c->rec = NULL; /* the writer thread owns it from here */
    struct record_request *req = malloc(sizeof *req);
    if (req)
        *req = (struct record_request){ c->w, c->leg_id, call_wait_generation(c) };
    recording_close(rec, trim_frames, req ? record_closed : NULL, req);
    if (!req)
        call_record_done(c, call_wait_generation(c), 0, "out of memory");
}

void call_record_done(struct call *c, uint32_t generation, uint64_t duration_ms, const char *err)
{
    if (generation != call_wait_generation(c) || !call_waiting(c, &record_wait))
        return;
    c->rec_duration_ms = duration_ms;
    if (err) {
        char msg[300];
        snprintf(msg, sizeof msg, "call:record(): %s", err);
        call_wait_fail(c, msg);
    } else {
        call_wait_wake(c);
    }
}

static lua_Integer opt_int_field(lua_State *L, int t, const char *k, lua_Integer dflt)
{
    lua_getfield(L, t, k);
    lua_Integer v = luaL_optinteger(L, -1, dflt);
    lua_pop(L, 1);
    return v;
}

/* A path under the recordings folder: relative, no "..", no hidden parts. */
static bool safe_relative_path(const char *p)
{
    if (!p[0] || p[0] == '/')
        return false;
    for (const char *seg = p; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
        if (seg[0] == '.' || seg[0] == '/' || seg[0] == '\0')
            return false;
    return true;
}

static int m_record(lua_State *L)
{
    struct call *c = method_live_call(L, "record");
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    else
        lua_newtable(L);
    int o = 2;
    lua_Integer max_s = opt_int_field(L, o, "max_seconds", 60);
    lua_Integer silence_s = opt_int_field(L, o, "silence_seconds", 5);
    if (max_s <= 0 || max_s > RECORD_MAX_SECONDS)
        return luaL_error(L, "call:record(): max_seconds must be 1..%d", RECORD_MAX_SECONDS);
    if (silence_s < 0 || silence_s > RECORD_MAX_SECONDS)
        return luaL_error(L, "call:record(): silence_seconds must be 0..%d", RECORD_MAX_SECONDS);
    lua_getfield(L, o, "terminators");
    const char *term = luaL_optstring(L, -1, "#");
    if (strlen(term) >= sizeof c->wait.keys)
        return luaL_error(L, "call:record(): too many terminators");
    for (const char *k = term; *k; k++)
        if (dtmf_digit_to_event(*k) < 0)
            return luaL_error(L, "call:record(): terminator '%c' is not a key (0-9 * # A-D)", *k);
    char keys[sizeof c->wait.keys];
    snprintf(keys, sizeof keys, "%s", term);
    lua_pop(L, 1);
    lua_getfield(L, o, "path");
    if (lua_isnil(L, -1))
        snprintf(c->rec_path, sizeof c->rec_path, "%s-%u.wav", c->id, ++c->rec_count);
    else if (snprintf(c->rec_path, sizeof c->rec_path, "%s", luaL_checkstring(L, -1)) >= (int)sizeof c->rec_path ||
             !safe_relative_path(c->rec_path))
        return luaL_error(L, "call:record(): path must be relative to the recordings folder, without '..' (got '%s')",
                          lua_tostring(L, -1));
    lua_pop(L, 1);
    if (c->state == CALL_INCOMING)
        call_answer_now(c);
    char abs[1024], err[256];
    snprintf(abs, sizeof abs, "%s/%s", call_svc(c)->sandbox.recordings_dir, c->rec_path);
    if (!c->rec_ring && !(c->rec_ring = calloc(1, sizeof *c->rec_ring)))
        return luaL_error(L, "call:record(): out of memory");
    c->rec_ring->head = c->rec_ring->tail = 0;
    c->rec = recording_open(call_svc(c)->recorder, abs, 1, err, sizeof err);
    if (!c->rec)
        return luaL_error(L, "call:record(): %s", err);
    memcpy(c->wait.keys, keys, sizeof keys);
    dtmf_dedup_flush(&c->digits); /* keys pressed before the recording do not end it */
    vad_init(&c->vad);
    c->rec_silence_ms = (uint64_t)silence_s * 1000u;
    c->rec_duration_ms = 0;
    c->rec_reason[0] = '\0';
    call_wait_timer(c, max_s * 1000);
    return call_wait_yield(L, c, &record_wait);
}

const luaL_Reg method_record_funcs[] = { { "_record", m_record }, { NULL, NULL } };
