/* call:detect_machine{timeout=, initial_silence=, greeting=, after_greeting_silence=,
 * min_word_length=, between_words_silence=, max_words=, max_word_length=} (SPEC 5.1): answers a
 * ringing call, then listens to what the callee sends (media/amd.h decides, one 20 ms frame per
 * tick, silence when none came) and returns "human", "machine" or "unknown" and a table of what
 * was measured. Times are ms; timeout is the total analysis time. */
#include <stdlib.h>

#include "call/call_method.h"
#include "media/amd.h"

#define BACKSTOP_MS 2000 /* past the analysis time: only if the tick stopped feeding us */

static int detect_results(lua_State *L, struct call *c)
{
    const struct amd_measure *m = &c->amd->m;
    lua_pushstring(L, c->amd->result == AMD_PENDING ? "unknown" : amd_result_name(c->amd->result));
    lua_createtable(L, 0, 7);
    const struct { const char *k; unsigned v; } f[] = {
        { "initial_silence_ms", m->initial_silence_ms }, { "greeting_ms", m->greeting_ms },
        { "voice_ms", m->voice_ms }, { "words", m->words },
        { "after_greeting_silence_ms", m->after_greeting_silence_ms }, { "total_ms", m->total_ms } };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        lua_pushinteger(L, f[i].v);
        lua_setfield(L, -2, f[i].k);
    }
    lua_pushstring(L, m->cause ? m->cause : "too_long");
    lua_setfield(L, -2, "cause");
    return 2;
}

static const struct wait_kind detect_wait = {
    "detect_machine", .wake_on = WAIT_ON(WAIT_EV_TIMER), .results = detect_results };

void call_amd_tick(struct call *c)
{
    if (!c->amd || !c->rec_ring || !call_waiting(c, &detect_wait))
        return;
    int16_t pcm[FRAME_SAMPLES];
    call_ring_take(c, c->rec_ring, pcm);
    if (amd_feed(c->amd, pcm, FRAME_SAMPLES) != AMD_PENDING)
        call_wait_wake(c);
}

static void opt_ms(lua_State *L, int t, const char *k, unsigned *v)
{
    lua_getfield(L, t, k);
    if (!lua_isnil(L, -1)) {
        lua_Integer x = luaL_checkinteger(L, -1);
        *v = x < 0 || x > 1000000 ? 0 : (unsigned)x; /* out of range: amd_params_check names it */
    }
    lua_pop(L, 1);
}

static int m_detect_machine(lua_State *L)
{
    struct call *c = method_live_call(L, "detect_machine");
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    else
        lua_newtable(L);
    struct amd_params p;
    amd_params_default(&p);
    opt_ms(L, 2, "timeout", &p.total_analysis_ms);
    opt_ms(L, 2, "initial_silence", &p.initial_silence_ms);
    opt_ms(L, 2, "greeting", &p.greeting_ms);
    opt_ms(L, 2, "after_greeting_silence", &p.after_greeting_silence_ms);
    opt_ms(L, 2, "min_word_length", &p.min_word_ms);
    opt_ms(L, 2, "between_words_silence", &p.between_words_silence_ms);
    opt_ms(L, 2, "max_words", &p.max_words);
    opt_ms(L, 2, "max_word_length", &p.max_word_ms);
    char err[128];
    if (amd_params_check(&p, err, sizeof err) != 0)
        return luaL_error(L, "call:detect_machine(): %s", err);
    if (c->state == CALL_INCOMING)
        call_answer_now(c);
    if (!c->rec_ring && !(c->rec_ring = calloc(1, sizeof *c->rec_ring)))
        return luaL_error(L, "call:detect_machine(): out of memory");
    if (!c->amd && !(c->amd = malloc(sizeof *c->amd)))
        return luaL_error(L, "call:detect_machine(): out of memory");
    c->rec_ring->head = c->rec_ring->tail = 0; /* only what comes from now on */
    amd_init(c->amd, &p);
    call_wait_timer(c, (int64_t)p.total_analysis_ms + BACKSTOP_MS);
    return call_wait_yield(L, c, &detect_wait);
}

const luaL_Reg method_detect_machine_funcs[] = { { "detect_machine", m_detect_machine }, { NULL, NULL } };
