/* Answering-machine detection: each rule of amd.h on synthesized audio (fixed-seed noise under
 * tone bursts standing for words), then the recordings of tests/data/amd/ (espeak-ng voices
 * with line noise, made by make.sh there): the voicemail greeting is a machine, "Hello?" a
 * person. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sndfile.h>

#include "media/amd.h"

#define MS(ms) ((size_t)(ms) * 8)
#define MAX_SAMPLES MS(20000)

static int16_t audio[MAX_SAMPLES];
static size_t audio_len;
static uint32_t lcg;

static void reset(void)
{
    audio_len = 0;
    lcg = 12345;
}

/* ms of noise at about -50 dBFS, with a 600 Hz tone at -12 dBFS when voiced. */
static void add(unsigned ms, int voiced)
{
    for (size_t i = 0; i < MS(ms) && audio_len < MAX_SAMPLES; i++, audio_len++) {
        lcg = lcg * 1664525u + 1013904223u;
        double v = ((double)(lcg >> 8) / (1u << 23) - 1.0) * 180.0;
        if (voiced)
            v += 8000.0 * sin(2.0 * 3.14159265358979 * 600.0 * (double)audio_len / 8000.0);
        audio[audio_len] = (int16_t)lrint(v);
    }
}

/* Feeds the audio in 20 ms packets, as the engine does, and pads with noise until decided. */
static enum amd_result run(struct amd *a, const struct amd_params *p)
{
    amd_init(a, p);
    add(20000 - (unsigned)(audio_len / 8) , 0);
    enum amd_result r = AMD_PENDING;
    for (size_t off = 0; off + 160 <= audio_len && r == AMD_PENDING; off += 160)
        r = amd_feed(a, audio + off, 160);
    return r;
}

static enum amd_result run_default(struct amd *a)
{
    struct amd_params p;
    amd_params_default(&p);
    return run(a, &p);
}

static void test_short_hello_is_human(void **state)
{
    (void)state;
    struct amd a;
    reset();
    add(500, 0);
    add(400, 1);
    assert_int_equal(run_default(&a), AMD_HUMAN);
    assert_string_equal(a.m.cause, "after_greeting_silence");
    assert_int_equal(a.m.words, 1);
    assert_in_range(a.m.initial_silence_ms, 480, 560);
    assert_in_range(a.m.greeting_ms, 380, 420);
    assert_int_equal(a.m.after_greeting_silence_ms, 800);
}

static void test_long_silence_is_machine(void **state)
{
    (void)state;
    struct amd a;
    reset();
    assert_int_equal(run_default(&a), AMD_MACHINE);
    assert_string_equal(a.m.cause, "initial_silence");
    assert_int_equal(a.m.initial_silence_ms, 2500);
    assert_int_equal(a.m.words, 0);
}

static void test_long_greeting_is_machine(void **state)
{
    (void)state;
    struct amd a;
    reset();
    add(300, 0);
    for (int i = 0; i < 3; i++) { /* three long words with short pauses: 1800 ms of voice */
        add(600, 1);
        add(200, 0);
    }
    assert_int_equal(run_default(&a), AMD_MACHINE);
    assert_string_equal(a.m.cause, "long_greeting");
    assert_int_equal(a.m.voice_ms, 1500);
}

static void test_many_words_is_machine(void **state)
{
    (void)state;
    struct amd a;
    reset();
    add(300, 0);
    for (int i = 0; i < 6; i++) { /* 150 ms words: 4 words are only 600 ms of voice */
        add(150, 1);
        add(150, 0);
    }
    assert_int_equal(run_default(&a), AMD_MACHINE);
    assert_string_equal(a.m.cause, "max_words");
    assert_int_equal(a.m.words, 4);
}

static void test_one_endless_word_is_machine(void **state)
{
    (void)state;
    struct amd_params p;
    amd_params_default(&p);
    p.greeting_ms = 10000;
    p.total_analysis_ms = 10000;
    p.max_word_ms = 2000;
    struct amd a;
    reset();
    add(200, 0);
    add(4000, 1);
    assert_int_equal(run(&a, &p), AMD_MACHINE);
    assert_string_equal(a.m.cause, "max_word_length");
}

static void test_undecided_is_unknown(void **state)
{
    (void)state;
    struct amd_params p;
    amd_params_default(&p);
    p.total_analysis_ms = 1000;
    struct amd a;
    reset();
    add(200, 0);
    add(300, 1); /* a word, then not yet enough silence when the time is up */
    add(200, 0);
    assert_int_equal(run(&a, &p), AMD_UNKNOWN);
    assert_string_equal(a.m.cause, "too_long");
    assert_int_equal(a.m.total_ms, 1000);
    /* Audio after the decision changes nothing. */
    int16_t more[160] = { 0 };
    assert_int_equal(amd_feed(&a, more, 160), AMD_UNKNOWN);
    assert_int_equal(a.m.total_ms, 1000);
}

static void test_params_check(void **state)
{
    (void)state;
    struct amd_params p;
    char err[128];
    amd_params_default(&p);
    assert_int_equal(amd_params_check(&p, err, sizeof err), 0);
    p.greeting_ms = 0;
    assert_int_equal(amd_params_check(&p, err, sizeof err), -1);
    assert_non_null(strstr(err, "greeting"));
    amd_params_default(&p);
    p.max_words = 1000;
    assert_int_equal(amd_params_check(&p, err, sizeof err), -1);
    assert_non_null(strstr(err, "max_words"));
    struct amd a;
    amd_params_default(&p);
    amd_init(&a, &p);
    int16_t x[100] = { 0 };
    assert_int_equal(amd_feed(&a, x, 100), AMD_PENDING); /* not a multiple of 10 ms */
    assert_int_equal(a.m.total_ms, 0);
}

static void load(const char *name)
{
    const char *top = getenv("VCS_TOP_SRCDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/tests/data/amd/%s", top ? top : ".", name);
    SF_INFO info = { 0 };
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        fail_msg("cannot open %s: %s", path, sf_strerror(NULL));
    assert_int_equal(info.samplerate, 8000);
    assert_int_equal(info.channels, 1);
    reset();
    audio_len = (size_t)sf_read_short(f, audio, MAX_SAMPLES);
    sf_close(f);
    assert_true(audio_len > MS(1000));
}

static void test_recorded_voicemail_is_machine(void **state)
{
    (void)state;
    struct amd a;
    load("machine.wav");
    assert_int_equal(run_default(&a), AMD_MACHINE);
    print_message("machine.wav: %s, initial silence %u ms, greeting %u ms, voice %u ms, %u words\n",
                  a.m.cause, a.m.initial_silence_ms, a.m.greeting_ms, a.m.voice_ms, a.m.words);
}

static void test_recorded_hello_is_human(void **state)
{
    (void)state;
    struct amd a;
    load("human.wav");
    assert_int_equal(run_default(&a), AMD_HUMAN);
    print_message("human.wav: %s, initial silence %u ms, greeting %u ms, voice %u ms, %u words\n",
                  a.m.cause, a.m.initial_silence_ms, a.m.greeting_ms, a.m.voice_ms, a.m.words);
    assert_in_range(a.m.initial_silence_ms, 500, 800);
    assert_int_equal(a.m.words, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_hello_is_human),
        cmocka_unit_test(test_long_silence_is_machine),
        cmocka_unit_test(test_long_greeting_is_machine),
        cmocka_unit_test(test_many_words_is_machine),
        cmocka_unit_test(test_one_endless_word_is_machine),
        cmocka_unit_test(test_undecided_is_unknown),
        cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_recorded_voicemail_is_machine),
        cmocka_unit_test(test_recorded_hello_is_human),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
