/* call:play, call:say, call:say_digits, call:say_number and call:tone: what the caller hears,
 * interruptible by keys. Prompts not in the cache are loaded by the loader (or TTS) thread; the
 * request carries the wait's generation, so a prompt that arrives after its method ended (a key
 * interrupted it, the call went on to another prompt) is dropped, never played. */
#include <stdlib.h>
#include <string.h>

#include "call/call_method.h"
#include "core/log.h"
#include "media/dtmf.h"
#include "media/prompt_cache.h"
#include "media/say.h"
#include "media/tone.h"
#include "media/tts.h"

static void play_event(struct call *c, enum wait_event ev);
static const struct wait_kind play_wait = {
    "play", .wake_on = WAIT_ON(WAIT_EV_PLAYED), .on_event = play_event };

bool method_interrupt_keys(lua_State *L, struct call *c, int idx)
{
    c->wait.keys[0] = '\0';
    call_wait_set_result(c, NULL);
    if (lua_isnoneornil(L, idx))
        return false;
    luaL_checktype(L, idx, LUA_TTABLE);
    if (lua_getfield(L, idx, "digits") == LUA_TNIL) {
        lua_pop(L, 1);
        return false;
    }
    size_t len;
    const char *set = luaL_checklstring(L, -1, &len);
    if (len >= sizeof c->wait.keys)
        luaL_error(L, "digits: at most %d keys", (int)sizeof c->wait.keys - 1);
    for (size_t i = 0; i < len; i++)
        if (dtmf_digit_to_event(set[i]) < 0)
            luaL_error(L, "digits: '%c' is not a key (0-9 * # A-D)", set[i]);
    memcpy(c->wait.keys, set, len + 1);
    lua_pop(L, 1);
    for (char d; (d = dtmf_dedup_pop(&c->digits));) {
        if (strchr(c->wait.keys, d)) {
            c->wait.keys[0] = '\0';
            char key[2] = { d, '\0' };
            lua_pushstring(L, key);
            return true;
        }
    }
    return false;
}

static void play_event(struct call *c, enum wait_event ev)
{
    if (ev == WAIT_EV_DIGIT && c->wait.keys[0]) {
        for (char d; (d = dtmf_dedup_pop(&c->digits));) {
            if (strchr(c->wait.keys, d)) { /* barge-in: the prompt stops at this packet */
                char key[2] = { d, '\0' };
                call_wait_set_result(c, key);
                call_playlist_clear(c);
                call_tone_stop(c);
                call_wait_wake(c);
                return;
            }
        }
    }
}

struct prompt_request {
    struct worker *w;
    uint64_t leg_id;
    uint32_t generation;
    int slot;
};

static void prompt_arrived(void *arg, const struct prompt *p, const char *err)
{
    struct prompt_request *req = arg;
    worker_post_prompt(req->w, req->leg_id, req->generation, req->slot, p, err); /* to the call's thread */
    free(req);
}

void call_prompt_loaded(struct call *c, uint32_t generation, int slot, const struct prompt *p,
                        const char *err)
{
    if (c->ended || generation != call_wait_generation(c) ||
        !(c->play.loop || call_waiting(c, &play_wait)) || slot < 0 || slot >= c->play.n ||
        c->play.items[slot]) {
        if (p)
            prompt_unref(p); /* for a wait that is over: never played */
        return;
    }
    if (!p && c->play.loop) { /* a ringback: the caller hears silence, the dial goes on */
        log_warn("call %s: ringback: %s", c->id, err ? err : "prompt failed to load");
        call_playlist_clear(c);
        return;
    }
    if (!p) {
        call_playlist_clear(c);
        call_wait_fail(c, err ? err : "prompt failed to load");
        return;
    }
    c->play.items[slot] = p;
    if (--c->play.loading == 0)
        c->play.started = true; /* the media tick reports WAIT_EV_PLAYED after the last one */
}

static struct prompt_request *new_request(struct call *c, int slot)
{
    struct prompt_request *req = malloc(sizeof *req);
    if (req) /* filled before the loader thread can see it */
        *req = (struct prompt_request){ c->w, c->leg_id, call_wait_generation(c), slot };
    return req;
}

/* Starts what is already cached and asks the loader for the rest, for the wait that follows.
 * Returns -1, or the index of the name that cannot be loaded (the playlist is then empty; out
 * of memory, the first). */
static int start_playlist(struct call *c, const char **names, int n, bool loop)
{
    call_playlist_clear(c);
    call_tone_stop(c);
    if (!(c->play.items = calloc((size_t)n, sizeof *c->play.items)))
        return 0;
    c->play.n = n;
    c->play.loop = loop;
    struct prompt_cache *cache = call_svc(c)->prompts;
    for (int i = 0; i < n; i++)
        if (!(c->play.items[i] = prompt_cache_get(cache, names[i])))
            c->play.loading++;
    for (int i = 0; i < n && c->play.loading; i++) {
        if (c->play.items[i])
            continue;
        struct prompt_request *req = new_request(c, i);
        if (!req || prompt_cache_load(cache, names[i], prompt_arrived, req) != 0) {
            free(req);
            call_playlist_clear(c);
            return i;
        }
    }
    c->play.started = c->play.loading == 0;
    return -1;
}

int call_play_loop(struct call *c, const char *name)
{
    return start_playlist(c, &name, 1, true) < 0 ? 0 : -1;
}

static int play_names_list(lua_State *L, struct call *c, const char **names, int n)
{
    if (c->state == CALL_INCOMING)
        call_answer_now(c); /* like Playback() elsewhere: playing to a ringing call answers it */
    int bad = start_playlist(c, names, n, false);
    if (bad >= 0)
        return luaL_error(L, "call:play(): cannot load '%s' now", names[bad]);
    return call_wait_yield(L, c, &play_wait);
}

/* call:play(prompt or list [, {digits=}]) */
static int m_play(lua_State *L)
{
    struct call *c = method_live_call(L, "play");
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
    if (method_interrupt_keys(L, c, 3))
        return 1; /* a key pressed earlier already answers it */
    if (n == 0)
        return 0;
    return play_names_list(L, c, names, n);
}

#define TONE_MAX_MS (10 * 60 * 1000)

/* call:tone(name_or_spec [, ms [, {digits=}]]): rendered 20 ms at a time, never kept whole. */
static int m_tone(lua_State *L)
{
    struct call *c = method_live_call(L, "tone");
    struct tone_spec spec;
    char err[160];
    if (tone_parse(luaL_checkstring(L, 2), &spec, err, sizeof err) != 0)
        return luaL_error(L, "call:tone(): %s", err);
    lua_Integer ms = luaL_optinteger(L, 3, (lua_Integer)tone_cycle_ms(&spec));
    if (ms <= 0 || ms > TONE_MAX_MS)
        return luaL_argerror(L, 3, "duration in ms, 1 to 600000");
    if (method_interrupt_keys(L, c, 4))
        return 1;
    if (c->state == CALL_INCOMING)
        call_answer_now(c);
    call_playlist_clear(c);
    call_tone_stop(c);
    if (!(c->tone = malloc(sizeof *c->tone)))
        return luaL_error(L, "call:tone(): out of memory");
    tone_gen_init(c->tone, &spec);
    c->tone_left = (uint32_t)ms * (TONE_RATE / 1000);
    c->marker_next = true;
    return call_wait_yield(L, c, &play_wait);
}

/* call:say(text [, {voice="en"|"zh", digits=}]): text to speech on the TTS thread, cached. */
static int m_say(lua_State *L)
{
    struct call *c = method_live_call(L, "say");
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
    if (method_interrupt_keys(L, c, 3))
        return 1;
    if (c->state == CALL_INCOMING)
        call_answer_now(c);
    call_playlist_clear(c);
    call_tone_stop(c);
    struct tts *tts = call_svc(c)->tts;
    if (!(c->play.items = calloc(1, sizeof *c->play.items)))
        return luaL_error(L, "call:say(): out of memory");
    c->play.n = 1;
    c->play.items[0] = tts_get(tts, voice, text);
    if (c->play.items[0]) {
        c->play.started = true;
        return call_wait_yield(L, c, &play_wait);
    }
    struct prompt_request *req = new_request(c, 0);
    if (!req || tts_request(tts, voice, text, prompt_arrived, req, err, sizeof err) != 0) {
        free(req);
        call_playlist_clear(c);
        return luaL_error(L, "call:say(): %s", req ? err : "out of memory");
    }
    c->play.loading = 1;
    return call_wait_yield(L, c, &play_wait);
}

/* say_digits / say_number: the prompt names from say.c, played like call:play. */
static int play_said(lua_State *L, struct call *c, const char **names, int n)
{
    if (method_interrupt_keys(L, c, 3))
        return 1;
    if (n == 0)
        return 0;
    return play_names_list(L, c, names, n);
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
    struct call *c = method_live_call(L, "say_digits");
    const char *names[SAY_MAX_NAMES];
    const char *digits = luaL_checkstring(L, 2);
    int n = say_digits(digits, lang_option(L, 3), names, SAY_MAX_NAMES);
    if (n < 0)
        return luaL_error(L, "call:say_digits('%s'): %s", digits, say_strerror(n));
    return play_said(L, c, names, n);
}

static int m_say_number(lua_State *L)
{
    struct call *c = method_live_call(L, "say_number");
    const char *names[SAY_MAX_NAMES];
    lua_Integer number = luaL_checkinteger(L, 2);
    int n = say_number((long long)number, lang_option(L, 3), names, SAY_MAX_NAMES);
    if (n < 0)
        return luaL_error(L, "call:say_number(%I): %s", number, say_strerror(n));
    return play_said(L, c, names, n);
}

const luaL_Reg method_play_funcs[] = {
    { "play", m_play }, { "tone", m_tone }, { "say", m_say }, { "say_digits", m_say_digits },
    { "say_number", m_say_number }, { NULL, NULL } };
