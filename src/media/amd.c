/* Answering-machine detection: the rules of amd.h applied to every 10 ms of audio. */
#include "media/amd.h"

#include <stdio.h>

#define STEP_MS 10

void amd_params_default(struct amd_params *p)
{
    *p = (struct amd_params){ .initial_silence_ms = 2500, .greeting_ms = 1500,
                              .after_greeting_silence_ms = 800, .total_analysis_ms = 5000,
                              .min_word_ms = 100, .between_words_silence_ms = 50,
                              .max_words = 3, .max_word_ms = 5000 };
}

int amd_params_check(const struct amd_params *p, char *err, size_t errlen)
{
    const struct { const char *name; unsigned v; } ms[] = {
        { "initial_silence", p->initial_silence_ms }, { "greeting", p->greeting_ms },
        { "after_greeting_silence", p->after_greeting_silence_ms },
        { "timeout", p->total_analysis_ms }, { "min_word_length", p->min_word_ms },
        { "between_words_silence", p->between_words_silence_ms },
        { "max_word_length", p->max_word_ms } };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        if (ms[i].v < 1 || ms[i].v > 60000) {
            snprintf(err, errlen, "%s must be 1..60000 ms (got %u)", ms[i].name, ms[i].v);
            return -1;
        }
    if (p->max_words < 1 || p->max_words > 100) {
        snprintf(err, errlen, "max_words must be 1..100 (got %u)", p->max_words);
        return -1;
    }
    return 0;
}

void amd_init(struct amd *a, const struct amd_params *p)
{
    *a = (struct amd){ .p = *p };
    vad_init(&a->vad);
}

static enum amd_result decide(struct amd *a, enum amd_result r, const char *cause)
{
    a->result = r;
    a->m.cause = cause;
    a->m.after_greeting_silence_ms = a->in_greeting ? a->silence_run_ms : 0;
    return r;
}

static enum amd_result silent_step(struct amd *a)
{
    a->silence_run_ms += STEP_MS;
    if (a->silence_run_ms >= a->p.between_words_silence_ms) {
        a->in_word = false;
        a->voice_run_ms = 0;
    }
    if (!a->in_greeting) {
        a->m.initial_silence_ms = a->m.total_ms;
        if (a->m.initial_silence_ms >= a->p.initial_silence_ms)
            return decide(a, AMD_MACHINE, "initial_silence");
    } else if (a->silence_run_ms >= a->p.after_greeting_silence_ms) {
        return decide(a, AMD_HUMAN, "after_greeting_silence");
    }
    return AMD_PENDING;
}

static enum amd_result voiced_step(struct amd *a)
{
    a->silence_run_ms = 0;
    a->voice_run_ms += STEP_MS;
    if (a->in_greeting)
        a->m.voice_ms += STEP_MS;
    if (!a->in_word && a->voice_run_ms >= a->p.min_word_ms) {
        a->in_word = true;
        a->m.words++;
        if (!a->in_greeting) {
            /* The greeting began where this word's voice began. */
            a->in_greeting = true;
            a->m.initial_silence_ms = a->m.total_ms - a->voice_run_ms;
            a->m.voice_ms = a->voice_run_ms;
        }
    }
    if (a->in_greeting)
        a->m.greeting_ms = a->m.total_ms - a->m.initial_silence_ms;
    if (a->voice_run_ms >= a->p.max_word_ms)
        return decide(a, AMD_MACHINE, "max_word_length");
    if (a->m.words > a->p.max_words)
        return decide(a, AMD_MACHINE, "max_words");
    if (a->in_greeting && a->m.voice_ms >= a->p.greeting_ms)
        return decide(a, AMD_MACHINE, "long_greeting");
    return AMD_PENDING;
}

enum amd_result amd_feed(struct amd *a, const int16_t *pcm, size_t n)
{
    if (a->result != AMD_PENDING || n == 0 || n % VAD_SUBFRAME != 0)
        return a->result;
    for (size_t off = 0; off < n && a->result == AMD_PENDING; off += VAD_SUBFRAME) {
        a->m.total_ms += STEP_MS;
        int voiced = vad_process(&a->vad, pcm + off, VAD_SUBFRAME);
        enum amd_result r = voiced == 1 ? voiced_step(a) : silent_step(a);
        if (r == AMD_PENDING && a->m.total_ms >= a->p.total_analysis_ms)
            decide(a, AMD_UNKNOWN, "too_long");
    }
    return a->result;
}

const char *amd_result_name(enum amd_result r)
{
    switch (r) {
    case AMD_HUMAN:
        return "human";
    case AMD_MACHINE:
        return "machine";
    case AMD_UNKNOWN:
        return "unknown";
    default:
        return "pending";
    }
}
