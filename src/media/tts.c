/* TTS: a cache (hash table + LRU list under one mutex) in front of one synthesis thread.
 *
 * Requests are queued once per voice + text: later requests for a text already pending join its
 * waiters, so a burst of calls saying the same new sentence costs one synthesis. The thread
 * answers from the cache when it can, else synthesises outside the cache lock (tts_get on a
 * media thread never waits for espeak), caches, and calls every waiter's done() with its own
 * reference, outside the lock so that callbacks may use the tts again. */
#include "media/tts.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <espeak-ng/speak_lib.h>
#include <speex/speex_resampler.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread_class.h"
#include "media/prompt_build.h"
#include "media/say.h"

#define OUT_RATE 8000
#define RESAMPLE_QUALITY 3  /* notes 1.2: enough for G.711, half the cost of 5 */
/* TTS_MAX_TEXT bytes take a few minutes to say; anything longer is a runaway, not speech. */
#define MAX_SPEECH_SECONDS 600
#define MAX_BUCKETS ((size_t)1 << 16)

static const struct {
    const char *name, *espeak;
} voices[] = {
    { "en", "en-us" },
    { "zh", "cmn-latn-pinyin" },
};
enum { VOICE_EN = 0, VOICE_ZH = 1 };
#define NVOICES ((int)(sizeof voices / sizeof voices[0]))


static int voice_index(const char *voice)
{
    if (!voice)
        return VOICE_EN;
    for (int i = 0; i < NVOICES; i++) {
        if (strcmp(voice, voices[i].name) == 0)
            return i;
    }
    return -1;
}

/* ---- input checks ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0: no overlongs, surrogates or > U+10FFFF. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min_second = 0x80, max_second = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            min_second = 0xA0;
        else if (c == 0xED)
            max_second = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            min_second = 0x90;
        else if (c == 0xF4)
            max_second = 0x8F;
    } else {
        return 0;
    }
    if (s[1] < min_second || s[1] > max_second)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    return n;
}

static bool is_ascii_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int tts_check(const char *voice, const char *text, char *err, size_t errlen)
{
    if (voice_index(voice) < 0) {
        set_err(err, errlen, "unknown voice '%.32s' (use \"en\" or \"zh\")", voice);
        return -1;
    }
    if (!text) {
        set_err(err, errlen, "no text to say");
        return -1;
    }
    size_t len = strlen(text);
    if (len == 0) {
        set_err(err, errlen, "empty text");
        return -1;
    }
    if (len > TTS_MAX_TEXT) {
        set_err(err, errlen, "text too long: %zu bytes, at most %d", len, TTS_MAX_TEXT);
        return -1;
    }
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
            set_err(err, errlen, "text contains control character 0x%02x at byte %zu", c, i);
            return -1;
        }
        if (c == '<' && (is_ascii_alpha(s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!' ||
                         s[i + 1] == '?')) {
            set_err(err, errlen, "text contains markup at byte %zu ('%.12s'): plain text only, "
                    "SSML is not supported", i, text + i);
            return -1;
        }
        size_t n = utf8_len(s + i);
        if (n == 0) {
            set_err(err, errlen, "text is not valid UTF-8 (byte %zu)", i);
            return -1;
        }
        i += n;
    }
    return 0;
}

/* ---- Mandarin numbers --------------------------------------------------------------------- */

struct sbuf {
    char *s;
    size_t n, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->n < n)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static const char *const hanzi_digit[10] = {
    "零", "一", "二", "三", "四", "五", "六", "七", "八", "九",
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static size_t digit_run(const char *s)
{
    size_t n = 0;
    while (is_digit(s[n]))
        n++;
    return n;
}

static void say_each_digit(struct sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_str(b, hanzi_digit[s[i] - '0']);
}

/* Digit groups of 3 or more joined by '-' (400-800-8888): their total length, or 0. */
static size_t dashed_digits(const char *s)
{
    size_t pos = 0, groups = 0;
    for (;;) {
        size_t g = digit_run(s + pos);
        if (g < 3)
            return 0;
        pos += g;
        groups++;
        if (s[pos] != '-' || !is_digit(s[pos + 1]))
            break;
        pos++;
    }
    return groups >= 2 ? pos : 0;
}

/* Converts the number starting at s (a digit, or '-' before one); returns the bytes consumed. */
static size_t convert_number(struct sbuf *b, const char *s)
{
    size_t i = 0;
    bool neg = s[0] == '-';
    if (neg)
        i++;
    size_t run = digit_run(s + i);

    size_t dashed = neg ? 0 : dashed_digits(s);
    if (dashed) {
        for (size_t k = 0; k < dashed; k++) {
            if (s[k] == '-')
                sb_str(b, "，");
            else
                sb_str(b, hanzi_digit[s[k] - '0']);
        }
        return dashed;
    }
    if (run >= 10 || (s[i] == '0' && run > 1)) {
        if (neg)
            sb_str(b, "-");
        say_each_digit(b, s + i, run);
        return i + run;
    }

    long long v = 0;
    for (size_t k = 0; k < run; k++)
        v = v * 10 + (s[i + k] - '0');
    i += run;
    /* Thousands separators; at most 18 digits in all, so v stays a long long. */
    if (run <= 3) {
        while (v < 1000000000000000LL && s[i] == ',' && digit_run(s + i + 1) == 3) {
            for (size_t k = 1; k <= 3; k++)
                v = v * 10 + (s[i + k] - '0');
            i += 4;
        }
    }
    size_t frac = 0, frac_at = 0;
    if (s[i] == '.' && is_digit(s[i + 1])) {
        frac_at = i + 1;
        frac = digit_run(s + frac_at);
        i = frac_at + frac;
    }
    size_t percent = 0;
    if (s[i] == '%')
        percent = 1;
    else if (strncmp(s + i, "％", strlen("％")) == 0)
        percent = strlen("％");

    if (neg)
        sb_str(b, "负");
    if (percent)
        sb_str(b, "百分之");
    char hanzi[128];
    if (say_hanzi(v, hanzi, sizeof hanzi) < 0) {
        b->oom = true; /* cannot happen: 128 bytes hold any long long */
        return i;
    }
    sb_str(b, hanzi);
    if (frac) {
        sb_str(b, "点");
        say_each_digit(b, s + frac_at, frac);
    }
    return i + percent;
}

char *tts_zh_numerals(const char *text)
{
    if (!text)
        return NULL;
    struct sbuf b = { 0 };
    size_t i = 0;
    while (text[i]) {
        char c = text[i];
        bool sign = c == '-' && is_digit(text[i + 1]) &&
                    (i == 0 || !(is_digit(text[i - 1]) || is_ascii_alpha((unsigned char)text[i - 1])));
        if (is_digit(c) || sign) {
            i += convert_number(&b, text + i);
        } else {
            sb_add(&b, &c, 1);
            i++;
        }
    }
    sb_add(&b, "", 1);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- espeak-ng (process-wide, one caller at a time) --------------------------------------- */

static pthread_mutex_t espeak_mu = PTHREAD_MUTEX_INITIALIZER;
static int espeak_rate;       /* 0: not started; > 0: output rate; < 0: failed to start */
static int espeak_voice = -1; /* voices[] index loaded, -1 none */

struct speech {
    int16_t *s;
    size_t n, cap, max;
    bool too_long, oom;
};

/* espeak's synth callback: appends the samples; returning 1 stops the synthesis. */
static int on_samples(short *wav, int n, espeak_EVENT *ev)
{
    struct speech *sp = ev ? ev->user_data : NULL;
    if (!sp)
        return 1;
    if (!wav || n <= 0)
        return 0;
    size_t k = (size_t)n;
    if (sp->n + k > sp->max) {
        sp->too_long = true;
        return 1;
    }
    if (sp->cap - sp->n < k) {
        size_t cap = sp->cap ? sp->cap : 16384;
        while (cap - sp->n < k)
            cap *= 2;
        int16_t *p = realloc(sp->s, cap * sizeof *p);
        if (!p) {
            sp->oom = true;
            return 1;
        }
        sp->s = p;
        sp->cap = cap;
    }
    memcpy(sp->s + sp->n, wav, k * sizeof *wav);
    sp->n += k;
    return 0;
}

static int espeak_start(char *err, size_t errlen)
{
    pthread_mutex_lock(&espeak_mu);
    if (espeak_rate == 0) {
        /* DONT_EXIT: without it a missing espeak-ng-data makes the library call exit(). */
        int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL,
                                     espeakINITIALIZE_DONT_EXIT);
        espeak_rate = rate > 0 ? rate : -1;
        if (rate > 0)
            espeak_SetSynthCallback(on_samples);
    }
    int rate = espeak_rate;
    pthread_mutex_unlock(&espeak_mu);
    if (rate < 0) {
        set_err(err, errlen, "cannot start espeak-ng (is espeak-ng-data installed?)");
        return -1;
    }
    return 0;
}

/* Synthesises text at espeak's rate into sp; 0, or -1 with err filled. */
static int synthesize(int voice, const char *text, struct speech *sp, int *rate, char *err,
                      size_t errlen)
{
    pthread_mutex_lock(&espeak_mu);
    *rate = espeak_rate;
    sp->max = (size_t)espeak_rate * MAX_SPEECH_SECONDS;
    espeak_ERROR rc = EE_OK;
    if (espeak_voice != voice) {
        rc = espeak_SetVoiceByName(voices[voice].espeak);
        /* On failure espeak keeps the old voice, which would read the text in another language. */
        espeak_voice = rc == EE_OK ? voice : -1;
    }
    bool voice_ok = rc == EE_OK;
    if (voice_ok)
        rc = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, sp);
    pthread_mutex_unlock(&espeak_mu);

    if (!voice_ok) {
        set_err(err, errlen, "espeak-ng voice '%s' is not available (error %d)",
                voices[voice].espeak, (int)rc);
        return -1;
    }
    if (rc != EE_OK) {
        set_err(err, errlen, "espeak-ng synthesis failed (error %d)", (int)rc);
        return -1;
    }
    if (sp->oom) {
        set_err(err, errlen, "out of memory during synthesis");
        return -1;
    }
    if (sp->too_long) {
        set_err(err, errlen, "speech longer than %d s", MAX_SPEECH_SECONDS);
        return -1;
    }
    return 0;
}

/* Resamples n samples at rate to 8 kHz, trimmed to the exact resampled length (the filter's
 * delay skipped at the start, its tail flushed out with silence at the end). */
static int16_t *resample(const int16_t *in, size_t n, int rate, size_t *out_n, char *err,
                         size_t errlen)
{
    size_t want = (size_t)(((uint64_t)n * OUT_RATE + (uint64_t)rate / 2) / (uint64_t)rate);
    size_t cap = want + 256;
    int16_t *out = malloc(cap * sizeof *out);
    int rerr = 0;
    SpeexResamplerState *rs = out ? speex_resampler_init(1, (spx_uint32_t)rate, OUT_RATE,
                                                         RESAMPLE_QUALITY, &rerr) : NULL;
    if (!rs) {
        set_err(err, errlen, "cannot resample %d Hz to %d Hz: %s", rate, OUT_RATE,
                out ? speex_resampler_strerror(rerr) : "out of memory");
        free(out);
        return NULL;
    }
    speex_resampler_skip_zeros(rs);

    size_t done = 0;
    while (n > 0 && done < cap) {
        spx_uint32_t in_len = n > UINT32_MAX ? UINT32_MAX : (spx_uint32_t)n;
        spx_uint32_t out_len = (spx_uint32_t)(cap - done);
        speex_resampler_process_int(rs, 0, in, &in_len, out + done, &out_len);
        if (in_len == 0 && out_len == 0)
            break;
        in += in_len;
        n -= in_len;
        done += out_len;
    }
    /* Silence pushes out the last input samples the filter still holds. */
    static const int16_t zeros[1024];
    size_t latency = (size_t)speex_resampler_get_input_latency(rs) + 1;
    while (latency > 0 && done < want) {
        spx_uint32_t in_len = (spx_uint32_t)(latency < 1024 ? latency : 1024);
        spx_uint32_t out_len = (spx_uint32_t)(cap - done);
        speex_resampler_process_int(rs, 0, zeros, &in_len, out + done, &out_len);
        if (in_len == 0 && out_len == 0)
            break;
        latency -= in_len;
        done += out_len;
    }
    speex_resampler_destroy(rs);
    *out_n = done < want ? done : want;
    return out;
}

/* ---- cache -------------------------------------------------------------------------------- */

struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* LRU list, most recently used first */
    const struct prompt *p;    /* the cache's own reference */
    size_t bytes;
    uint64_t hash;
    int voice;
    char text[];
};

struct waiter {
    struct waiter *next;
    tts_done_fn *done;
    void *arg;
};

struct request {
    struct qnode node;
    struct request *next_pending;
    struct waiter *waiters, **waiters_tail;
    unsigned nwaiters;
    uint64_t hash;
    int voice;
    char text[];
};

struct tts {
    pthread_t thread;
    struct mpsc_queue queue;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t wake_cv;
    bool wake, stopping;
    struct request *pending; /* queued or being synthesised, so repeats can join them */
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    struct entry *lru_head, *lru_tail;
    size_t max_entries, max_bytes;
    struct tts_stats stats;
};

static uint64_t hash_key(int voice, const char *text)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)voice; /* FNV-1a */
    for (const char *s = text; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static struct entry **chain_of(struct tts *t, uint64_t hash)
{
    return &t->buckets[hash & (t->nbuckets - 1)];
}

static struct entry *lookup(struct tts *t, int voice, uint64_t hash, const char *text)
{
    for (struct entry *e = *chain_of(t, hash); e; e = e->hnext) {
        if (e->hash == hash && e->voice == voice && strcmp(e->text, text) == 0)
            return e;
    }
    return NULL;
}

static void lru_unlink(struct tts *t, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        t->lru_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        t->lru_tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(struct tts *t, struct entry *e)
{
    e->prev = NULL;
    e->next = t->lru_head;
    if (t->lru_head)
        t->lru_head->prev = e;
    else
        t->lru_tail = e;
    t->lru_head = e;
}

static void entry_drop(struct tts *t, struct entry *e)
{
    struct entry **link = chain_of(t, e->hash);
    while (*link != e)
        link = &(*link)->hnext;
    *link = e->hnext;
    lru_unlink(t, e);
    t->stats.entries--;
    t->stats.bytes -= e->bytes;
    prompt_unref(e->p); /* frees the audio only if no call holds it */
    free(e);
}

/* Caches p (the table takes its own reference), evicting the least recently used first. */
static void cache_put(struct tts *t, int voice, uint64_t hash, const char *text,
                      const struct prompt *p)
{
    size_t bytes = prompt_footprint(p->samples);
    if (bytes > t->max_bytes)
        return;
    while (t->lru_tail && (t->stats.entries >= t->max_entries ||
                           t->stats.bytes + bytes > t->max_bytes)) {
        entry_drop(t, t->lru_tail);
        t->stats.evictions++;
    }
    size_t len = strlen(text);
    struct entry *e = malloc(sizeof *e + len + 1);
    if (!e) {
        log_warn("tts: out of memory, speech not cached");
        return;
    }
    memcpy(e->text, text, len + 1);
    e->hash = hash;
    e->voice = voice;
    e->bytes = bytes;
    prompt_ref(p);
    e->p = p;
    struct entry **chain = chain_of(t, hash);
    e->hnext = *chain;
    *chain = e;
    lru_push_front(t, e);
    t->stats.entries++;
    t->stats.bytes += bytes;
}

static struct request *pending_find(struct tts *t, int voice, uint64_t hash, const char *text)
{
    struct request *r = t->pending;
    while (r && !(r->hash == hash && r->voice == voice && strcmp(r->text, text) == 0))
        r = r->next_pending;
    return r;
}

static void pending_remove(struct tts *t, struct request *r)
{
    struct request **link = &t->pending;
    while (*link && *link != r)
        link = &(*link)->next_pending;
    if (*link)
        *link = r->next_pending;
}

/* ---- synthesis thread --------------------------------------------------------------------- */

/* Text to a prompt with one reference, or NULL with err filled. */
static const struct prompt *make_speech(int voice, const char *text, char *err, size_t errlen)
{
    char *rewritten = NULL;
    if (voice == VOICE_ZH) {
        rewritten = tts_zh_numerals(text);
        if (!rewritten) {
            set_err(err, errlen, "out of memory");
            return NULL;
        }
        text = rewritten;
    }
    struct speech sp = { 0 };
    int rate = 0;
    const struct prompt *p = NULL;
    if (synthesize(voice, text, &sp, &rate, err, errlen) == 0) {
        size_t n = 0;
        int16_t *pcm = resample(sp.s, sp.n, rate, &n, err, errlen);
        if (pcm) {
            p = prompt_from_pcm(pcm, n);
            if (!p)
                set_err(err, errlen, "out of memory");
            free(pcm);
        }
    }
    free(sp.s);
    free(rewritten);
    return p;
}

/* Answers one request: from the cache, by synthesis, or with "shutting down". */
static void serve(struct tts *t, struct request *r)
{
    char err[256] = "";
    const struct prompt *p = NULL; /* our working reference */

    pthread_mutex_lock(&t->mu);
    bool stopping = t->stopping;
    if (!stopping) {
        struct entry *e = lookup(t, r->voice, r->hash, r->text);
        if (e) {
            p = e->p;
            prompt_ref(p);
            lru_unlink(t, e);
            lru_push_front(t, e);
        }
    }
    pthread_mutex_unlock(&t->mu);

    bool synthesized = false;
    if (stopping) {
        snprintf(err, sizeof err, "shutting down");
    } else if (!p) {
        p = make_speech(r->voice, r->text, err, sizeof err);
        synthesized = true;
        if (p)
            log_debug("tts %s: %zu samples for '%.40s'", voices[r->voice].name, p->samples,
                      r->text);
        else
            log_warn("tts %s: '%.40s': %s", voices[r->voice].name, r->text, err);
    }

    pthread_mutex_lock(&t->mu);
    pending_remove(t, r);
    if (synthesized) {
        t->stats.misses++;
        if (p)
            cache_put(t, r->voice, r->hash, r->text, p);
        else
            t->stats.failures++;
    }
    if (p)
        t->stats.hits += r->nwaiters - (synthesized ? 1 : 0);
    struct waiter *w = r->waiters;
    for (struct waiter *i = w; i && p; i = i->next)
        prompt_ref(p);
    pthread_mutex_unlock(&t->mu);

    while (w) {
        struct waiter *next = w->next;
        w->done(w->arg, p, p ? NULL : err);
        free(w);
        w = next;
    }
    prompt_unref(p);
    free(r);
}

static void *tts_main(void *arg)
{
    struct tts *t = arg;
    thread_class_background("tts");
    for (;;) {
        pthread_mutex_lock(&t->mu);
        while (!t->wake && !t->stopping)
            pthread_cond_wait(&t->wake_cv, &t->mu);
        t->wake = false;
        bool stop = t->stopping;
        pthread_mutex_unlock(&t->mu);

        /* Once stopping is seen nothing more can be queued, so this batch is the last. */
        struct qnode *n = queue_take_all(&t->queue);
        while (n) {
            struct qnode *next = n->next;
            serve(t, container_of(n, struct request, node));
            n = next;
        }
        if (stop)
            return NULL;
    }
}

/* ---- public API --------------------------------------------------------------------------- */

struct tts *tts_create(const struct tts_limits *limits, char *err, size_t errlen)
{
    if (espeak_start(err, errlen) < 0)
        return NULL;
    struct tts *t = calloc(1, sizeof *t);
    if (!t) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    t->max_entries = limits && limits->max_entries ? limits->max_entries
                                                   : TTS_DEFAULT_MAX_ENTRIES;
    t->max_bytes = limits && limits->max_bytes ? limits->max_bytes : TTS_DEFAULT_MAX_BYTES;
    t->nbuckets = 16;
    while (t->nbuckets < t->max_entries && t->nbuckets < MAX_BUCKETS)
        t->nbuckets *= 2;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        set_err(err, errlen, "out of memory");
        free(t);
        return NULL;
    }
    queue_init(&t->queue);
    thread_class_mutex_init(&t->mu);
    pthread_cond_init(&t->wake_cv, NULL);
    int rc = pthread_create(&t->thread, NULL, tts_main, t);
    if (rc != 0) {
        set_err(err, errlen, "cannot start the TTS thread: %s", strerror(rc));
        pthread_cond_destroy(&t->wake_cv);
        pthread_mutex_destroy(&t->mu);
        queue_destroy(&t->queue);
        free(t->buckets);
        free(t);
        return NULL;
    }
    pthread_setname_np(t->thread, "vcs-tts");
    return t;
}

void tts_destroy(struct tts *t)
{
    if (!t)
        return;
    if (pthread_equal(pthread_self(), t->thread)) {
        /* From a done() callback: joining ourselves would deadlock, freeing would crash. */
        log_error("tts: destroy called from the TTS thread, ignored");
        return;
    }
    pthread_mutex_lock(&t->mu);
    t->stopping = true;
    pthread_cond_signal(&t->wake_cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);

    while (t->lru_head)
        entry_drop(t, t->lru_head);
    free(t->buckets);
    pthread_cond_destroy(&t->wake_cv);
    pthread_mutex_destroy(&t->mu);
    queue_destroy(&t->queue);
    free(t);
}

const struct prompt *tts_get(struct tts *t, const char *voice, const char *text)
{
    int v = voice_index(voice);
    if (!t || v < 0 || !text)
        return NULL;
    uint64_t hash = hash_key(v, text);
    pthread_mutex_lock(&t->mu);
    struct entry *e = lookup(t, v, hash, text);
    const struct prompt *p = NULL;
    if (e) {
        p = e->p;
        prompt_ref(p);
        lru_unlink(t, e);
        lru_push_front(t, e);
        t->stats.hits++;
    }
    pthread_mutex_unlock(&t->mu);
    return p;
}

int tts_request(struct tts *t, const char *voice, const char *text, tts_done_fn *done, void *arg,
                char *err, size_t errlen)
{
    if (!t || !done) {
        set_err(err, errlen, "no TTS engine or callback");
        return -1;
    }
    if (tts_check(voice, text, err, errlen) < 0)
        return -1;
    int v = voice_index(voice);
    uint64_t hash = hash_key(v, text);
    size_t len = strlen(text);
    struct waiter *w = malloc(sizeof *w);
    struct request *fresh = malloc(sizeof *fresh + len + 1);
    if (!w || !fresh) {
        set_err(err, errlen, "out of memory");
        free(w);
        free(fresh);
        return -1;
    }
    w->next = NULL;
    w->done = done;
    w->arg = arg;

    pthread_mutex_lock(&t->mu);
    if (t->stopping) {
        pthread_mutex_unlock(&t->mu);
        set_err(err, errlen, "shutting down");
        free(w);
        free(fresh);
        return -1;
    }
    struct request *r = pending_find(t, v, hash, text);
    if (!r) {
        r = fresh;
        fresh = NULL;
        memcpy(r->text, text, len + 1);
        r->hash = hash;
        r->voice = v;
        r->nwaiters = 0;
        r->waiters = NULL;
        r->waiters_tail = &r->waiters;
        r->next_pending = t->pending;
        t->pending = r;
        /* Pushed under mu so the thread's "stopping seen, take the last batch" holds. */
        if (queue_push(&t->queue, &r->node)) {
            t->wake = true;
            pthread_cond_signal(&t->wake_cv);
        }
    }
    *r->waiters_tail = w;
    r->waiters_tail = &w->next;
    r->nwaiters++;
    pthread_mutex_unlock(&t->mu);
    free(fresh);
    return 0;
}

void tts_get_stats(struct tts *t, struct tts_stats *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->stats;
    pthread_mutex_unlock(&t->mu);
}
