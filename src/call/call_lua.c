/* The call object, its methods, and the handler's coroutine. See call_lua.h. */
#include "call/call_lua.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <lauxlib.h>

#include "call/call.h"
#include "call/engine.h"
#include "call/worker.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "media/dtmf.h"
#include "media/prompt_cache.h"
#include "media/recorder.h"
#include "media/say.h"
#include "media/tone.h"
#include "media/tts.h"
#include "script/routes.h"
#include "script/sandbox.h"
#include "sip/sip_stack.h"

#define CALL_MT "vcs.call"

struct call_ud {
    struct call *c; /* NULL once the call is gone */
};

static const struct engine_services *svc_of(const struct call *c)
{
    return engine_services(worker_engine(c->w));
}

static const char *label_of(const struct call *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "call %.40s %.48s", c->id, c->cdr.script);
    return buf;
}

static int raise_hangup(lua_State *L, const struct call *c)
{
    sandbox_push_hangup(L, c && c->cdr.hangup_cause[0] ? c->cdr.hangup_cause : "normal_clearing");
    return lua_error(L);
}

static struct call *check_call(lua_State *L)
{
    struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);
    return ud->c;
}

/* For methods that wait: the call must be up and this must be its own coroutine. */
static struct call *live_call(lua_State *L, const char *method)
{
    struct call *c = check_call(L);
    if (!c || c->ended)
        raise_hangup(L, c);
    if (L != c->co)
        luaL_error(L, "call:%s() must run in the call's own coroutine, not in a coroutine it created", method);
    return c;
}

/* ---- waiting ------------------------------------------------------------------------------ */

static int wait_done(lua_State *L, int status, lua_KContext ctx)
{
    struct call *c = (struct call *)ctx;
    c->wait = WAIT_NONE;
    if (c->wake_error) {
        c->wake_error = false;
        return luaL_error(L, "%s", c->wake_msg);
    }
    if (c->ended)
        return raise_hangup(L, c);
    if (!c->result[0])
        return 0;
    lua_pushstring(L, c->result);
    c->result[0] = '\0';
    return 1;
}

static int wait_for(lua_State *L, struct call *c, enum call_wait what)
{
    c->wait = what;
    return lua_yieldk(L, 0, (lua_KContext)c, wait_done);
}

void call_wake(struct call *c, bool error, const char *msg)
{
    if (error) {
        c->wake_error = true;
        if (msg != c->wake_msg)
            snprintf(c->wake_msg, sizeof c->wake_msg, "%s", msg ? msg : "error");
    }
    c->wake_pending = true;
    worker_attend(c->w, c);
}

void call_script_wake(struct call *c)
{
    worker_attend(c->w, c);
}

/* ---- SIP answers from the script ------------------------------------------------------------ */

static bool send_sdp_response(struct call *c, int status)
{
    char sdp[1024];
    if (call_sdp(c, sdp, sizeof sdp) < 0)
        return false;
    sip_respond(svc_of(c)->sip, c->leg_id, status, sdp, NULL);
    call_media_start(c);
    return true;
}

static void send_answer(struct call *c)
{
    if (c->state == CALL_UP || c->state == CALL_ANSWERING)
        return;
    if (send_sdp_response(c, 200)) {
        c->state = CALL_ANSWERING;
        c->cdr.answer_ms = clock_wall_ms();
        c->cdr.sip_code = 200;
        store_cdr_update(svc_of(c)->store, &c->cdr);
    }
}

static int m_ring(lua_State *L)
{
    struct call *c = check_call(L);
    if (!c || c->ended)
        return raise_hangup(L, c);
    if (c->state == CALL_INCOMING)
        sip_respond(svc_of(c)->sip, c->leg_id, 180, NULL, NULL);
    return 0;
}

static int m_progress(lua_State *L)
{
    struct call *c = check_call(L);
    if (!c || c->ended)
        return raise_hangup(L, c);
    if (c->state == CALL_INCOMING && send_sdp_response(c, 183))
        c->state = CALL_EARLY;
    return 0;
}

static int m_answer(lua_State *L)
{
    struct call *c = live_call(L, "answer");
    if (c->state == CALL_UP)
        return 0;
    send_answer(c);
    return wait_for(L, c, WAIT_ACK);
}

/* ---- media methods ------------------------------------------------------------------------ */

struct prompt_request {
    struct worker *w;
    uint64_t leg_id;
    int slot;
};

static void prompt_arrived(void *arg, const struct prompt *p, const char *err)
{
    struct prompt_request *req = arg;
    worker_post_prompt(req->w, req->leg_id, req->slot, p, err); /* to the call's own thread */
    free(req);
}

void call_prompt_loaded(struct call *c, int slot, const struct prompt *p, const char *err)
{
    if (c->ended || c->wait != WAIT_PROMPTS || slot < 0 || slot >= c->play.n || c->play.items[slot]) {
        if (p)
            prompt_unref(p);
        return;
    }
    c->play.items[slot] = p;
    if (!p && !c->wake_error) {
        c->wake_error = true; /* the first failure is the one reported */
        snprintf(c->wake_msg, sizeof c->wake_msg, "%s", err ? err : "prompt failed to load");
    }
    if (--c->pending_prompts > 0)
        return;
    if (c->wake_error) {
        call_playlist_clear(c);
        call_wake(c, true, c->wake_msg);
    } else {
        c->play.started = true;
        c->wait = WAIT_PLAY; /* the media tick wakes the script when the last prompt ends */
    }
}

/* Reads opts.digits (the keys that interrupt) from the options table at idx. A key pressed
 * before (type-ahead) that is in the set ends the wait before it starts: it is pushed and true
 * returned. Keys outside the set are dropped, as they would be during the prompt. */
static bool set_interrupt_digits(lua_State *L, struct call *c, int idx)
{
    c->digit_set[0] = '\0';
    c->result[0] = '\0';
    if (lua_isnoneornil(L, idx))
        return false;
    luaL_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "digits") == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    size_t len;
    const char *set = luaL_checklstring(L, -1, &len);
    if (len >= sizeof c->digit_set)
        luaL_error(L, "digits: at most %d keys", (int)sizeof c->digit_set - 1);
    for (size_t i = 0; i < len; i++)
        if (dtmf_digit_to_event(set[i]) < 0)
            luaL_error(L, "digits: '%c' is not a key (0-9 * # A-D)", set[i]);
    memcpy(c->digit_set, set, len + 1);
    lua_pop(L, 1);
    for (char d; (d = dtmf_dedup_pop(&c->digits));) {
        if (strchr(c->digit_set, d)) {
            c->digit_set[0] = '\0';
            char key[2] = { d, '\0' };
            lua_pushstring(L, key);
            return true;
        }
    }
    return false;
}

void call_digit_arrived(struct call *c)
{
    if (c->wait == WAIT_RECORD && c->rec) {
        for (char d; (d = dtmf_dedup_pop(&c->digits));) {
            if (strchr(c->digit_set, d)) {
                call_record_stop(c, "digit", 0);
                return;
            }
        }
    } else if (c->wait == WAIT_DIGIT) {
        c->result[0] = dtmf_dedup_pop(&c->digits);
        c->result[1] = '\0';
        evtimer_del(c->timer);
        call_wake(c, false, NULL);
    } else if ((c->wait == WAIT_PLAY || c->wait == WAIT_PROMPTS) && c->digit_set[0]) {
        for (char d; (d = dtmf_dedup_pop(&c->digits));) {
            if (strchr(c->digit_set, d)) { /* barge-in: the prompt stops at this packet */
                c->result[0] = d;
                c->result[1] = '\0';
                c->digit_set[0] = '\0';
                call_playlist_clear(c);
                call_tone_stop(c);
                call_wake(c, false, NULL);
                return;
            }
        }
    }
}

static int m_play(lua_State *L)
{
    struct call *c = live_call(L, "play");
    int n = 0;
    const char *names[PLAYLIST_MAX];
    if (lua_type(L, 2) == LUA_TSTRING) {
        names[n++] = lua_tostring(L, 2);
    } else if (lua_istable(L, 2)) {
        lua_Integer len = luaL_len(L, 2);
        if (len > PLAYLIST_MAX)
            return luaL_error(L, "call:play(): at most %d prompts at once", PLAYLIST_MAX);
        for (lua_Integer i = 1; i <= len; i++) {
            lua_geti(L, 2, i);
            if (lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "call:play(): prompt %d is not a string", (int)i);
            names[n++] = lua_tostring(L, -1); /* the table keeps the string alive */
            lua_pop(L, 1);
        }
    } else {
        return luaL_typeerror(L, 2, "prompt name or list of names");
    }
    if (set_interrupt_digits(L, c, 3))
        return 1; /* a key pressed earlier already answers it */
    if (n == 0)
        return 0;
    if (c->state == CALL_INCOMING)
        send_answer(c); /* like Playback() elsewhere: playing to a ringing call answers it */
    call_playlist_clear(c);
    c->play.n = n;
    c->pending_prompts = 0;
    struct prompt_cache *cache = svc_of(c)->prompts;
    for (int i = 0; i < n; i++) {
        c->play.items[i] = prompt_cache_get(cache, names[i]);
        if (!c->play.items[i])
            c->pending_prompts++;
    }
    if (c->pending_prompts == 0) {
        c->play.started = true;
        return wait_for(L, c, WAIT_PLAY);
    }
    for (int i = 0; i < n; i++) {
        if (c->play.items[i])
            continue;
        struct prompt_request *req = malloc(sizeof *req);
        if (req) /* filled before the loader thread can see it */
            *req = (struct prompt_request){ c->w, c->leg_id, i };
        if (!req || prompt_cache_load(cache, names[i], prompt_arrived, req) != 0) {
            free(req);
            call_playlist_clear(c);
            return luaL_error(L, "call:play(): cannot load '%s' now", names[i]);
        }
    }
    return wait_for(L, c, WAIT_PROMPTS);
}

static void arm_timer(struct call *c, lua_Integer ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    evtimer_add(c->timer, &tv);
}

static int m_sleep(lua_State *L)
{
    struct call *c = live_call(L, "sleep");
    lua_Integer ms = luaL_checkinteger(L, 2);
    if (ms <= 0)
        return 0;
    arm_timer(c, ms);
    return wait_for(L, c, WAIT_SLEEP);
}

static int echo_done(lua_State *L, int status, lua_KContext ctx)
{
    struct call *c = (struct call *)ctx;
    free(c->echo);
    c->echo = NULL;
    evtimer_del(c->timer);
    return wait_done(L, status, ctx);
}

/* call:echo([ms]): the caller hears themselves (for as long as ms, else until hangup). */
static int m_echo(lua_State *L)
{
    struct call *c = live_call(L, "echo");
    lua_Integer ms = luaL_optinteger(L, 2, 0);
    if (c->state == CALL_INCOMING)
        send_answer(c);
    if (!c->echo && !(c->echo = calloc(1, sizeof *c->echo)))
        return luaL_error(L, "call:echo(): out of memory");
    if (ms > 0)
        arm_timer(c, ms);
    c->wait = WAIT_ECHO;
    return lua_yieldk(L, 0, (lua_KContext)c, echo_done);
}

/* call:get_digit([ms]): the next key pressed (type-ahead first), or nil after ms (default 5 s). */
static int m_get_digit(lua_State *L)
{
    struct call *c = live_call(L, "get_digit");
    lua_Integer ms = luaL_optinteger(L, 2, 5000);
    char d = dtmf_dedup_pop(&c->digits);
    if (d) {
        char key[2] = { d, '\0' };
        lua_pushstring(L, key);
        return 1;
    }
    if (ms <= 0)
        return 0;
    c->result[0] = '\0';
    arm_timer(c, ms);
    return wait_for(L, c, WAIT_DIGIT);
}

/* call:send_dtmf(digits [, {duration=, gap=}]) as RFC 4733 events; returns when sent. */
static int m_send_dtmf(lua_State *L)
{
    struct call *c = live_call(L, "send_dtmf");
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
    return wait_for(L, c, WAIT_DTMF_OUT);
}

#define TONE_MAX_MS (10 * 60 * 1000)

/* call:tone(name_or_spec [, ms [, {digits=}]]): rendered 20 ms at a time, never kept whole. */
static int m_tone(lua_State *L)
{
    struct call *c = live_call(L, "tone");
    struct tone_spec spec;
    char err[160];
    if (tone_parse(luaL_checkstring(L, 2), &spec, err, sizeof err) != 0)
        return luaL_error(L, "call:tone(): %s", err);
    lua_Integer ms = luaL_optinteger(L, 3, (lua_Integer)tone_cycle_ms(&spec));
    if (ms <= 0 || ms > TONE_MAX_MS)
        return luaL_argerror(L, 3, "duration in ms, 1 to 600000");
    if (set_interrupt_digits(L, c, 4))
        return 1;
    if (c->state == CALL_INCOMING)
        send_answer(c);
    call_playlist_clear(c);
    call_tone_stop(c);
    if (!(c->tone = malloc(sizeof *c->tone)))
        return luaL_error(L, "call:tone(): out of memory");
    tone_gen_init(c->tone, &spec);
    c->tone_left = (uint32_t)ms * (TONE_RATE / 1000);
    c->marker_next = true;
    return wait_for(L, c, WAIT_PLAY);
}

/* call:say(text [, {voice="en"|"zh", digits=}]): text to speech on the TTS thread, cached. */
static int m_say(lua_State *L)
{
    struct call *c = live_call(L, "say");
    const char *text = luaL_checkstring(L, 2);
    const char *voice = "en";
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "voice");
        voice = luaL_optstring(L, -1, "en");
        lua_pop(L, 1); /* the options table keeps the string alive */
    }
    char err[200];
    if (tts_check(voice, text, err, sizeof err) != 0)
        return luaL_error(L, "call:say(): %s", err);
    if (set_interrupt_digits(L, c, 3))
        return 1;
    if (c->state == CALL_INCOMING)
        send_answer(c);
    call_playlist_clear(c);
    call_tone_stop(c);
    struct tts *tts = svc_of(c)->tts;
    c->play.n = 1;
    c->play.items[0] = tts_get(tts, voice, text);
    if (c->play.items[0]) {
        c->play.started = true;
        return wait_for(L, c, WAIT_PLAY);
    }
    struct prompt_request *req = malloc(sizeof *req);
    if (req) /* filled before the TTS thread can see it */
        *req = (struct prompt_request){ c->w, c->leg_id, 0 };
    if (!req || tts_request(tts, voice, text, prompt_arrived, req, err, sizeof err) != 0) {
        free(req);
        call_playlist_clear(c);
        return luaL_error(L, "call:say(): %s", req ? err : "out of memory");
    }
    c->pending_prompts = 1;
    return wait_for(L, c, WAIT_PROMPTS);
}

/* say_digits / say_number: the prompt names from say.c, played like call:play. */
static int play_names(lua_State *L, const char **names, int n)
{
    lua_settop(L, 3);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_replace(L, 2);
    return m_play(L);
}

static const char *lang_option(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return "en";
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "lang");
    const char *lang = luaL_optstring(L, -1, "en");
    lua_pop(L, 1); /* the options table keeps the string alive */
    return lang;
}

static int m_say_digits(lua_State *L)
{
    live_call(L, "say_digits");
    const char *names[SAY_MAX_NAMES];
    const char *digits = luaL_checkstring(L, 2);
    int n = say_digits(digits, lang_option(L, 3), names, SAY_MAX_NAMES);
    if (n < 0)
        return luaL_error(L, "call:say_digits('%s'): %s", digits, say_strerror(n));
    return play_names(L, names, n);
}

static int m_say_number(lua_State *L)
{
    live_call(L, "say_number");
    const char *names[SAY_MAX_NAMES];
    lua_Integer number = luaL_checkinteger(L, 2);
    int n = say_number((long long)number, lang_option(L, 3), names, SAY_MAX_NAMES);
    if (n < 0)
        return luaL_error(L, "call:say_number(%I): %s", number, say_strerror(n));
    return play_names(L, names, n);
}

/* ---- call:record ---------------------------------------------------------------------------- */

#define RECORD_MAX_SECONDS 3600

struct record_request {
    struct worker *w;
    uint64_t leg_id;
};

static void record_closed(void *arg, uint64_t duration_ms, const char *err)
{
    struct record_request *req = arg;
    worker_post_record_done(req->w, req->leg_id, duration_ms, err); /* to the call's thread */
    free(req);
}

void call_record_stop(struct call *c, const char *reason, size_t trim_frames)
{
    if (!c->rec)
        return;
    snprintf(c->rec_reason, sizeof c->rec_reason, "%s", reason);
    c->digit_set[0] = '\0';
    if (c->timer && !c->ended)
        evtimer_del(c->timer);
    struct recording *rec = c->rec;
    c->rec = NULL; /* the writer thread owns it from here */
    struct record_request *req = malloc(sizeof *req);
    if (req)
        *req = (struct record_request){ c->w, c->leg_id };
    recording_close(rec, trim_frames, req ? record_closed : NULL, req);
    if (!req)
        call_record_done(c, 0, "out of memory");
}

void call_record_done(struct call *c, uint64_t duration_ms, const char *err)
{
    if (c->wait != WAIT_RECORD)
        return;
    c->rec_duration_ms = duration_ms;
    if (err) {
        char msg[300];
        snprintf(msg, sizeof msg, "call:record(): %s", err);
        call_wake(c, true, msg);
    } else {
        call_wake(c, false, NULL);
    }
}

static int record_done_k(lua_State *L, int status, lua_KContext ctx)
{
    struct call *c = (struct call *)ctx;
    c->wait = WAIT_NONE;
    if (c->wake_error) {
        c->wake_error = false;
        return luaL_error(L, "%s", c->wake_msg);
    }
    /* Also after a hangup: the message is kept and the next waiting method raises (SPEC 5.1). */
    lua_createtable(L, 0, 3);
    lua_pushstring(L, c->rec_path);
    lua_setfield(L, -2, "path");
    lua_pushinteger(L, (lua_Integer)c->rec_duration_ms);
    lua_setfield(L, -2, "duration_ms");
    lua_pushstring(L, c->rec_reason);
    lua_setfield(L, -2, "reason");
    return 1;
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

/* call:_record(opts): the recording itself; call:record (call_methods.lua) beeps first. */
static int m_record(lua_State *L)
{
    struct call *c = live_call(L, "record");
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
    if (strlen(term) >= sizeof c->digit_set)
        return luaL_error(L, "call:record(): too many terminators");
    snprintf(c->digit_set, sizeof c->digit_set, "%s", term);
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
        send_answer(c);
    char abs[1024], err[256];
    snprintf(abs, sizeof abs, "%s/%s", svc_of(c)->sandbox.recordings_dir, c->rec_path);
    if (!c->rec_ring && !(c->rec_ring = calloc(1, sizeof *c->rec_ring)))
        return luaL_error(L, "call:record(): out of memory");
    c->rec_ring->head = c->rec_ring->tail = 0;
    c->rec = recording_open(svc_of(c)->recorder, abs, 1, err, sizeof err);
    if (!c->rec)
        return luaL_error(L, "call:record(): %s", err);
    dtmf_dedup_flush(&c->digits); /* keys pressed before the recording do not end it */
    vad_init(&c->vad);
    c->rec_silence_ms = (uint64_t)silence_s * 1000u;
    c->rec_duration_ms = 0;
    c->rec_reason[0] = '\0';
    arm_timer(c, max_s * 1000);
    c->wait = WAIT_RECORD;
    return lua_yieldk(L, 0, (lua_KContext)c, record_done_k);
}

/* ---- variables and control ------------------------------------------------------------------ */

static int m_set(lua_State *L)
{
    struct call *c = check_call(L);
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

static int m_get(lua_State *L)
{
    struct call *c = check_call(L);
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
    struct call *c = check_call(L);
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
    struct call *c = check_call(L);
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
    struct call *c = check_call(L);
    lua_pushfstring(L, "call %s", c ? c->id : "(ended)");
    return 1;
}

extern const char call_methods_lua[]; /* generated from call_methods.lua */

#define RE_MATCH_LIMIT 1000000 /* backtracking steps: a pattern cannot stall the worker */

/* re_match(pattern, subject): PCRE2, anchored by the pattern itself; errors name the problem. */
static int re_match(lua_State *L)
{
    size_t plen, slen;
    const char *pattern = luaL_checklstring(L, 1, &plen);
    const char *subject = luaL_checklstring(L, 2, &slen);
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, plen, 0, &errcode, &erroff, NULL);
    if (!re) {
        char msg[120];
        pcre2_get_error_message(errcode, (PCRE2_UCHAR *)msg, sizeof msg);
        lua_pushfstring(L, "valid: %s at offset %d", msg, (int)erroff); /* the caller adds where */
        return lua_error(L);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int rc = -1;
    if (md && mc) {
        pcre2_set_match_limit(mc, RE_MATCH_LIMIT);
        rc = pcre2_match(re, (PCRE2_SPTR)subject, slen, 0, 0, md, mc);
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    lua_pushboolean(L, rc >= 0);
    return 1;
}

void call_lua_register(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "ring", m_ring }, { "progress", m_progress }, { "answer", m_answer },
        { "play", m_play }, { "sleep", m_sleep }, { "echo", m_echo },
        { "get_digit", m_get_digit }, { "send_dtmf", m_send_dtmf }, { "tone", m_tone },
        { "say_digits", m_say_digits }, { "say_number", m_say_number }, { "_record", m_record },
        { "say", m_say },
        { "set", m_set }, { "get", m_get }, { "hangup", m_hangup },
        { "on_hangup", m_on_hangup }, { NULL, NULL } };
    luaL_newmetatable(L, CALL_MT);
    luaL_newlib(L, methods);
    if (luaL_loadbufferx(L, call_methods_lua, strlen(call_methods_lua), "=call_methods", "t") != LUA_OK) {
        log_error("call methods: %s", lua_tostring(L, -1)); /* a build defect, not user input */
        lua_pop(L, 1);
    } else {
        lua_pushvalue(L, -2);
        lua_pushcfunction(L, re_match);
        if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
            log_error("call methods: %s", lua_tostring(L, -1));
            lua_pop(L, 1);
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

void call_script_start(struct call *c, const char *script, const struct route *route)
{
    lua_State *L = worker_lua(c->w);
    char label[96];
    sandbox_run_as(L, &c->mem, label_of(c, label, sizeof label));
    if (worker_push_handler(c->w, c->set, script) != LUA_OK) {
        log_error("%s: cannot load: %s", label, lua_tostring(L, -1));
        lua_pop(L, 1);
        sandbox_run_as(L, NULL, NULL);
        c->script_done = true;
        call_end(c, 500, "script_error", "system");
        return;
    }
    c->version_held = true;
    c->co = lua_newthread(L);
    c->co_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_xmove(L, c->co, 1); /* the handler */
    push_call_object(c, c->co, route);
    sandbox_run_as(L, NULL, NULL);
    c->started = false;
    c->wake_pending = true;
    worker_attend(c->w, c);
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
    lua_rawgeti(c->co, LUA_REGISTRYINDEX, c->on_hangup_ref);
    lua_rawgeti(c->co, LUA_REGISTRYINDEX, c->obj_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, c->on_hangup_ref);
    c->on_hangup_ref = LUA_NOREF; /* it runs once */
    c->in_cleanup = true;
    c->started = false;
    c->wake_pending = true;
    return true;
}

/* The coroutine ended: by returning (error NULL), by a hangup error, or by a script error. */
static void coroutine_ended(struct call *c, const char *error)
{
    char label[96];
    label_of(c, label, sizeof label);
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

static void resume(struct call *c, int nargs)
{
    lua_State *L = worker_lua(c->w);
    char label[96];
    sandbox_run_as(L, &c->mem, label_of(c, label, sizeof label));
    sandbox_arm(c->co, svc_of(c)->sandbox.max_instructions);
    int nres = 0;
    c->running = true;
    int status = lua_resume(c->co, L, nargs, &nres);
    c->running = false;
    if (status == LUA_YIELD) {
        lua_pop(c->co, nres);
        sandbox_run_as(L, NULL, NULL);
        if (c->wait == WAIT_NONE) /* coroutine.yield() straight from the handler */
            coroutine_ended(c, "coroutine.yield() in the handler: only call methods may wait");
        return;
    }
    if (status == LUA_OK || sandbox_is_hangup(c->co, -1)) {
        sandbox_run_as(L, NULL, NULL);
        coroutine_ended(c, NULL);
        return;
    }
    const char *msg = luaL_tolstring(c->co, -1, NULL);
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
        if (!c->co || c->running || !c->wake_pending)
            return;
        c->wake_pending = false;
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
