/* call:tone (SPEC 5.1): named tones and cadence parsing with its errors; generation checked for
 * frequency (zero crossings, Goertzel), level (-13 dBm0), cadence timing to the sample, phase
 * continuity across render calls and cycles; and a rendered tone made into a playable prompt. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/g711.h"
#include "media/prompt_build.h"
#include "media/tone.h"

#define DBM0_RMS (32768.0 * 0.69662 / sqrt(2.0)) /* RMS of a 0 dBm0 sine (+3.14 dBm0 full scale) */

static int16_t *render(const char *spec_text, size_t n)
{
    struct tone_spec spec;
    char err[256];
    if (tone_parse(spec_text, &spec, err, sizeof err) != 0)
        fail_msg("tone_parse(%s): %s", spec_text, err);
    struct tone_gen g;
    tone_gen_init(&g, &spec);
    int16_t *pcm = malloc(n * sizeof *pcm);
    assert_non_null(pcm);
    tone_gen_render(&g, pcm, n);
    return pcm;
}

static double rms(const int16_t *x, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return sqrt(sum / (double)n);
}

static double level_dbm0(const int16_t *x, size_t n)
{
    return 20.0 * log10(rms(x, n) / DBM0_RMS);
}

/* Sign changes, counting a sample of exactly 0 with the sign before it. */
static int zero_crossings(const int16_t *x, size_t n)
{
    int count = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        int s = (x[i] > 0) - (x[i] < 0);
        if (s != 0 && last != 0 && s != last)
            count++;
        if (s != 0)
            last = s;
    }
    return count;
}

/* Power of frequency f in x, normalised so that a sine of amplitude A gives about A^2/4. */
static double goertzel(const int16_t *x, size_t n, double f)
{
    double w = 2.0 * M_PI * f / TONE_RATE, c = 2.0 * cos(w), s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double p = s1 * s1 + s2 * s2 - c * s1 * s2;
    return p / ((double)n * n);
}

/* ---- parsing ------------------------------------------------------------------------------ */

static void expect_segment(const struct tone_segment *s, int nfreqs, int f0, int f1, uint32_t ms)
{
    assert_int_equal(s->nfreqs, nfreqs);
    if (nfreqs > 0)
        assert_int_equal(s->freqs[0], f0);
    if (nfreqs > 1)
        assert_int_equal(s->freqs[1], f1);
    assert_int_equal(s->ms, ms);
}

static void test_named(void **state)
{
    (void)state;
    struct tone_spec s;
    char err[256];
    assert_int_equal(tone_parse("beep", &s, err, sizeof err), 0);
    assert_int_equal(s.nsegments, 1);
    expect_segment(&s.seg[0], 1, 1000, 0, 250);
    assert_int_equal(tone_cycle_ms(&s), 250);

    assert_int_equal(tone_parse("ringback", &s, err, sizeof err), 0);
    assert_int_equal(s.nsegments, 2);
    expect_segment(&s.seg[0], 1, 450, 0, 1000);
    expect_segment(&s.seg[1], 0, 0, 0, 4000);
    assert_int_equal(tone_cycle_ms(&s), 5000);

    assert_int_equal(tone_parse("busy", &s, err, sizeof err), 0);
    assert_int_equal(s.nsegments, 2);
    expect_segment(&s.seg[0], 1, 450, 0, 350);
    expect_segment(&s.seg[1], 0, 0, 0, 350);

    assert_int_equal(tone_parse("ringback-us", &s, err, sizeof err), 0);
    expect_segment(&s.seg[0], 2, 440, 480, 2000);
    expect_segment(&s.seg[1], 0, 0, 0, 4000);

    assert_int_equal(tone_parse("busy-us", &s, err, sizeof err), 0);
    expect_segment(&s.seg[0], 2, 480, 620, 500);
}

static void test_cadence(void **state)
{
    (void)state;
    struct tone_spec s;
    char err[256];
    assert_int_equal(tone_parse("440+480/2000,0/4000", &s, err, sizeof err), 0);
    assert_int_equal(s.nsegments, 2);
    expect_segment(&s.seg[0], 2, 440, 480, 2000);
    expect_segment(&s.seg[1], 0, 0, 0, 4000);
    assert_int_equal(tone_cycle_ms(&s), 6000);

    assert_int_equal(tone_parse("350+440+480+620/100", &s, err, sizeof err), 0);
    assert_int_equal(s.seg[0].nfreqs, 4);
    assert_int_equal(s.seg[0].freqs[3], 620);

    assert_int_equal(tone_parse("100/1,3999/600000,0/0", &s, err, sizeof err), 0);
    assert_int_equal(s.nsegments, 3);
    assert_int_equal(tone_cycle_ms(&s), 600001);

    /* The most segments allowed. */
    char many[256] = "";
    for (int i = 0; i < TONE_MAX_SEGMENTS; i++)
        strcat(many, i ? ",400/10" : "400/10");
    assert_int_equal(tone_parse(many, &s, err, sizeof err), 0);
    assert_int_equal(s.nsegments, TONE_MAX_SEGMENTS);
}

static void expect_error(const char *spec, const char *fragment)
{
    struct tone_spec s;
    char err[256] = "";
    if (tone_parse(spec, &s, err, sizeof err) != -1)
        fail_msg("tone_parse(%s) accepted", spec ? spec : "NULL");
    if (!strstr(err, fragment))
        fail_msg("tone_parse(%s): \"%s\" does not say \"%s\"", spec ? spec : "NULL", err,
                 fragment);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error(NULL, "no tone");
    expect_error("", "empty tone");
    expect_error("beeep", "unknown tone 'beeep'");
    expect_error("Beep", "unknown tone");
    expect_error(" 440/100", "unknown tone");
    expect_error("440", "segment 1: expected '/'");
    expect_error("440/", "segment 1: expected a duration");
    expect_error("440/abc", "segment 1: expected a duration");
    expect_error("440/100,", "segment 2: expected a frequency");
    expect_error("440/100,/100", "segment 2: expected a frequency");
    expect_error("440+/100", "segment 1: expected a frequency");
    expect_error("440/100;0/100", "segment 1: expected ',' or the end");
    expect_error("440/100 ", "expected ',' or the end");
    expect_error("440.5/100", "segment 1: expected '/'");
    expect_error("99/100", "frequency 99 Hz is out of range 100..3999");
    expect_error("4000/100", "frequency 4000 Hz is out of range");
    expect_error("440/100,0/100,5000/100", "segment 3: frequency 5000 Hz");
    expect_error("100+200+300+400+500/100", "more than 4 frequencies");
    expect_error("0+440/100", "0 (silence) cannot be mixed");
    expect_error("440+0/100", "0 (silence) cannot be mixed");
    expect_error("0/0", "total duration of 0 ms");
    expect_error("440/0,0/0", "total duration of 0 ms");
    expect_error("440/600001", "expected a duration of 0..600000 ms");
    expect_error("99999999/100", "expected a frequency");
    expect_error("440/-5", "expected a duration");

    char many[256] = "";
    for (int i = 0; i <= TONE_MAX_SEGMENTS; i++)
        strcat(many, i ? ",400/10" : "400/10");
    expect_error(many, "more than 16 segments");

    char huge[400];
    memset(huge, '1', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    expect_error(huge, "cadence too long");

    /* A NULL or short error buffer is fine. */
    struct tone_spec s;
    assert_int_equal(tone_parse("nope", &s, NULL, 0), -1);
    char tiny[4];
    assert_int_equal(tone_parse("nope", &s, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), 3);
}

/* ---- generation --------------------------------------------------------------------------- */

static void test_beep(void **state)
{
    (void)state;
    size_t n = 250 * 8; /* one beep */
    int16_t *x = render("beep", n);
    /* 1000 Hz for 0.25 s: 250 periods, two sign changes each, the first at the very start. */
    int zc = zero_crossings(x, n);
    assert_in_range(zc, 498, 500);
    assert_int_equal(x[0], 0);
    double level = level_dbm0(x, n);
    if (fabs(level - (-13.0)) > 0.2)
        fail_msg("beep level %.2f dBm0, want -13", level);
    assert_true(goertzel(x, n, 1000) > 100.0 * goertzel(x, n, 1200));
    free(x);
}

static void test_dual_tone(void **state)
{
    (void)state;
    size_t n = 2000 * 8; /* the first on-period of US ringback */
    int16_t *x = render("ringback-us", n);
    double p440 = goertzel(x, n, 440), p480 = goertzel(x, n, 480);
    /* Equal components, each with half the power of -13 dBm0. */
    assert_true(fabs(10.0 * log10(p440 / p480)) < 0.5);
    assert_true(p440 > 1000.0 * goertzel(x, n, 460));
    assert_true(p440 > 1000.0 * goertzel(x, n, 1000));
    double level = level_dbm0(x, n);
    if (fabs(level - (-13.0)) > 0.2)
        fail_msg("ringback-us level %.2f dBm0, want -13", level);
    free(x);

    /* Four components still sum without clipping. */
    n = 8000;
    x = render("350+440+480+620/1000", n);
    int peak = 0;
    for (size_t i = 0; i < n; i++)
        peak = abs(x[i]) > peak ? abs(x[i]) : peak;
    assert_true(peak < 32767);
    assert_true(fabs(level_dbm0(x, n) - (-13.0)) < 0.2);
    free(x);
}

static bool all_zero(const int16_t *x, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (x[i] != 0)
            return false;
    }
    return true;
}

/* Two cycles of 2 s on / 4 s off: the boundaries fall exactly on samples 16000, 48000, 64000. */
static void test_cadence_timing(void **state)
{
    (void)state;
    size_t n = 12000 * 8;
    int16_t *x = render("440+480/2000,0/4000", n);
    for (int cycle = 0; cycle < 2; cycle++) {
        size_t on = (size_t)cycle * 48000, off = on + 16000, end = on + 48000;
        assert_int_equal(x[on], 0);            /* each onset starts at phase 0 */
        assert_int_not_equal(x[on + 1], 0);
        assert_int_not_equal(x[off - 1], 0);   /* the last sample of the on-period sounds */
        assert_true(all_zero(x, off, end));    /* and the first one after it is silent */
        /* Every 10 ms of the on-period carries the tone. */
        for (size_t b = on; b < off; b += 80)
            assert_true(rms(x + b, 80) > 1000.0);
    }
    free(x);

    /* Busy: 350 ms = 2800 samples on, 2800 off. */
    n = 5600 * 3;
    x = render("busy", n);
    for (size_t c = 0; c < 3; c++) {
        assert_int_not_equal(x[c * 5600 + 2799], 0);
        assert_true(all_zero(x, c * 5600 + 2800, c * 5600 + 5600));
    }
    assert_in_range(zero_crossings(x, 2800), 314, 316); /* 450 Hz * 0.35 s = 157.5 periods */
    free(x);

    /* 0 ms segments are skipped: 100 ms of 400 Hz, then 100 ms of 800 Hz. */
    n = 1600;
    x = render("400/100,0/0,800/100", n);
    assert_in_range(zero_crossings(x, 800), 79, 80);
    assert_in_range(zero_crossings(x + 800, 800), 159, 160);
    free(x);
}

/* Rendering packet by packet (or in odd chunks) gives the very same samples as one call. */
static void test_chunked_is_continuous(void **state)
{
    (void)state;
    const char *specs[] = { "440+480/2000,0/4000", "425/30", "beep", "1000/7,0/3,1300/11" };
    size_t n = 14000 * 8;
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        int16_t *whole = render(specs[k], n);
        int16_t *parts = malloc(n * sizeof *parts);
        assert_non_null(parts);
        struct tone_spec spec;
        assert_int_equal(tone_parse(specs[k], &spec, NULL, 0), 0);
        struct tone_gen g;
        tone_gen_init(&g, &spec);
        static const size_t chunks[] = { 160, 7, 1, 333, 4000 };
        size_t done = 0;
        for (size_t c = 0; done < n; c++) {
            size_t take = chunks[c % 5] < n - done ? chunks[c % 5] : n - done;
            tone_gen_render(&g, parts + done, take);
            done += take;
        }
        assert_memory_equal(whole, parts, n * sizeof *whole);
        free(parts);
        free(whole);
    }
}

/* A steady tone stays continuous where its cycle repeats (30 ms of 425 Hz is 12.75 periods):
 * no sample-to-sample step is larger than the sine's steepest slope allows. */
static void test_phase_continuous_across_cycles(void **state)
{
    (void)state;
    size_t n = 8000;
    int16_t *x = render("425/30", n);
    double amp = 0.0;
    for (size_t i = 0; i < n; i++)
        amp = fabs((double)x[i]) > amp ? fabs((double)x[i]) : amp;
    double max_step = amp * 2.0 * M_PI * 425.0 / TONE_RATE + 2.0;
    for (size_t i = 1; i < n; i++) {
        if (fabs((double)x[i] - x[i - 1]) > max_step)
            fail_msg("step of %d at sample %zu (max %.0f)", x[i] - x[i - 1], i, max_step);
    }
    assert_in_range(zero_crossings(x, n), 848, 850);
    free(x);
}

static void test_invalid_spec_renders_silence(void **state)
{
    (void)state;
    struct tone_spec empty;
    memset(&empty, 0, sizeof empty);
    struct tone_gen g;
    tone_gen_init(&g, &empty);
    int16_t x[160];
    memset(x, 0x55, sizeof x);
    tone_gen_render(&g, x, 160);
    assert_true(all_zero(x, 0, 160));
    assert_int_equal(tone_cycle_ms(&empty), 0);
}

/* ---- prompt ------------------------------------------------------------------------------- */

static void test_tone_prompt(void **state)
{
    (void)state;
    size_t n = 5000 * 8;
    int16_t *x = render("ringback", n);
    const struct prompt *p = prompt_from_pcm(x, n);
    assert_non_null(p);
    assert_int_equal(p->samples, n);
    assert_memory_equal(p->pcm, x, n * sizeof *x);
    uint8_t *u = malloc(n), *a = malloc(n);
    assert_non_null(u);
    assert_non_null(a);
    g711_ulaw_encode(u, x, n);
    g711_alaw_encode(a, x, n);
    assert_memory_equal(p->ulaw, u, n);
    assert_memory_equal(p->alaw, a, n);
    /* The silent part is G.711 silence. */
    assert_int_equal(p->ulaw[n - 1], G711_ULAW_SILENCE);
    assert_int_equal(p->alaw[n - 1], G711_ALAW_SILENCE);
    prompt_ref(p);
    prompt_unref(p);
    assert_int_equal(p->samples, n); /* still alive: one reference left */
    prompt_unref(p);
    free(u);
    free(a);
    free(x);

    const struct prompt *empty = prompt_from_pcm(NULL, 0);
    assert_non_null(empty);
    assert_int_equal(empty->samples, 0);
    prompt_unref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_cadence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_beep),
        cmocka_unit_test(test_dual_tone),
        cmocka_unit_test(test_cadence_timing),
        cmocka_unit_test(test_chunked_is_continuous),
        cmocka_unit_test(test_phase_continuous_across_cycles),
        cmocka_unit_test(test_invalid_spec_renders_silence),
        cmocka_unit_test(test_tone_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
