/* Tone parsing and generation. Phase is kept in cycles (double) per frequency slot, so chunked
 * rendering (one 20 ms packet at a time) gives the same samples as rendering in one go. */
#include "media/tone.h"

#include "core/errmsg.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Peak of a 0 dBm0 sine in 16-bit linear PCM: G.711's full-scale sine is +3.14 dBm0 (A-law;
 * mu-law +3.17), the figure spandsp uses as well. */
#define DBM0_PEAK (32768.0 * 0.69662)  /* 10^(-3.14/20) */
#define TONE_LEVEL_DBM0 (-13.0)

static const struct {
    const char *name, *cadence;
} named[] = {
    { "beep", "1000/250" },
    { "ringback", "450/1000,0/4000" },
    { "busy", "450/350,0/350" },
    { "ringback-us", "440+480/2000,0/4000" },
    { "busy-us", "480+620/500,0/500" },
};


/* Reads a decimal number of at most 7 digits (so it cannot overflow); advances *s. */
static bool read_uint(const char **s, long *out)
{
    const char *p = *s;
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (++digits > 7)
            return false;
        v = v * 10 + (*p - '0');
        p++;
    }
    if (digits == 0)
        return false;
    *s = p;
    *out = v;
    return true;
}

static int parse_cadence(const char *spec, const char *shown, struct tone_spec *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = spec;
    uint64_t total = 0;
    for (;;) {
        if (out->nsegments == TONE_MAX_SEGMENTS) {
            set_err(err, errlen, "tone '%s': more than %d segments", shown, TONE_MAX_SEGMENTS);
            return -1;
        }
        int idx = out->nsegments + 1;
        struct tone_segment *seg = &out->seg[out->nsegments];
        bool silence = false;
        for (;;) {
            long f;
            const char *at = p;
            if (!read_uint(&p, &f)) {
                set_err(err, errlen, "tone '%s': segment %d: expected a frequency in Hz at '%s'",
                        shown, idx, at);
                return -1;
            }
            if (f == 0) {
                silence = true;
            } else if (f < TONE_MIN_HZ || f > TONE_MAX_HZ) {
                set_err(err, errlen, "tone '%s': segment %d: frequency %ld Hz is out of range %d..%d",
                        shown, idx, f, TONE_MIN_HZ, TONE_MAX_HZ);
                return -1;
            } else if (seg->nfreqs == TONE_MAX_FREQS) {
                set_err(err, errlen, "tone '%s': segment %d: more than %d frequencies", shown,
                        idx, TONE_MAX_FREQS);
                return -1;
            } else {
                seg->freqs[seg->nfreqs++] = (int)f;
            }
            if (silence && seg->nfreqs > 0) {
                set_err(err, errlen, "tone '%s': segment %d: 0 (silence) cannot be mixed with "
                        "frequencies", shown, idx);
                return -1;
            }
            if (*p != '+')
                break;
            p++;
        }
        if (*p != '/') {
            set_err(err, errlen, "tone '%s': segment %d: expected '/' and a duration in ms at '%s'",
                    shown, idx, p);
            return -1;
        }
        p++;
        long ms;
        const char *at = p;
        if (!read_uint(&p, &ms) || ms > TONE_MAX_SEGMENT_MS) {
            set_err(err, errlen, "tone '%s': segment %d: expected a duration of 0..%d ms at '%s'",
                    shown, idx, TONE_MAX_SEGMENT_MS, at);
            return -1;
        }
        seg->ms = (uint32_t)ms;
        total += (uint64_t)ms;
        out->nsegments++;
        if (*p == '\0')
            break;
        if (*p != ',') {
            set_err(err, errlen, "tone '%s': segment %d: expected ',' or the end at '%s'", shown,
                    idx, p);
            return -1;
        }
        p++;
    }
    if (total == 0) {
        set_err(err, errlen, "tone '%s': the cadence has a total duration of 0 ms", shown);
        return -1;
    }
    return 0;
}

int tone_parse(const char *name_or_spec, struct tone_spec *out, char *err, size_t errlen)
{
    if (!name_or_spec || !out) {
        set_err(err, errlen, "no tone given");
        return -1;
    }
    if (name_or_spec[0] == '\0') {
        set_err(err, errlen, "empty tone");
        return -1;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(name_or_spec, named[i].name) == 0)
            return parse_cadence(named[i].cadence, named[i].name, out, err, errlen);
    }
    if (name_or_spec[0] < '0' || name_or_spec[0] > '9') {
        set_err(err, errlen, "unknown tone '%.64s': use beep, ringback, busy, ringback-us, "
                "busy-us or a cadence such as 440+480/2000,0/4000", name_or_spec);
        return -1;
    }
    if (strlen(name_or_spec) > 256) {
        set_err(err, errlen, "tone '%.32s...': cadence too long", name_or_spec);
        return -1;
    }
    return parse_cadence(name_or_spec, name_or_spec, out, err, errlen);
}

uint32_t tone_cycle_ms(const struct tone_spec *spec)
{
    uint32_t total = 0;
    for (int i = 0; i < spec->nsegments && i < TONE_MAX_SEGMENTS; i++)
        total += spec->seg[i].ms;
    return total;
}

void tone_gen_init(struct tone_gen *g, const struct tone_spec *spec)
{
    memset(g, 0, sizeof *g);
    g->spec = *spec;
    if (g->spec.nsegments < 0 || g->spec.nsegments > TONE_MAX_SEGMENTS)
        g->spec.nsegments = 0;
    g->cycle_ms = tone_cycle_ms(&g->spec);
    g->seg = g->spec.nsegments - 1; /* the first render moves on to segment 0 */
}

/* Moves to the next segment with samples; only called when the cycle is longer than 0. */
static void next_segment(struct tone_gen *g)
{
    do
        g->seg = (g->seg + 1) % g->spec.nsegments;
    while (g->spec.seg[g->seg].ms == 0);

    const struct tone_segment *s = &g->spec.seg[g->seg];
    g->left = s->ms * (TONE_RATE / 1000);
    for (int k = 0; k < TONE_MAX_FREQS; k++) {
        int f = k < s->nfreqs ? s->freqs[k] : 0;
        if (f != g->sounding[k])
            g->phase[k] = 0.0;
        g->sounding[k] = f;
    }
    g->amp = s->nfreqs > 0
        ? DBM0_PEAK * pow(10.0, TONE_LEVEL_DBM0 / 20.0) / sqrt((double)s->nfreqs) : 0.0;
}

void tone_gen_render(struct tone_gen *g, int16_t *out, size_t n)
{
    if (g->cycle_ms == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    while (n > 0) {
        if (g->left == 0)
            next_segment(g);
        size_t take = n < g->left ? n : g->left;
        const struct tone_segment *s = &g->spec.seg[g->seg];
        if (s->nfreqs == 0) {
            memset(out, 0, take * sizeof *out);
        } else {
            for (size_t i = 0; i < take; i++) {
                double v = 0.0;
                for (int k = 0; k < s->nfreqs; k++) {
                    v += sin(2.0 * M_PI * g->phase[k]);
                    g->phase[k] += (double)s->freqs[k] / TONE_RATE;
                    if (g->phase[k] >= 1.0)
                        g->phase[k] -= 1.0;
                }
                out[i] = (int16_t)lrint(v * g->amp);
            }
        }
        out += take;
        n -= take;
        g->left -= (uint32_t)take;
    }
}
