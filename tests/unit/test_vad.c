/* VAD: synthesized, deterministic signals fed in 20 ms packets, as the engine does.
 * "Speech" is amplitude-modulated harmonics of 140 Hz between 300 Hz and 3 kHz with a 4 Hz
 * syllable envelope that falls to zero between syllables; noise comes from a fixed-seed LCG. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "media/vad.h"

#define PI 3.14159265358979323846
#define F0 140.0
#define SYLLABLE_HZ 4.0
#define MS_SAMPLES(ms) ((size_t)(ms) * (VAD_RATE / 1000))

static uint32_t lcg_state;

/* Uniform in [-1, 1). */
static double uniform(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (double)(lcg_state >> 8) / (double)(1u << 23) - 1.0;
}

static int16_t clip(double v)
{
    if (v > 32767.0)
        return 32767;
    if (v < -32768.0)
        return -32768;
    return (int16_t)lrint(v);
}

/* Amplitude of uniform noise whose RMS level is dbfs (uniform RMS = amplitude / sqrt 3). */
static double noise_amp(double dbfs)
{
    return 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(3.0);
}

/* Amplitude of a sine whose RMS level is dbfs. */
static double sine_amp(double dbfs)
{
    return 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(2.0);
}

/* Speech-like sample number i (from the utterance's start): about -20 dBFS at a syllable's
 * peak (every 250 ms from 125 ms on), silent between syllables. */
static double speech(size_t i)
{
    double t = (double)i / VAD_RATE, v = 0.0;
    for (int k = 3; k * F0 <= 3000.0; k++)
        v += sin(2.0 * PI * k * F0 * t) / k;
    double env = 0.5 * (1.0 - cos(2.0 * PI * SYLLABLE_HZ * t));
    return 0.5 * 32768.0 * env * v / 2.0;
}

enum sig { SILENCE, NOISE, SPEECH, SPEECH_ON_NOISE, SINE };
struct source {
    enum sig kind;
    double noise_dbfs, sine_hz, sine_dbfs;
    size_t pos; /* samples generated so far, for continuity across calls */
};

/* Feeds ms (a multiple of 20) of s in 20 ms packets; returns how many packets were voiced. */
static int feed(struct vad *v, struct source *s, unsigned ms)
{
    int voiced = 0;
    int16_t pkt[VAD_FRAME];
    for (unsigned done = 0; done < ms; done += 20) {
        for (size_t i = 0; i < VAD_FRAME; i++, s->pos++) {
            double x = 0.0;
            if (s->kind == NOISE || s->kind == SPEECH_ON_NOISE)
                x += noise_amp(s->noise_dbfs) * uniform();
            if (s->kind == SPEECH || s->kind == SPEECH_ON_NOISE)
                x += speech(s->pos);
            if (s->kind == SINE)
                x += sine_amp(s->sine_dbfs) * sin(2.0 * PI * s->sine_hz * (double)s->pos / VAD_RATE);
            pkt[i] = clip(x);
        }
        int r = vad_process(v, pkt, VAD_FRAME);
        assert_true(r == 0 || r == 1);
        voiced += r;
    }
    return voiced;
}

static void test_silence(void **state)
{
    struct vad v;
    vad_init(&v);
    struct source s = { .kind = SILENCE };
    assert_int_equal(feed(&v, &s, 2000), 0);
    assert_false(vad_heard_voice(&v));
    assert_int_equal(vad_silence_ms(&v), 2000);
    assert_int_equal(vad_trim_frames(&v), 0); /* no voice: nothing to trim back to */
}

static void test_low_noise_is_not_voice(void **state)
{
    /* -60 dBFS is under the absolute -55 dBFS gate even though white noise crosses zero often. */
    lcg_state = 1;
    struct vad v;
    vad_init(&v);
    struct source s = { .kind = NOISE, .noise_dbfs = -60.0 };
    assert_int_equal(feed(&v, &s, 3000), 0);
    assert_false(vad_heard_voice(&v));
    assert_int_equal(vad_silence_ms(&v), 3000);
}

static void test_steady_loud_noise_is_not_voice(void **state)
{
    /* -35 dBFS line noise passes the absolute gate; only the adaptive floor rejects it, and it
     * must do so from the first packet (the floor starts at the first level). */
    lcg_state = 2;
    struct vad v;
    vad_init(&v);
    struct source s = { .kind = NOISE, .noise_dbfs = -35.0 };
    assert_int_equal(feed(&v, &s, 5000), 0);
    assert_false(vad_heard_voice(&v));
}

static void test_speech_then_silence(void **state)
{
    struct vad v;
    vad_init(&v);
    struct source quiet = { .kind = SILENCE };
    assert_int_equal(feed(&v, &quiet, 500), 0);

    /* Ends near the syllable peak at 2125 ms, so the last packets are loud. */
    struct source talk = { .kind = SPEECH };
    int voiced = feed(&v, &talk, 2120);
    assert_true(vad_heard_voice(&v));
    assert_true(voiced >= 106 * 7 / 10); /* most packets, the troughs between syllables aside */
    assert_int_equal(vad_silence_ms(&v), 0);
    int16_t tail[VAD_SUBFRAME * 2];
    for (size_t i = 0; i < 2 * VAD_SUBFRAME; i++, talk.pos++)
        tail[i] = clip(speech(talk.pos));
    /* Also a 10 ms call, which the API allows. */
    assert_int_equal(vad_process(&v, tail, VAD_SUBFRAME), 1);
    assert_int_equal(vad_silence_ms(&v), 0);
    assert_int_equal(vad_process(&v, tail + VAD_SUBFRAME, VAD_SUBFRAME), 1);

    assert_int_equal(feed(&v, &quiet, 1500), 0);
    assert_true(vad_heard_voice(&v));
    assert_int_equal(vad_silence_ms(&v), 1500);
    assert_int_equal(vad_trim_frames(&v), MS_SAMPLES(1500 - VAD_TRIM_KEEP_MS));

    /* Talking again resets the count. */
    talk.pos = MS_SAMPLES(125); /* a syllable peak */
    assert_true(feed(&v, &talk, 100) > 0);
    assert_int_equal(vad_silence_ms(&v), 0);
    assert_int_equal(vad_trim_frames(&v), 0);
}

static void test_speech_over_noise(void **state)
{
    /* Speech on top of -45 dBFS noise is found, and when it stops the noise counts as silence. */
    lcg_state = 3;
    struct vad v;
    vad_init(&v);
    struct source noise = { .kind = NOISE, .noise_dbfs = -45.0 };
    assert_int_equal(feed(&v, &noise, 1000), 0);
    struct source talk = { .kind = SPEECH_ON_NOISE, .noise_dbfs = -45.0 };
    int voiced = feed(&v, &talk, 2000); /* ends at a trough: the last packets may be quiet */
    assert_true(voiced >= 100 * 6 / 10);
    assert_true(vad_heard_voice(&v));
    uint64_t before = vad_silence_ms(&v);
    assert_true(before <= 200);
    assert_int_equal(feed(&v, &noise, 1000), 0);
    assert_int_equal(vad_silence_ms(&v), before + 1000);
}

static void test_zero_crossing_branch(void **state)
{
    /* A floor set by a steady 100 Hz tone (2 crossings per 10 ms) at -50 dBFS, then 7 dB more:
     * between the 5 and 10 dB thresholds, so only a hiss (many crossings) is voice. */
    struct vad v;
    vad_init(&v);
    struct source hum = { .kind = SINE, .sine_hz = 100.0, .sine_dbfs = -50.0 };
    assert_int_equal(feed(&v, &hum, 1000), 0);
    struct source louder_hum = { .kind = SINE, .sine_hz = 100.0, .sine_dbfs = -43.0,
                                 .pos = hum.pos };
    assert_int_equal(feed(&v, &louder_hum, 300), 0);
    assert_false(vad_heard_voice(&v));

    struct source hiss = { .kind = SINE, .sine_hz = 3000.0, .sine_dbfs = -43.0 };
    assert_true(feed(&v, &hiss, 300) >= 14); /* all but the first (unconfirmed) packet */
    assert_true(vad_heard_voice(&v));
}

static void test_short_click_is_not_voice(void **state)
{
    struct vad v;
    vad_init(&v);
    struct source quiet = { .kind = SILENCE };
    assert_int_equal(feed(&v, &quiet, 1000), 0);

    int16_t click[VAD_FRAME];
    for (size_t i = 0; i < VAD_FRAME; i++)
        click[i] = (int16_t)((i & 1) ? 8000 : -8000);
    assert_int_equal(vad_process(&v, click, VAD_FRAME), 0); /* 20 ms: a click */
    assert_int_equal(feed(&v, &quiet, 500), 0);
    assert_false(vad_heard_voice(&v));
    assert_int_equal(vad_silence_ms(&v), 1520);

    /* 40 ms is long enough: voice from its third 10 ms on. */
    assert_int_equal(vad_process(&v, click, VAD_FRAME), 0);
    assert_int_equal(vad_process(&v, click, VAD_FRAME), 1);
    assert_true(vad_heard_voice(&v));
    assert_int_equal(vad_silence_ms(&v), 0);
}

static void test_bad_input(void **state)
{
    struct vad v;
    vad_init(&v);
    int16_t pkt[VAD_FRAME] = { 0 };
    assert_int_equal(vad_process(NULL, pkt, VAD_FRAME), -1);
    assert_int_equal(vad_process(&v, NULL, VAD_FRAME), -1);
    assert_int_equal(vad_process(&v, pkt, 0), -1);
    assert_int_equal(vad_process(&v, pkt, 100), -1);
    assert_int_equal(vad_silence_ms(&v), 0); /* rejected calls count nothing */
    assert_int_equal(vad_process(&v, pkt, VAD_SUBFRAME), 0);
    assert_int_equal(vad_silence_ms(&v), 10);
    assert_int_equal(vad_silence_ms(NULL), 0);
    assert_false(vad_heard_voice(NULL));
    assert_int_equal(vad_trim_frames(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_low_noise_is_not_voice),
        cmocka_unit_test(test_steady_loud_noise_is_not_voice),
        cmocka_unit_test(test_speech_then_silence),
        cmocka_unit_test(test_speech_over_noise),
        cmocka_unit_test(test_zero_crossing_branch),
        cmocka_unit_test(test_short_click_is_not_voice),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
