/* Prompt cache: a name -> prompt hash table under one mutex, filled by a single loader thread.
 *
 * A load request is queued once per name: later requests for a name already pending join its
 * list of waiters, so a burst of calls asking for the same new prompt costs one decode. The
 * loader resolves the name (SPEC 5.1), decodes, caches, and calls every waiter's done() with
 * its own reference, outside the lock so that callbacks may use the cache again.
 *
 * prompt_cache_clear() bumps a generation counter and forgets pending names, so a decode that
 * was already running when a reload cleared the cache still answers its waiters but is not
 * cached, and later requests read the (possibly changed) file again. */
#include "media/prompt_cache.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sndfile.h>
#include <speex/speex_resampler.h>

#include "core/errmsg.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread_class.h"
#include "media/g711.h"

#define PROMPT_RATE 8000
#define RESAMPLE_QUALITY 5   /* notes 5: what VoIP software uses; prompts are converted once */
#define READ_FRAMES 4096
/* Outside this, a header is more likely corrupt than real, and resampling could explode memory. */
#define MIN_RATE 1000
#define MAX_RATE 768000


/* ---- prompts ------------------------------------------------------------------------------ */

void prompt_ref(const struct prompt *p)
{
    /* refs is the only field that changes after decoding; the rest is read-only shared data. */
    __atomic_fetch_add(&((struct prompt *)p)->refs, 1, __ATOMIC_RELAXED);
}

void prompt_unref(const struct prompt *p)
{
    if (p && __atomic_sub_fetch(&((struct prompt *)p)->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free((void *)p);
}

/* The prompt being built: header and PCM share one block, so that after a final realloc the
 * whole prompt (header, PCM, mu-law, A-law) is one allocation freed by one free(). */
struct pcm_buf {
    struct prompt *p;
    size_t n, cap;
};

static int16_t *buf_pcm(struct pcm_buf *b)
{
    return (int16_t *)(void *)(b->p + 1);
}

static bool buf_reserve(struct pcm_buf *b, size_t more)
{
    if (b->p && b->cap - b->n >= more)
        return true;
    size_t cap = b->cap ? b->cap : PROMPT_RATE;
    while (cap - b->n < more) {
        if (cap > SIZE_MAX / 8) /* the final block needs 4 bytes per sample */
            return false;
        cap *= 2;
    }
    struct prompt *p = realloc(b->p, sizeof *p + cap * sizeof(int16_t));
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static int16_t float_to_s16(float v)
{
    /* libsndfile normalises 16-bit PCM by 1/32768, so this scale makes 8 kHz s16 files exact. */
    float s = v * 32768.0f;
    if (isnan(s))
        return 0;
    if (s >= 32767.0f)
        return 32767;
    if (s <= -32768.0f)
        return -32768;
    return (int16_t)lrintf(s);
}

static bool buf_append(struct pcm_buf *b, const float *in, size_t n)
{
    if (!buf_reserve(b, n))
        return false;
    int16_t *pcm = buf_pcm(b);
    for (size_t i = 0; i < n; i++)
        pcm[b->n + i] = float_to_s16(in[i]);
    b->n += n;
    return true;
}

/* Feeds n mono samples through the resampler, appending whatever it produces. */
static bool resample(struct pcm_buf *b, SpeexResamplerState *rs, const float *in, size_t n,
                     const char *path, char *err, size_t errlen)
{
    float out[READ_FRAMES];
    while (n > 0) {
        spx_uint32_t in_len = (spx_uint32_t)n, out_len = READ_FRAMES;
        speex_resampler_process_float(rs, 0, in, &in_len, out, &out_len);
        if (in_len == 0 && out_len == 0) {
            set_err(err, errlen, "cannot resample '%s': resampler made no progress", path);
            return false;
        }
        if (!buf_append(b, out, out_len)) {
            set_err(err, errlen, "cannot decode '%s': out of memory", path);
            return false;
        }
        in += in_len;
        n -= in_len;
    }
    return true;
}

/* Pushes the resampler's look-ahead out with silence, then trims to the exact resampled length
 * of the input, so the end of the prompt is neither lost nor padded. */
static bool resample_flush(struct pcm_buf *b, SpeexResamplerState *rs, uint64_t frames_in,
                           int rate, const char *path, char *err, size_t errlen)
{
    static const float zeros[READ_FRAMES];
    uint64_t want = (frames_in * PROMPT_RATE + (uint64_t)rate / 2) / (uint64_t)rate;
    size_t latency = (size_t)speex_resampler_get_input_latency(rs) + 1;
    while (latency > 0 && b->n < want) {
        size_t chunk = latency < READ_FRAMES ? latency : READ_FRAMES;
        if (!resample(b, rs, zeros, chunk, path, err, errlen))
            return false;
        latency -= chunk;
    }
    if (b->n > want)
        b->n = (size_t)want;
    return true;
}

/* Turns the PCM gathered in b into the finished prompt, with one reference. */
static const struct prompt *buf_finish(struct pcm_buf *b, const char *path, char *err,
                                       size_t errlen)
{
    size_t n = b->n;
    struct prompt *p = realloc(b->p, sizeof *p + n * (sizeof(int16_t) + 2));
    if (!p) {
        free(b->p);
        set_err(err, errlen, "cannot decode '%s': out of memory", path);
        return NULL;
    }
    int16_t *pcm = (int16_t *)(void *)(p + 1);
    uint8_t *ulaw = (uint8_t *)(pcm + n);
    uint8_t *alaw = ulaw + n;
    g711_ulaw_encode(ulaw, pcm, n);
    g711_alaw_encode(alaw, pcm, n);
    p->pcm = pcm;
    p->ulaw = ulaw;
    p->alaw = alaw;
    p->samples = n;
    p->refs = 1;
    return p;
}

const struct prompt *prompt_decode_file(const char *path, char *err, size_t errlen)
{
    if (!path) {
        set_err(err, errlen, "no prompt file given");
        return NULL;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        set_err(err, errlen, "cannot read '%s': %s", path, sf_strerror(NULL));
        return NULL;
    }
    if (info.channels < 1 || info.samplerate < MIN_RATE || info.samplerate > MAX_RATE) {
        set_err(err, errlen, "cannot read '%s': unsupported format (%d channels, %d Hz)", path,
                info.channels, info.samplerate);
        sf_close(sf);
        return NULL;
    }

    const size_t ch = (size_t)info.channels;
    float *frames = malloc(READ_FRAMES * ch * sizeof *frames);
    float *mono = malloc(READ_FRAMES * sizeof *mono);
    SpeexResamplerState *rs = NULL;
    struct pcm_buf b = { 0 };
    const struct prompt *result = NULL;
    bool ok = frames && mono;
    if (!ok)
        set_err(err, errlen, "cannot decode '%s': out of memory", path);

    if (ok && info.samplerate != PROMPT_RATE) {
        int rerr = 0;
        rs = speex_resampler_init(1, (spx_uint32_t)info.samplerate, PROMPT_RATE,
                                  RESAMPLE_QUALITY, &rerr);
        if (!rs) {
            set_err(err, errlen, "cannot resample '%s' from %d Hz: %s", path, info.samplerate,
                    speex_resampler_strerror(rerr));
            ok = false;
        } else {
            /* Output starts with the first input sample, not with the filter's delay. */
            speex_resampler_skip_zeros(rs);
        }
    }

    /* The header's length is only a hint (MP3 estimates it), so growth covers any error; a
     * claim over an hour is more likely corrupt than real and is not worth reserving for. */
    if (ok && info.frames > 0 && info.frames / info.samplerate < 3600) {
        uint64_t hint = (uint64_t)info.frames * PROMPT_RATE / (uint64_t)info.samplerate + 64;
        ok = buf_reserve(&b, (size_t)hint);
        if (!ok)
            set_err(err, errlen, "cannot decode '%s': out of memory", path);
    }

    uint64_t frames_in = 0;
    while (ok) {
        sf_count_t got = sf_readf_float(sf, frames, READ_FRAMES);
        if (got <= 0)
            break;
        for (sf_count_t i = 0; i < got; i++) {
            float sum = 0.0f;
            for (size_t c = 0; c < ch; c++)
                sum += frames[(size_t)i * ch + c];
            mono[i] = sum / (float)ch;
        }
        frames_in += (uint64_t)got;
        if (rs) {
            ok = resample(&b, rs, mono, (size_t)got, path, err, errlen);
        } else if (!buf_append(&b, mono, (size_t)got)) {
            set_err(err, errlen, "cannot decode '%s': out of memory", path);
            ok = false;
        }
    }
    if (ok && sf_error(sf) != SF_ERR_NO_ERROR) {
        set_err(err, errlen, "cannot read '%s': %s", path, sf_strerror(sf));
        ok = false;
    }
    if (ok && rs)
        ok = resample_flush(&b, rs, frames_in, info.samplerate, path, err, errlen);

    if (ok)
        result = buf_finish(&b, path, err, errlen);
    else
        free(b.p);
    if (rs)
        speex_resampler_destroy(rs);
    free(mono);
    free(frames);
    sf_close(sf);
    return result;
}

/* ---- cache -------------------------------------------------------------------------------- */

struct waiter {
    struct waiter *next;
    prompt_done_fn *done;
    void *arg;
};

/* One per name being loaded: the node the loader takes, and everyone waiting for the answer. */
struct request {
    struct qnode node;
    struct request *next_pending;
    struct waiter *waiters, **waiters_tail;
    char name[];
};

struct entry {
    struct entry *next;
    const struct prompt *p; /* the table's own reference */
    char name[];
};

struct prompt_cache {
    char **roots; /* NULL-terminated copies; roots[0] is the sounds folder */
    pthread_t loader;
    struct mpsc_queue queue;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t wake_cv;
    bool wake, stopping;
    struct request *pending; /* names queued or being decoded, so repeats can join them */
    struct entry **buckets;
    size_t nbuckets, count; /* nbuckets is a power of two */
    unsigned generation;    /* bumped by clear: decodes started before it are not cached */
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The link holding name's entry, or the empty link at the end of its chain. */
static struct entry **table_slot(struct prompt_cache *c, const char *name)
{
    struct entry **link = &c->buckets[hash_name(name) & (c->nbuckets - 1)];
    while (*link && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

static void table_grow(struct prompt_cache *c)
{
    size_t n = c->nbuckets * 2;
    struct entry **nb = calloc(n, sizeof *nb);
    if (!nb)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            struct entry **head = &nb[hash_name(e->name) & (n - 1)];
            e->next = *head;
            *head = e;
        }
    }
    free(c->buckets);
    c->buckets = nb;
    c->nbuckets = n;
}

/* Caches p under name with a new reference, replacing any older prompt of that name. */
static void table_put(struct prompt_cache *c, const char *name, const struct prompt *p)
{
    if (c->count >= c->nbuckets)
        table_grow(c);
    struct entry **link = table_slot(c, name);
    if (*link) {
        prompt_ref(p);
        prompt_unref((*link)->p);
        (*link)->p = p;
        return;
    }
    size_t len = strlen(name);
    struct entry *e = malloc(sizeof *e + len + 1);
    if (!e) {
        log_warn("prompt cache: out of memory, '%s' not cached", name);
        return;
    }
    memcpy(e->name, name, len + 1);
    prompt_ref(p);
    e->p = p;
    e->next = NULL;
    *link = e;
    c->count++;
}

static void table_clear(struct prompt_cache *c)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            prompt_unref(e->p);
            free(e);
        }
        c->buckets[i] = NULL;
    }
    c->count = 0;
}

static struct request *pending_find(struct prompt_cache *c, const char *name)
{
    struct request *r = c->pending;
    while (r && strcmp(r->name, name) != 0)
        r = r->next_pending;
    return r;
}

static void pending_remove(struct prompt_cache *c, struct request *r)
{
    struct request **link = &c->pending;
    while (*link && *link != r)
        link = &(*link)->next_pending;
    if (*link)
        *link = r->next_pending;
}

/* ---- name resolution (SPEC 5.1) ----------------------------------------------------------- */

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool join_path(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n >= 0 && n < PATH_MAX;
}

/* The file extensions of the formats libsndfile reads ("wav", "flac", "ogg", ...), so that
 * "welcome" finds welcome.wav and not welcome.txt, the text it was rendered from. */
#define MAX_AUDIO_EXTS 64
static char audio_exts[MAX_AUDIO_EXTS][16];
static int n_audio_exts;
static pthread_once_t audio_exts_once = PTHREAD_ONCE_INIT;

static void list_audio_exts(void)
{
    int count = 0;
    sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &count, sizeof count);
    for (int i = 0; i < count && n_audio_exts < MAX_AUDIO_EXTS - 1; i++) {
        SF_FORMAT_INFO info = { .format = i };
        if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &info, sizeof info) == 0 && info.extension)
            snprintf(audio_exts[n_audio_exts++], sizeof audio_exts[0], "%s", info.extension);
    }
    snprintf(audio_exts[n_audio_exts++], sizeof audio_exts[0], "%s", "aif"); /* "aiff" above */
}

static bool is_audio_ext(const char *ext)
{
    pthread_once(&audio_exts_once, list_audio_exts);
    for (int i = 0; i < n_audio_exts; i++)
        if (strcasecmp(ext, audio_exts[i]) == 0)
            return true;
    return false;
}

/* A name without '/': the file itself, else the alphabetically first "<name>.<ext>" whose
 * extension is an audio format libsndfile reads. */
static bool find_in_sounds(const char *dir, const char *name, char *out, int *why)
{
    if (join_path(out, dir, name) && is_regular_file(out))
        return true;

    DIR *d = opendir(dir);
    if (!d) {
        *why = errno;
        return false;
    }
    size_t nlen = strlen(name);
    char best[NAME_MAX + 1] = "";
    char cand[PATH_MAX];
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strncmp(de->d_name, name, nlen) != 0 || de->d_name[nlen] != '.')
            continue;
        const char *ext = de->d_name + nlen + 1;
        if (*ext == '\0' || strchr(ext, '.') != NULL || !is_audio_ext(ext))
            continue;
        if (best[0] && strcmp(de->d_name, best) >= 0)
            continue;
        if (join_path(cand, dir, de->d_name) && is_regular_file(cand))
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    closedir(d);
    *why = ENOENT;
    return best[0] && join_path(out, dir, best);
}

/* root must be a realpath: compared with a trailing '/', so /a/soundsX is not inside /a/sounds. */
static bool path_inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(path, root, n) == 0 && path[n] == '/';
}

static bool inside_roots(const struct prompt_cache *c, const char *path)
{
    char real_root[PATH_MAX];
    for (char **r = c->roots; *r; r++) {
        /* Resolved on every lookup: a folder may be created or re-linked after start-up. */
        if (realpath(*r, real_root) && path_inside(path, real_root))
            return true;
    }
    return false;
}

/* Fills path (PATH_MAX bytes) with the real path of the regular file name designates, inside
 * the allowed roots whatever symlinks or ".." it went through. */
static bool resolve(const struct prompt_cache *c, const char *name, char *path, char *err,
                    size_t errlen)
{
    char cand[PATH_MAX];
    if (name[0] == '\0') {
        set_err(err, errlen, "empty prompt name");
        return false;
    }
    if (!strchr(name, '/')) {
        int why = 0;
        if (!find_in_sounds(c->roots[0], name, cand, &why)) {
            if (why == ENOENT)
                set_err(err, errlen, "prompt '%s' not found in %s", name, c->roots[0]);
            else
                set_err(err, errlen, "prompt '%s' not found in %s (%s)", name, c->roots[0],
                        strerror(why));
            return false;
        }
    } else if (name[0] != '/') {
        /* A relative path starts from the sounds folder ("en/1" is sounds/en/1.wav): the file
         * may omit its extension there too. Where it really lies is checked below. */
        const char *slash = strrchr(name, '/');
        char dir[PATH_MAX];
        int n = snprintf(dir, sizeof dir, "%s/%.*s", c->roots[0], (int)(slash - name), name);
        int why = 0;
        if (n < 0 || n >= (int)sizeof dir || !slash[1]) {
            set_err(err, errlen, "prompt '%.64s': not a file name", name);
            return false;
        }
        if (!find_in_sounds(dir, slash + 1, cand, &why)) {
            set_err(err, errlen, "prompt '%s' not found in %s", name, c->roots[0]);
            return false;
        }
    } else {
        int n = snprintf(cand, sizeof cand, "%s", name);
        if (n < 0 || n >= (int)sizeof cand) {
            set_err(err, errlen, "prompt '%.64s...': name too long", name);
            return false;
        }
    }

    if (!realpath(cand, path)) {
        if (errno == ENOENT || errno == ENOTDIR)
            set_err(err, errlen, "prompt '%s' not found (%s)", name, cand);
        else
            set_err(err, errlen, "prompt '%s': %s: %s", name, cand, strerror(errno));
        return false;
    }
    if (!inside_roots(c, path)) {
        set_err(err, errlen, "prompt '%s' is outside the allowed folders", name);
        return false;
    }
    if (!is_regular_file(path)) {
        /* Also keeps the loader from blocking forever on a FIFO. */
        set_err(err, errlen, "prompt '%s' is not a regular file (%s)", name, path);
        return false;
    }
    return true;
}

/* ---- loader thread ------------------------------------------------------------------------ */

/* Answers one request: from the table, by decoding, or with "shutting down". */
static void serve(struct prompt_cache *c, struct request *r)
{
    char err[PATH_MAX + 256] = "";
    const struct prompt *p = NULL; /* our working reference */

    pthread_mutex_lock(&c->mu);
    bool stopping = c->stopping;
    unsigned gen = c->generation;
    if (!stopping) {
        struct entry *e = *table_slot(c, r->name);
        if (e) {
            p = e->p;
            prompt_ref(p);
        }
    }
    pthread_mutex_unlock(&c->mu);

    bool decoded = false;
    if (stopping) {
        snprintf(err, sizeof err, "shutting down");
    } else if (!p) {
        char path[PATH_MAX], derr[PATH_MAX + 128];
        if (resolve(c, r->name, path, err, sizeof err)) {
            p = prompt_decode_file(path, derr, sizeof derr);
            if (p) {
                decoded = true;
                log_debug("prompt '%s': %s, %zu samples", r->name, path, p->samples);
            } else {
                snprintf(err, sizeof err, "prompt '%s': %s", r->name, derr);
            }
        }
    }

    pthread_mutex_lock(&c->mu);
    if (decoded && gen == c->generation)
        table_put(c, r->name, p);
    pending_remove(c, r);
    struct waiter *w = r->waiters;
    for (struct waiter *i = w; i && p; i = i->next)
        prompt_ref(p);
    pthread_mutex_unlock(&c->mu);

    while (w) {
        struct waiter *next = w->next;
        w->done(w->arg, p, p ? NULL : err);
        free(w);
        w = next;
    }
    prompt_unref(p);
    free(r);
}

static void *loader_main(void *arg)
{
    struct prompt_cache *c = arg;
    thread_class_background("prompt loader");
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->wake && !c->stopping)
            pthread_cond_wait(&c->wake_cv, &c->mu);
        c->wake = false;
        bool stop = c->stopping;
        pthread_mutex_unlock(&c->mu);

        /* Once stopping is seen nothing more can be queued, so this batch is the last. */
        struct qnode *n = queue_take_all(&c->queue);
        while (n) {
            struct qnode *next = n->next;
            serve(c, container_of(n, struct request, node));
            n = next;
        }
        if (stop)
            return NULL;
    }
}

/* ---- public API --------------------------------------------------------------------------- */

static void free_roots(char **roots)
{
    if (!roots)
        return;
    for (char **r = roots; *r; r++)
        free(*r);
    free(roots);
}

struct prompt_cache *prompt_cache_create(const char *const *roots)
{
    if (!roots || !roots[0]) {
        log_error("prompt cache: no sounds folder given");
        return NULL;
    }
    size_t n = 0;
    while (roots[n])
        n++;

    struct prompt_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->roots = calloc(n + 1, sizeof *c->roots);
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    bool ok = c->roots && c->buckets;
    for (size_t i = 0; ok && i < n; i++)
        ok = (c->roots[i] = strdup(roots[i])) != NULL;
    if (!ok) {
        log_error("prompt cache: out of memory");
        free_roots(c->roots);
        free(c->buckets);
        free(c);
        return NULL;
    }

    queue_init(&c->queue);
    thread_class_mutex_init(&c->mu);
    pthread_cond_init(&c->wake_cv, NULL);
    int rc = pthread_create(&c->loader, NULL, loader_main, c);
    if (rc != 0) {
        log_error("prompt cache: cannot start loader thread: %s", strerror(rc));
        pthread_cond_destroy(&c->wake_cv);
        pthread_mutex_destroy(&c->mu);
        queue_destroy(&c->queue);
        free_roots(c->roots);
        free(c->buckets);
        free(c);
        return NULL;
    }
    pthread_setname_np(c->loader, "vcs-prompts");
    return c;
}

void prompt_cache_destroy(struct prompt_cache *c)
{
    if (!c)
        return;
    if (pthread_equal(pthread_self(), c->loader)) {
        /* From a done() callback: joining ourselves would deadlock, freeing would crash. */
        log_error("prompt cache: destroy called from the loader thread, ignored");
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->wake_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->loader, NULL);

    table_clear(c);
    free(c->buckets);
    pthread_cond_destroy(&c->wake_cv);
    pthread_mutex_destroy(&c->mu);
    queue_destroy(&c->queue);
    free_roots(c->roots);
    free(c);
}

const struct prompt *prompt_cache_get(struct prompt_cache *c, const char *name)
{
    if (!c || !name)
        return NULL;
    pthread_mutex_lock(&c->mu);
    struct entry *e = *table_slot(c, name);
    const struct prompt *p = e ? e->p : NULL;
    if (p)
        prompt_ref(p);
    pthread_mutex_unlock(&c->mu);
    return p;
}

int prompt_cache_load(struct prompt_cache *c, const char *name, prompt_done_fn *done, void *arg)
{
    if (!c || !name || !done)
        return -1;
    size_t len = strlen(name);
    struct waiter *w = malloc(sizeof *w);
    struct request *fresh = malloc(sizeof *fresh + len + 1);
    if (!w || !fresh) {
        log_error("prompt cache: out of memory loading '%s'", name);
        free(w);
        free(fresh);
        return -1;
    }
    w->next = NULL;
    w->done = done;
    w->arg = arg;

    pthread_mutex_lock(&c->mu);
    if (c->stopping) {
        pthread_mutex_unlock(&c->mu);
        free(w);
        free(fresh);
        return -1;
    }
    struct request *r = pending_find(c, name);
    if (!r) {
        r = fresh;
        fresh = NULL;
        memcpy(r->name, name, len + 1);
        r->waiters = NULL;
        r->waiters_tail = &r->waiters;
        r->next_pending = c->pending;
        c->pending = r;
        /* Pushed under mu so the loader's "stopping seen, take the last batch" holds. */
        if (queue_push(&c->queue, &r->node)) {
            c->wake = true;
            pthread_cond_signal(&c->wake_cv);
        }
    }
    *r->waiters_tail = w;
    r->waiters_tail = &w->next;
    pthread_mutex_unlock(&c->mu);
    free(fresh);
    return 0;
}

void prompt_cache_clear(struct prompt_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    table_clear(c);
    c->generation++;
    /* Requests already queued still answer their waiters; new ones must read the files again. */
    for (struct request *r = c->pending, *next; r; r = next) {
        next = r->next_pending;
        r->next_pending = NULL;
    }
    c->pending = NULL;
    pthread_mutex_unlock(&c->mu);
}
