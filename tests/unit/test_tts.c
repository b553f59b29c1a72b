/* Text to speech (SPEC 5.1 call:say): input checks, the Mandarin number rewriting, real espeak-ng
 * synthesis in English and Chinese, and the cache (hits, shared synthesis, LRU eviction that
 * never frees audio in use, shutdown answering every request).
 * espeak-ng output is not deterministic (a few samples differ from run to run), so audio is
 * checked by duration with a tolerance and by energy, never byte for byte. Every wait is a
 * condition variable with a deadline. */
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
#include <time.h>

#include <cmocka.h>

#include "media/prompt_build.h"
#include "media/tts.h"

#define WAIT_SECONDS 30

/* ---- waiting for answers ------------------------------------------------------------------ */

struct box {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int answers;
    const struct prompt *p;
    char err[256];
    /* for blocking the TTS thread inside a callback */
    bool entered, release;
};

static void box_init(struct box *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
}

static void box_destroy(struct box *b)
{
    prompt_unref(b->p);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

static struct timespec deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_SECONDS;
    return ts;
}

static void on_done(void *arg, const struct prompt *p, const char *err)
{
    struct box *b = arg;
    pthread_mutex_lock(&b->mu);
    b->answers++;
    if (p) {
        prompt_unref(b->p);
        b->p = p;
    } else {
        snprintf(b->err, sizeof b->err, "%s", err ? err : "(no message)");
    }
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Answers like on_done, then holds the TTS thread until the test releases it. */
static void on_done_block(void *arg, const struct prompt *p, const char *err)
{
    struct box *b = arg;
    on_done(arg, p, err);
    struct timespec ts = deadline();
    pthread_mutex_lock(&b->mu);
    b->entered = true;
    pthread_cond_broadcast(&b->cv);
    while (!b->release && pthread_cond_timedwait(&b->cv, &b->mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&b->mu);
}

static void wait_answers(struct box *b, int n)
{
    struct timespec ts = deadline();
    pthread_mutex_lock(&b->mu);
    while (b->answers < n && pthread_cond_timedwait(&b->cv, &b->mu, &ts) == 0)
        ;
    int got = b->answers;
    pthread_mutex_unlock(&b->mu);
    if (got < n)
        fail_msg("only %d of %d answers within %d s", got, n, WAIT_SECONDS);
}

static void wait_entered(struct box *b)
{
    struct timespec ts = deadline();
    pthread_mutex_lock(&b->mu);
    while (!b->entered && pthread_cond_timedwait(&b->cv, &b->mu, &ts) == 0)
        ;
    bool entered = b->entered;
    pthread_mutex_unlock(&b->mu);
    assert_true(entered);
}

static void release(struct box *b)
{
    pthread_mutex_lock(&b->mu);
    b->release = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static struct tts *make_tts(size_t max_entries, size_t max_bytes)
{
    struct tts_limits lim = { max_entries, max_bytes };
    char err[256] = "";
    struct tts *t = tts_create(&lim, err, sizeof err);
    if (!t)
        fail_msg("tts_create: %s", err);
    return t;
}

/* Synthesises text and returns the prompt (a reference the caller drops). */
static const struct prompt *say(struct tts *t, const char *voice, const char *text)
{
    struct box b;
    box_init(&b);
    char err[256] = "";
    if (tts_request(t, voice, text, on_done, &b, err, sizeof err) != 0)
        fail_msg("tts_request(%s, %s): %s", voice, text, err);
    wait_answers(&b, 1);
    if (!b.p)
        fail_msg("tts %s '%s': %s", voice, text, b.err);
    const struct prompt *p = b.p;
    b.p = NULL;
    box_destroy(&b);
    return p;
}

static double seconds(const struct prompt *p)
{
    return (double)p->samples / 8000.0;
}

static double rms(const struct prompt *p)
{
    double sum = 0.0;
    for (size_t i = 0; i < p->samples; i++)
        sum += (double)p->pcm[i] * p->pcm[i];
    return p->samples ? sqrt(sum / (double)p->samples) : 0.0;
}

/* ---- Mandarin numbers (pure) -------------------------------------------------------------- */

static void expect_zh(const char *in, const char *want)
{
    char *got = tts_zh_numerals(in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("tts_zh_numerals(\"%s\") = \"%s\", want \"%s\"", in, got, want);
    free(got);
}

static void test_zh_numerals(void **state)
{
    (void)state;
    expect_zh("1024", "一千零二十四");
    expect_zh("10086", "一万零八十六");
    expect_zh("2005年", "两千零五年");
    expect_zh("3.5", "三点五");
    expect_zh("3.14元", "三点一四元");
    expect_zh("0.5", "零点五");
    expect_zh("50%", "百分之五十");
    expect_zh("50％", "百分之五十");
    expect_zh("增长3.5%。", "增长百分之三点五。");
    expect_zh("-5", "负五");
    expect_zh("零下-5度", "零下负五度");
    expect_zh("-12.5%", "负百分之十二点五");
    expect_zh("A-5", "A-五");
    expect_zh("3-5天", "三-五天");
    expect_zh("12,345.67", "一万两千三百四十五点六七");
    expect_zh("1,000,000", "一百万");
    expect_zh("1,2", "一,二");
    expect_zh("12,3456", "十二,三千四百五十六");
    expect_zh("13800138000", "一三八零零一三八零零零");
    expect_zh("010", "零一零");
    expect_zh("400-800-8888", "四零零，八零零，八八八八");
    expect_zh("010-12345678", "零一零，一二三四五六七八");
    expect_zh("您的订单共3件，第10名", "您的订单共三件，第十名");
    expect_zh("尾号8899", "尾号八千八百九十九");
    expect_zh("123456789", "一亿两千三百四十五万六千七百八十九");
    expect_zh("12345678901234567890123", "一二三四五六七八九零一二三四五六七八九零一二三");
    expect_zh("no digits here", "no digits here");
    expect_zh("", "");
    assert_null(tts_zh_numerals(NULL));
}

/* ---- input checks ------------------------------------------------------------------------- */

static void expect_rejected(const char *voice, const char *text, const char *fragment)
{
    char err[256] = "";
    if (tts_check(voice, text, err, sizeof err) != -1)
        fail_msg("tts_check accepted '%.40s'", text ? text : "NULL");
    if (!strstr(err, fragment))
        fail_msg("tts_check: \"%s\" does not say \"%s\"", err, fragment);
}

static void test_check(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(tts_check("en", "Hello, world!", err, sizeof err), 0);
    assert_int_equal(tts_check("zh", "你好，世界", err, sizeof err), 0);
    assert_int_equal(tts_check(NULL, "hello", err, sizeof err), 0);
    assert_int_equal(tts_check("en", "if a < b & c > d\tthen\r\n", err, sizeof err), 0);
    assert_int_equal(tts_check("en", "x<5", err, sizeof err), 0);

    expect_rejected("fr", "bonjour", "unknown voice 'fr' (use \"en\" or \"zh\")");
    expect_rejected("cmn", "你好", "unknown voice 'cmn'");
    expect_rejected("", "hi", "unknown voice ''");
    expect_rejected("en", NULL, "no text");
    expect_rejected("en", "", "empty text");
    expect_rejected("en", "<speak>hi</speak>", "markup at byte 0");
    expect_rejected("en", "a <break time=\"1s\"/> b", "SSML is not supported");
    expect_rejected("en", "a </b>", "markup at byte 2");
    expect_rejected("en", "<!-- x -->", "markup");
    expect_rejected("en", "<?xml version?>", "markup");
    expect_rejected("en", "bell\x07", "control character 0x07 at byte 4");
    expect_rejected("en", "del\x7f", "control character 0x7f");
    expect_rejected("en", "caf\xe9", "not valid UTF-8 (byte 3)");
    expect_rejected("en", "\xc0\xaf", "not valid UTF-8");          /* overlong '/' */
    expect_rejected("zh", "\xe4\xbd", "not valid UTF-8");          /* truncated 你 */
    expect_rejected("en", "\xed\xa0\x80", "not valid UTF-8");      /* a surrogate */
    expect_rejected("en", "\xf4\x90\x80\x80", "not valid UTF-8");  /* above U+10FFFF */

    char *text = malloc(TTS_MAX_TEXT + 2);
    assert_non_null(text);
    memset(text, 'a', TTS_MAX_TEXT);
    text[TTS_MAX_TEXT] = '\0';
    assert_int_equal(tts_check("en", text, err, sizeof err), 0);
    text[TTS_MAX_TEXT] = 'a';
    text[TTS_MAX_TEXT + 1] = '\0';
    expect_rejected("en", text, "text too long: 2001 bytes, at most 2000");
    free(text);
}

/* tts_request refuses bad input at once, and then never calls done(). */
static void test_request_errors(void **state)
{
    (void)state;
    struct tts *t = make_tts(0, 0);
    struct box b;
    box_init(&b);
    char err[256] = "";
    assert_int_equal(tts_request(t, "xx", "hello", on_done, &b, err, sizeof err), -1);
    assert_string_equal(err, "unknown voice 'xx' (use \"en\" or \"zh\")");
    char *text = malloc(5000);
    assert_non_null(text);
    memset(text, 'x', 4999);
    text[4999] = '\0';
    assert_int_equal(tts_request(t, "en", text, on_done, &b, err, sizeof err), -1);
    assert_string_equal(err, "text too long: 4999 bytes, at most 2000");
    free(text);
    assert_int_equal(tts_request(t, "en", "<speak>x</speak>", on_done, &b, err, sizeof err), -1);
    assert_int_equal(tts_request(t, "en", "hello", NULL, &b, err, sizeof err), -1);
    assert_null(tts_get(t, "xx", "hello"));
    assert_null(tts_get(t, "en", NULL));

    /* A fence request: the single FIFO thread answers it only after anything queued before. */
    const struct prompt *fence = say(t, "en", "ok");
    prompt_unref(fence);
    assert_int_equal(b.answers, 0);
    tts_destroy(t);
    box_destroy(&b);
}

/* ---- synthesis ---------------------------------------------------------------------------- */

static void test_english(void **state)
{
    (void)state;
    struct tts *t = make_tts(0, 0);
    const struct prompt *p = say(t, "en", "hello world");
    /* About 0.8 s with espeak-ng 1.51; the bounds allow other versions and speeds. */
    if (seconds(p) < 0.4 || seconds(p) > 2.0)
        fail_msg("'hello world' lasts %.2f s", seconds(p));
    assert_true(rms(p) > 300.0);
    assert_non_null(p->ulaw);
    assert_non_null(p->alaw);

    /* A longer sentence takes proportionally longer. */
    const struct prompt *q = say(t, "en", "hello world, hello world, hello world");
    assert_true(seconds(q) > 2.5 * seconds(p));
    prompt_unref(q);
    prompt_unref(p);
    tts_destroy(t);
}

static void test_chinese(void **state)
{
    (void)state;
    struct tts *t = make_tts(0, 0);
    const struct prompt *p = say(t, "zh", "你好");
    if (seconds(p) < 0.25 || seconds(p) > 1.5)
        fail_msg("'你好' lasts %.2f s", seconds(p));
    assert_true(rms(p) > 300.0);

    /* Numbers are rewritten before synthesis: "1024" sounds like 一千零二十四 (six syllables),
     * not espeak's own 一千二十四 (five), so the two last the same within a few percent. */
    const struct prompt *digits = say(t, "zh", "1024");
    const struct prompt *hanzi = say(t, "zh", "一千零二十四");
    const struct prompt *wrong = say(t, "zh", "一千二十四");
    double d = seconds(digits), h = seconds(hanzi), w = seconds(wrong);
    if (d < 0.97 * h || d > 1.03 * h)
        fail_msg("'1024' lasts %.3f s, '一千零二十四' %.3f s", d, h);
    assert_true(h > 1.08 * w);
    prompt_unref(wrong);
    prompt_unref(hanzi);
    prompt_unref(digits);

    /* The same text in two voices is two entries. */
    const struct prompt *en = say(t, "en", "ni hao");
    assert_ptr_not_equal(en, p);
    prompt_unref(en);
    prompt_unref(p);
    tts_destroy(t);
}

/* ---- cache -------------------------------------------------------------------------------- */

static void test_cache_hit(void **state)
{
    (void)state;
    struct tts *t = make_tts(0, 0);
    struct tts_stats st;
    assert_null(tts_get(t, "en", "cache me"));
    tts_get_stats(t, &st);
    assert_int_equal(st.hits + st.misses, 0); /* a NULL get counts nothing */

    const struct prompt *p = say(t, "en", "cache me");
    tts_get_stats(t, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 0);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, prompt_footprint(p->samples));

    const struct prompt *again = tts_get(t, "en", "cache me");
    assert_ptr_equal(again, p);
    const struct prompt *third = say(t, "en", "cache me");
    assert_ptr_equal(third, p);
    assert_null(tts_get(t, "zh", "cache me"));
    tts_get_stats(t, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 2);
    prompt_unref(third);
    prompt_unref(again);
    prompt_unref(p);
    tts_destroy(t);
}

/* Requests for a text already queued share its synthesis. The thread is held inside a callback
 * so that both requests are queued before it looks at either. */
static void test_shared_synthesis(void **state)
{
    (void)state;
    struct tts *t = make_tts(0, 0);
    struct box hold, a, b;
    box_init(&hold);
    box_init(&a);
    box_init(&b);
    char err[256];
    assert_int_equal(tts_request(t, "en", "hold", on_done_block, &hold, err, sizeof err), 0);
    wait_entered(&hold);
    assert_int_equal(tts_request(t, "en", "shared words", on_done, &a, err, sizeof err), 0);
    assert_int_equal(tts_request(t, "en", "shared words", on_done, &b, err, sizeof err), 0);
    release(&hold);
    wait_answers(&a, 1);
    wait_answers(&b, 1);
    assert_non_null(a.p);
    assert_ptr_equal(a.p, b.p);
    struct tts_stats st;
    tts_get_stats(t, &st);
    assert_int_equal(st.misses, 2); /* "hold" and "shared words" */
    assert_int_equal(st.hits, 1);   /* the second request for "shared words" */
    tts_destroy(t);
    box_destroy(&b);
    box_destroy(&a);
    box_destroy(&hold);
}

static void test_eviction_keeps_prompt_in_use(void **state)
{
    (void)state;
    struct tts *t = make_tts(1, 0);
    const struct prompt *a = say(t, "en", "first sentence");
    size_t n = a->samples;
    double level = rms(a);
    const struct prompt *b = say(t, "en", "second sentence");
    struct tts_stats st;
    tts_get_stats(t, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.evictions, 1);
    assert_null(tts_get(t, "en", "first sentence"));
    const struct prompt *b2 = tts_get(t, "en", "second sentence");
    assert_ptr_equal(b2, b);
    prompt_unref(b2);
    /* Evicted but still referenced here: the audio is intact (ASan would catch a free). */
    assert_int_equal(a->samples, n);
    assert_true(rms(a) == level);
    prompt_unref(a);
    prompt_unref(b);
    tts_destroy(t);
}

static void test_lru_order_and_byte_limit(void **state)
{
    (void)state;
    struct tts *t = make_tts(2, 0);
    prompt_unref(say(t, "en", "alpha"));
    prompt_unref(say(t, "en", "bravo"));
    prompt_unref(tts_get(t, "en", "alpha")); /* alpha is now the most recently used */
    prompt_unref(say(t, "en", "charlie"));   /* evicts bravo */
    const struct prompt *p = tts_get(t, "en", "alpha");
    assert_non_null(p);
    prompt_unref(p);
    assert_null(tts_get(t, "en", "bravo"));
    p = tts_get(t, "en", "charlie");
    assert_non_null(p);
    prompt_unref(p);
    tts_destroy(t);

    /* A byte limit smaller than any speech: answered, never cached. */
    t = make_tts(0, 1000);
    p = say(t, "en", "too big to keep");
    assert_true(prompt_footprint(p->samples) > 1000);
    prompt_unref(p);
    struct tts_stats st;
    tts_get_stats(t, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    assert_null(tts_get(t, "en", "too big to keep"));
    tts_destroy(t);

    /* A byte limit for about one sentence: the second evicts the first. */
    t = make_tts(0, 0);
    p = say(t, "en", "one two three");
    size_t one = prompt_footprint(p->samples);
    prompt_unref(p);
    tts_destroy(t);
    t = make_tts(0, one + one / 2);
    prompt_unref(say(t, "en", "one two three"));
    prompt_unref(say(t, "en", "four five six"));
    tts_get_stats(t, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.evictions, 1);
    assert_true(st.bytes <= one + one / 2);
    tts_destroy(t);
}

/* Destroying with requests queued answers each exactly once: with audio or "shutting down". */
static void test_destroy_answers_everything(void **state)
{
    (void)state;
    struct tts *t = make_tts(0, 0);
    struct box hold, rest;
    box_init(&hold);
    box_init(&rest);
    char err[256];
    assert_int_equal(tts_request(t, "en", "hold on", on_done_block, &hold, err, sizeof err), 0);
    wait_entered(&hold);
    static const char *const texts[] = { "one", "two", "three", "two" };
    for (int i = 0; i < 4; i++)
        assert_int_equal(tts_request(t, "en", texts[i], on_done, &rest, err, sizeof err), 0);
    release(&hold);
    tts_destroy(t);
    assert_int_equal(hold.answers, 1);
    assert_int_equal(rest.answers, 4);
    box_destroy(&rest);
    box_destroy(&hold);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zh_numerals),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_english),
        cmocka_unit_test(test_chinese),
        cmocka_unit_test(test_cache_hit),
        cmocka_unit_test(test_shared_synthesis),
        cmocka_unit_test(test_eviction_keeps_prompt_in_use),
        cmocka_unit_test(test_lru_order_and_byte_limit),
        cmocka_unit_test(test_destroy_answers_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
