/* Prompt decoding (formats, resampling, channel mixing, G.711 copies), name resolution and
 * sandboxing (SPEC 5.1/5.3), and the cache's asynchronous loading, sharing and clearing.
 *
 * Every file is generated with libsndfile into a fresh temporary tree:
 *   sounds/      the sounds folder (roots[0])
 *   recordings/  a second allowed root
 *   other/, soundsX/   outside every root (soundsX checks the prefix trap)
 * Waits are condition variables with a deadline; "exactly once" is checked with a fence request,
 * which the single FIFO loader can only answer after every earlier callback has returned. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "media/g711.h"
#include "media/prompt_cache.h"

#define TONE_HZ 440.0
#define WAIT_SECONDS 20

static char top[64];
static char sounds[128], recordings[128];

/* ---- fixtures: generated audio ------------------------------------------------------------- */

static void path_of(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", top, rel);
}

static void write_s16(const char *rel, int format, int rate, int channels, const int16_t *frames,
                      size_t nframes)
{
    char path[256];
    path_of(path, sizeof path, rel);
    SF_INFO info = { .samplerate = rate, .channels = channels, .format = format };
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        fail_msg("cannot write %s: %s", path, sf_strerror(NULL));
    assert_int_equal(sf_writef_short(sf, frames, (sf_count_t)nframes), (sf_count_t)nframes);
    assert_int_equal(sf_close(sf), 0);
}

/* Deterministic, non-trivial 8 kHz samples for the bit-exact checks. */
static int16_t pattern(size_t i)
{
    return (int16_t)((long)(i * 7919 % 40000) - 20000);
}

static void write_pattern(const char *rel, size_t n)
{
    int16_t *s = malloc(n * sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = pattern(i);
    write_s16(rel, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, s, n);
    free(s);
}

static void write_constant(const char *rel, size_t n, int16_t v)
{
    int16_t *s = malloc(n * sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = v;
    write_s16(rel, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, s, n);
    free(s);
}

/* A 440 Hz sine with per-channel amplitudes (fractions of full scale). */
static void write_tone(const char *rel, int format, int rate, int channels, const double *amp,
                       double seconds)
{
    size_t n = (size_t)lround(rate * seconds);
    int16_t *s = malloc(n * (size_t)channels * sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        double v = sin(2.0 * M_PI * TONE_HZ * (double)i / rate);
        for (int c = 0; c < channels; c++)
            s[i * (size_t)channels + (size_t)c] = (int16_t)lrint(v * amp[c] * 32767.0);
    }
    write_s16(rel, format, rate, channels, s, n);
    free(s);
}

static void write_text(const char *rel, const char *text)
{
    char path[256];
    path_of(path, sizeof path, rel);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void make_dir(const char *rel)
{
    char path[256];
    path_of(path, sizeof path, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static int group_setup(void **state)
{
    snprintf(top, sizeof top, "/tmp/vcs-test-prompt-XXXXXX");
    if (!mkdtemp(top))
        return -1;
    snprintf(sounds, sizeof sounds, "%s/sounds", top);
    snprintf(recordings, sizeof recordings, "%s/recordings", top);
    make_dir("sounds");
    make_dir("sounds/sub");
    make_dir("sounds/en");
    make_dir("recordings");
    make_dir("other");
    make_dir("soundsX");

    write_pattern("sounds/mono8k.wav", 8000);
    int16_t st[2 * 4000];
    for (size_t i = 0; i < 4000; i++) {
        /* Even values, so the average of the two channels is exact. */
        st[2 * i] = (int16_t)(2 * (pattern(i) / 4));
        st[2 * i + 1] = (int16_t)(2 * (pattern(i + 17) / 4));
    }
    write_s16("sounds/stereo8k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, st, 4000);

    const double lr[2] = { 0.8, 0.2 }, half[1] = { 0.5 };
    write_tone("sounds/tone16k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, lr, 1.0);
    write_tone("sounds/tone44k.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, half, 1.5);
    write_tone("sounds/tone22k.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, half, 0.5);

    write_pattern("sounds/multi.au", 100); /* sorts before multi.wav */
    write_pattern("sounds/multi.wav", 200);
    write_pattern("sounds/sub/deep.wav", 300);
    write_text("sounds/spoken.txt", "the text a prompt is rendered from\n"); /* sorts first */
    write_pattern("sounds/spoken.wav", 700);
    write_text("sounds/en/one.txt", "one\n");
    write_pattern("sounds/en/one.wav", 800);
    write_text("sounds/notaudio.wav", "this is not audio\n");
    write_pattern("recordings/rec.wav", 400);
    write_pattern("other/out.wav", 500);
    write_pattern("soundsX/x.wav", 600);

    char link[256];
    path_of(link, sizeof link, "sounds/escape.wav");
    assert_int_equal(symlink("../other/out.wav", link), 0);
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

static int group_teardown(void **state)
{
    return nftw(top, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- checks on decoded audio --------------------------------------------------------------- */

static void check_g711_copies(const struct prompt *p)
{
    uint8_t *u = malloc(p->samples + 1), *a = malloc(p->samples + 1);
    assert_non_null(u);
    assert_non_null(a);
    g711_ulaw_encode(u, p->pcm, p->samples);
    g711_alaw_encode(a, p->pcm, p->samples);
    assert_memory_equal(p->ulaw, u, p->samples);
    assert_memory_equal(p->alaw, a, p->samples);
    free(u);
    free(a);
}

static void check_pattern(const struct prompt *p, size_t n)
{
    assert_int_equal(p->samples, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p->pcm[i], pattern(i));
}

static const struct prompt *decode(const char *rel)
{
    char path[256], err[512] = "";
    path_of(path, sizeof path, rel);
    const struct prompt *p = prompt_decode_file(path, err, sizeof err);
    if (!p)
        fail_msg("%s: %s", rel, err);
    return p;
}

/* A 440 Hz tone resampled from rate: exactly the source's duration at 8 kHz (the resampler's
 * tail was flushed, nothing padded), right pitch, in phase with the source (its delay was
 * skipped), and the last milliseconds still carry the tone. */
static void check_tone(const struct prompt *p, int rate, double seconds, double amp)
{
    long frames = lround(rate * seconds);
    assert_int_equal(p->samples, (frames * 8000 + rate / 2) / rate);

    size_t crossings = 0;
    for (size_t i = 1; i < p->samples; i++)
        crossings += (p->pcm[i - 1] < 0) != (p->pcm[i] < 0);
    double expect_x = 2.0 * TONE_HZ * seconds;
    if (fabs((double)crossings - expect_x) > expect_x / 100.0)
        fail_msg("%zu zero crossings, expected about %.0f", crossings, expect_x);

    double worst = 0.0;
    for (size_t i = 200; i + 200 < p->samples; i++) {
        double ideal = amp * 32767.0 * sin(2.0 * M_PI * TONE_HZ * (double)i / 8000.0);
        worst = fmax(worst, fabs(p->pcm[i] - ideal));
    }
    if (worst > 0.02 * amp * 32767.0)
        fail_msg("middle differs from the ideal tone by up to %.0f", worst);

    double energy = 0.0;
    for (size_t i = p->samples - 40; i < p->samples; i++)
        energy += (double)p->pcm[i] * p->pcm[i];
    double rms = sqrt(energy / 40.0), ideal_rms = amp * 32767.0 / sqrt(2.0);
    if (rms < 0.5 * ideal_rms)
        fail_msg("last 5 ms rms %.0f, tone rms %.0f: tail lost", rms, ideal_rms);

    check_g711_copies(p);
}

/* ---- prompt_decode_file -------------------------------------------------------------------- */

static void test_decode_8k_mono_exact(void **state)
{
    const struct prompt *p = decode("sounds/mono8k.wav");
    check_pattern(p, 8000);
    check_g711_copies(p);
    prompt_unref(p);
}

static void test_decode_stereo_averaged(void **state)
{
    const struct prompt *p = decode("sounds/stereo8k.wav");
    assert_int_equal(p->samples, 4000);
    for (size_t i = 0; i < 4000; i++)
        assert_int_equal(p->pcm[i], pattern(i) / 4 + pattern(i + 17) / 4);
    check_g711_copies(p);
    prompt_unref(p);
}

static void test_decode_16k_stereo(void **state)
{
    const struct prompt *p = decode("sounds/tone16k.wav");
    check_tone(p, 16000, 1.0, 0.5); /* (0.8 + 0.2) / 2 */
    prompt_unref(p);
}

static void test_decode_44k(void **state)
{
    const struct prompt *p = decode("sounds/tone44k.wav");
    check_tone(p, 44100, 1.5, 0.5);
    prompt_unref(p);
}

static void test_decode_flac(void **state)
{
    const struct prompt *p = decode("sounds/tone22k.flac");
    check_tone(p, 22050, 0.5, 0.5);
    prompt_unref(p);
}

static void test_decode_errors(void **state)
{
    char path[256], err[512];
    path_of(path, sizeof path, "sounds/nothere.wav");
    assert_null(prompt_decode_file(path, err, sizeof err));
    assert_non_null(strstr(err, path));

    path_of(path, sizeof path, "sounds/notaudio.wav");
    assert_null(prompt_decode_file(path, err, sizeof err));
    assert_non_null(strstr(err, path));

    path_of(path, sizeof path, "sounds");
    assert_null(prompt_decode_file(path, err, sizeof err));
    assert_non_null(strstr(err, path));

    assert_null(prompt_decode_file(path, NULL, 0));
    assert_null(prompt_decode_file(NULL, err, sizeof err));
}

/* ---- asynchronous loading helpers ---------------------------------------------------------- */

struct result {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    const struct prompt *p;
    char err[1024];
};

static void result_init(struct result *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
}

static void result_destroy(struct result *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
}

static void on_done(void *arg, const struct prompt *p, const char *err)
{
    struct result *r = arg;
    pthread_mutex_lock(&r->mu);
    r->calls++;
    r->p = p;
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static struct timespec deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_SECONDS;
    return ts;
}

static int wait_calls(struct result *r, int n)
{
    struct timespec dl = deadline();
    pthread_mutex_lock(&r->mu);
    while (r->calls < n && pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT)
        ;
    int calls = r->calls;
    pthread_mutex_unlock(&r->mu);
    return calls;
}

/* Waits until the loader has answered everything queued so far. */
static void fence(struct prompt_cache *c)
{
    struct result f;
    result_init(&f);
    assert_int_equal(prompt_cache_load(c, "fence-does-not-exist", on_done, &f), 0);
    assert_int_equal(wait_calls(&f, 1), 1);
    result_destroy(&f);
}

/* Loads name and returns the prompt (with a reference) or NULL with err filled; checks that
 * done() ran exactly once, with either a prompt or a message. */
static const struct prompt *load(struct prompt_cache *c, const char *name, char *err, size_t len)
{
    struct result r;
    result_init(&r);
    assert_int_equal(prompt_cache_load(c, name, on_done, &r), 0);
    assert_int_equal(wait_calls(&r, 1), 1);
    fence(c);
    assert_int_equal(r.calls, 1);
    assert_true((r.p != NULL) != (r.err[0] != '\0'));
    snprintf(err, len, "%s", r.err);
    result_destroy(&r);
    return r.p;
}

static const struct prompt *load_ok(struct prompt_cache *c, const char *name)
{
    char err[1024];
    const struct prompt *p = load(c, name, err, sizeof err);
    if (!p)
        fail_msg("loading '%s': %s", name, err);
    return p;
}

static void load_fails(struct prompt_cache *c, const char *name, const char *needle)
{
    char err[1024];
    const struct prompt *p = load(c, name, err, sizeof err);
    if (p)
        fail_msg("'%s' loaded (%zu samples), expected an error", name, p->samples);
    if (!strstr(err, needle))
        fail_msg("loading '%s': error \"%s\" lacks \"%s\"", name, err, needle);
}

static int cache_setup(void **state)
{
    const char *roots[] = { sounds, recordings, NULL };
    *state = prompt_cache_create(roots);
    return *state ? 0 : -1;
}

static int cache_teardown(void **state)
{
    prompt_cache_destroy(*state);
    return 0;
}

/* ---- name resolution ----------------------------------------------------------------------- */

static void test_resolve_sounds_names(void **state)
{
    struct prompt_cache *c = *state;
    const struct prompt *p = load_ok(c, "mono8k");
    check_pattern(p, 8000);
    prompt_unref(p);

    p = load_ok(c, "mono8k.wav");
    check_pattern(p, 8000);
    prompt_unref(p);

    p = load_ok(c, "tone22k"); /* another format found without its extension */
    check_tone(p, 22050, 0.5, 0.5);
    prompt_unref(p);

    p = load_ok(c, "multi"); /* multi.au and multi.wav: the first in sorted order */
    check_pattern(p, 100);
    prompt_unref(p);

    p = load_ok(c, "sub/deep.wav");
    check_pattern(p, 300);
    prompt_unref(p);

    p = load_ok(c, "spoken"); /* spoken.txt is not audio: spoken.wav */
    check_pattern(p, 700);
    prompt_unref(p);

    p = load_ok(c, "en/one"); /* a relative path may omit the extension too */
    check_pattern(p, 800);
    prompt_unref(p);
}

static void test_resolve_absolute(void **state)
{
    struct prompt_cache *c = *state;
    char path[256];
    path_of(path, sizeof path, "sounds/sub/deep.wav");
    const struct prompt *p = load_ok(c, path);
    check_pattern(p, 300);
    prompt_unref(p);

    path_of(path, sizeof path, "recordings/rec.wav");
    p = load_ok(c, path);
    check_pattern(p, 400);
    prompt_unref(p);

    path_of(path, sizeof path, "sounds/../recordings/./rec.wav");
    p = load_ok(c, path);
    check_pattern(p, 400);
    prompt_unref(p);
}

static void test_resolve_rejects_escapes(void **state)
{
    struct prompt_cache *c = *state;
    char path[256];
    path_of(path, sizeof path, "other/out.wav");
    load_fails(c, path, "outside");
    path_of(path, sizeof path, "soundsX/x.wav");
    load_fails(c, path, "outside");
    path_of(path, sizeof path, "sounds/../other/out.wav");
    load_fails(c, path, "outside");
    load_fails(c, "../other/out.wav", "outside");
    load_fails(c, "sub/../../other/out.wav", "outside");
    load_fails(c, "../soundsX/x.wav", "outside");
    load_fails(c, "escape.wav", "outside"); /* a symlink out of the sounds folder */
    load_fails(c, "escape", "outside");
    load_fails(c, "/etc/passwd", "outside");
}

static void test_resolve_errors_name_the_prompt(void **state)
{
    struct prompt_cache *c = *state;
    char err[1024], expect[512];
    snprintf(expect, sizeof expect, "prompt 'welcom' not found in %s", sounds);
    assert_null(load(c, "welcom", err, sizeof err));
    assert_string_equal(err, expect);

    load_fails(c, "sub/missing.wav", "prompt 'sub/missing.wav' not found");
    load_fails(c, "sub", "prompt 'sub' not found"); /* a folder is not a prompt */
    load_fails(c, "notaudio", "notaudio.wav");
    load_fails(c, "notaudio", "prompt 'notaudio'");
    load_fails(c, "", "empty prompt name");
}

/* ---- cache behaviour ----------------------------------------------------------------------- */

static void test_get_after_load_hits(void **state)
{
    struct prompt_cache *c = *state;
    assert_null(prompt_cache_get(c, "mono8k"));
    const struct prompt *p = load_ok(c, "mono8k");
    const struct prompt *q = prompt_cache_get(c, "mono8k");
    assert_ptr_equal(q, p);
    assert_null(prompt_cache_get(c, "mono8k.wav")); /* cached under the name asked for */

    const struct prompt *again = load_ok(c, "mono8k"); /* answered from the cache */
    assert_ptr_equal(again, p);
    prompt_unref(again);
    prompt_unref(q);
    prompt_unref(p);
}

/* Holds the loader inside a done() callback until released, so that requests pile up. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, released;
};

static void on_gate(void *arg, const struct prompt *p, const char *err)
{
    struct gate *g = arg;
    prompt_unref(p);
    struct timespec dl = deadline();
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->released && pthread_cond_timedwait(&g->cv, &g->mu, &dl) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&g->mu);
}

static void gate_close(struct prompt_cache *c, struct gate *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    assert_int_equal(prompt_cache_load(c, "multi", on_gate, g), 0);
    struct timespec dl = deadline();
    pthread_mutex_lock(&g->mu);
    while (!g->entered && pthread_cond_timedwait(&g->cv, &g->mu, &dl) != ETIMEDOUT)
        ;
    bool entered = g->entered;
    pthread_mutex_unlock(&g->mu);
    assert_true(entered);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->released = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static void test_concurrent_loads_share(void **state)
{
    struct prompt_cache *c = *state;
    struct gate g;
    struct result a, b;
    result_init(&a);
    result_init(&b);

    gate_close(c, &g);
    assert_int_equal(prompt_cache_load(c, "tone16k", on_done, &a), 0);
    assert_int_equal(prompt_cache_load(c, "tone16k", on_done, &b), 0);
    gate_open(&g);

    assert_int_equal(wait_calls(&a, 1), 1);
    assert_int_equal(wait_calls(&b, 1), 1);
    fence(c);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_non_null(a.p);
    assert_ptr_equal(a.p, b.p);
    /* The cache's reference plus one for each waiter. */
    assert_int_equal(__atomic_load_n(&a.p->refs, __ATOMIC_RELAXED), 3);
    check_tone(a.p, 16000, 1.0, 0.5);

    prompt_unref(a.p);
    prompt_unref(b.p);
    gate_destroy(&g);
    result_destroy(&a);
    result_destroy(&b);
}

static void test_clear_keeps_referenced(void **state)
{
    struct prompt_cache *c = *state;
    write_constant("sounds/changing.wav", 100, 1000);
    const struct prompt *old = load_ok(c, "changing");
    assert_int_equal(old->samples, 100);

    prompt_cache_clear(c);
    assert_null(prompt_cache_get(c, "changing"));

    /* A reload reads the file again; the old audio is still intact for whoever holds it. */
    write_constant("sounds/changing.wav", 200, -1000);
    const struct prompt *fresh = load_ok(c, "changing");
    assert_ptr_not_equal(fresh, old);
    assert_int_equal(fresh->samples, 200);
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(fresh->pcm[i], -1000);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(old->pcm[i], 1000);
    check_g711_copies(old);

    prompt_unref(old);
    prompt_unref(fresh);
    char path[256];
    path_of(path, sizeof path, "sounds/changing.wav");
    unlink(path);
}

static void *destroy_thread(void *arg)
{
    prompt_cache_destroy(arg);
    return NULL;
}

static void test_destroy_fails_pending(void **state)
{
    const char *roots[] = { sounds, NULL };
    struct prompt_cache *c = prompt_cache_create(roots);
    assert_non_null(c);
    struct gate g;
    struct result a, b, probe;
    result_init(&a);
    result_init(&b);
    result_init(&probe);

    gate_close(c, &g);
    assert_int_equal(prompt_cache_load(c, "tone44k", on_done, &a), 0);
    assert_int_equal(prompt_cache_load(c, "mono8k", on_done, &b), 0);

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, destroy_thread, c), 0);
    /* The loader is held in on_gate, so c stays valid until the gate opens. Loads succeed until
     * destroy has marked the cache as stopping; no other signal of that exists, hence the poll. */
    int probes = 0;
    struct timespec dl = deadline();
    for (;;) {
        if (prompt_cache_load(c, "probe", on_done, &probe) != 0)
            break;
        probes++;
        struct timespec now, tick;
        clock_gettime(CLOCK_REALTIME, &now);
        assert_true(now.tv_sec < dl.tv_sec);
        tick = now;
        tick.tv_nsec += 1000000;
        if (tick.tv_nsec >= 1000000000) {
            tick.tv_sec++;
            tick.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&probe.mu);
        pthread_cond_timedwait(&probe.cv, &probe.mu, &tick);
        pthread_mutex_unlock(&probe.mu);
    }
    gate_open(&g);
    assert_int_equal(pthread_join(t, NULL), 0);

    assert_int_equal(a.calls, 1);
    assert_null(a.p);
    assert_string_equal(a.err, "shutting down");
    assert_int_equal(b.calls, 1);
    assert_null(b.p);
    assert_string_equal(b.err, "shutting down");
    assert_int_equal(probe.calls, probes);
    if (probes)
        assert_string_equal(probe.err, "shutting down");

    gate_destroy(&g);
    result_destroy(&a);
    result_destroy(&b);
    result_destroy(&probe);
}

static void test_bad_arguments(void **state)
{
    struct prompt_cache *c = *state;
    const char *no_roots[] = { NULL };
    assert_null(prompt_cache_create(no_roots));
    assert_null(prompt_cache_create(NULL));
    assert_int_equal(prompt_cache_load(c, NULL, on_done, NULL), -1);
    assert_int_equal(prompt_cache_load(c, "mono8k", NULL, NULL), -1);
    assert_null(prompt_cache_get(c, NULL));
    prompt_unref(NULL);
    prompt_cache_clear(NULL);
    prompt_cache_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_8k_mono_exact),
        cmocka_unit_test(test_decode_stereo_averaged),
        cmocka_unit_test(test_decode_16k_stereo),
        cmocka_unit_test(test_decode_44k),
        cmocka_unit_test(test_decode_flac),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test_setup_teardown(test_resolve_sounds_names, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_absolute, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_rejects_escapes, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_resolve_errors_name_the_prompt, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_get_after_load_hits, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_loads_share, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_clear_keeps_referenced, cache_setup, cache_teardown),
        cmocka_unit_test(test_destroy_fails_pending),
        cmocka_unit_test_setup_teardown(test_bad_arguments, cache_setup, cache_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
