/* Recorder: one writer thread fed by an MPSC queue of work items (open a file, write a buffer,
 * close a file). A recording's items come from one thread in order, and the queue is FIFO, so
 * the writer sees open, then the buffers, then close.
 *
 * Buffers: each recording owns a small pool allocated at open. A bit mask says which buffers
 * are free for the media side: only the media thread clears bits (taking a buffer) and only
 * the writer sets them (returning one), so one atomic AND / OR each way is enough, with
 * acquire/release ordering so that the samples are complete before the other side looks. */
#include "media/recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "core/clock.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread_class.h"
#include "media/g711.h"

/* 4 x 100 ms: the writer may fall 300 ms behind a recording before it loses a frame (its worst
 * lag measured with 200 recorded bridged calls on a busy box was 16 ms), in 6.4 KB per
 * whole-call recording (G.711 bytes) or call:record (linear mono). */
#define DEFAULT_BUFFER_MS 100
#define DEFAULT_BUFFERS 4
#define DEFAULT_HEADER_MS 2000
/* While recordings are open the writer looks at its queue this often; a full buffer waits for
 * that instead of waking it (a wake-up per buffer was a futex call and a context switch each,
 * thousands a second with a thousand recordings). Opens and closes still wake it at once. */
#define WRITER_PERIOD_MS 40
#define MAX_BUFFER_MS 10000
#define MIN_BUFFERS 2
#define MAX_BUFFERS 32 /* bits in the free mask */
#define DIR_MODE 0750
#define FILE_MODE 0640
#define ERR_LEN 512
#define SUFFIX_LEN (sizeof RECORDER_PARTIAL_SUFFIX - 1)

enum work_kind { WORK_OPEN, WORK_DATA, WORK_CLOSE };

struct work {
    struct qnode node;
    enum work_kind kind;
};

struct rec_buf {
    struct work work;
    struct recording *rec;
    unsigned index;  /* bit in rec->free_mask */
    size_t frames;   /* filled so far */
    bool alaw;       /* G.711 recordings: the law of every byte in this buffer */
    void *samples;   /* int16_t, or G.711 bytes (rec->g711) */
};

struct recording {
    struct recorder *owner;
    struct recording *prev, *next; /* owner->live, under owner->mu */
    unsigned channels;
    bool g711;        /* stereo G.711 bytes in memory, decoded by the writer */
    const char *path; /* as the caller gave it, in this block */
    struct work open_work, close_work;
    bool closing; /* under owner->mu: close queued, by the caller or by recorder_destroy */

    /* media side */
    struct rec_buf *bufs;
    struct rec_buf *cur; /* being filled, or NULL */
    _Atomic unsigned free_mask;
    _Atomic uint64_t dropped;
    _Atomic bool failed;

    /* writer side, set by recording_close before its work item is queued */
    size_t trim_frames;
    recording_done_fn *done;
    void *done_arg;

    /* writer side */
    int fd;           /* the partial file, header written (-1: none) */
    uint64_t data_off; /* where its samples start */
    char *final_path; /* real path, once the file exists */
    uint64_t frames_in_file, frames_since_header;
    char *err;        /* first error, allocated then (a recording rarely has one) */
};

struct recorder {
    char *root_given; /* as configured if absolute (may go through symlinks), else NULL */
    char *root_real;
    size_t frames_per_buf;
    unsigned nbufs;
    uint64_t header_every_frames;
    int16_t *decoded; /* writer side: one G.711 buffer as linear stereo samples */

    pthread_t writer;
    struct mpsc_queue queue;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t wake_cv;
    bool wake, stopping;
    struct recording *live; /* opened and not yet finished by the writer */

    _Atomic uint64_t dropped;
};


/* Keeps the first error: the later ones are usually its consequences. */
static void rec_fail(struct recording *rec, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rec_fail(struct recording *rec, const char *fmt, ...)
{
    if (!atomic_load_explicit(&rec->failed, memory_order_relaxed)) {
        char msg[ERR_LEN];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        log_warn("%s", msg);
        rec->err = strdup(msg); /* NULL: finish() reports the failure without its text */
    }
    atomic_store_explicit(&rec->failed, true, memory_order_relaxed);
}

/* ---- paths -------------------------------------------------------------------------------- */

/* root must not end in '/' unless it is "/": so /a/recX is not inside /a/rec. */
static bool path_inside(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/' && path[1] != '\0';
    return strncmp(path, root, n) == 0 && path[n] == '/';
}

static bool inside_or_root(const char *real, const char *root_real)
{
    return strcmp(real, root_real) == 0 || path_inside(real, root_real);
}

static bool has_dot_component(const char *path)
{
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return true;
        p += n;
    }
    return false;
}

static bool ends_with_suffix(const char *s)
{
    size_t n = strlen(s);
    return n >= SUFFIX_LEN && strcmp(s + n - SUFFIX_LEN, RECORDER_PARTIAL_SUFFIX) == 0;
}

/* mkdir -p for the root itself, at create time. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, DIR_MODE) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    return 0;
}

/* ---- the WAV header -----------------------------------------------------------------------
 * libsndfile writes a recording's header when the file is created; from then on the file is
 * plain 16-bit PCM appended by the writer, and the header's two sizes are set from what was
 * written (every header period, at the end, and by the repair after a crash). An SNDFILE held
 * open for a call's life cost 8 KB per recording (buffers that 16-bit PCM does not use). */

#define HEADER_SCAN 4096 /* libsndfile's PCM WAV header is 44 bytes; room for extra chunks */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Where fd's WAV data starts, and its frame size (block align); NULL or the reason. */
static const char *wav_layout(int fd, uint64_t *data_off, unsigned *block)
{
    unsigned char h[HEADER_SCAN];
    ssize_t got = pread(fd, h, sizeof h, 0);
    if (got < 0)
        return strerror(errno);
    if (got < 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
        return "not a WAV file";
    uint64_t pos = 12;
    *data_off = 0;
    *block = 0;
    while (pos + 8 <= (uint64_t)got) {
        uint32_t size = le32(h + pos + 4);
        if (memcmp(h + pos, "fmt ", 4) == 0) {
            if (size < 16 || pos + 8 + 16 > (uint64_t)got)
                return "bad fmt chunk";
            *block = (unsigned)h[pos + 8 + 12] | (unsigned)h[pos + 8 + 13] << 8;
        } else if (memcmp(h + pos, "data", 4) == 0) {
            *data_off = pos + 8;
            break;
        }
        pos += 8 + (uint64_t)size + (size & 1);
    }
    if (*data_off == 0)
        return "no data chunk in the header";
    if (*block == 0)
        return "no usable fmt chunk before the data";
    return NULL;
}

/* Sets the header's RIFF and data sizes for bytes of data; NULL or the reason. */
static const char *wav_set_sizes(int fd, uint64_t data_off, uint64_t bytes)
{
    if (data_off + bytes - 8 > UINT32_MAX)
        return "longer than a WAV file can be";
    unsigned char size[4];
    put_le32(size, (uint32_t)bytes);
    if (pwrite(fd, size, 4, (off_t)(data_off - 4)) != 4)
        return "cannot write the data size";
    put_le32(size, (uint32_t)(data_off + bytes - 8));
    if (pwrite(fd, size, 4, 4) != 4)
        return "cannot write the RIFF size";
    return NULL;
}

/* Writer thread: creates the missing folders of rec->path one by one below its deepest existing
 * ancestor, checking each real path against the root before going into it, then creates the
 * partial file exclusively (O_EXCL also refuses to follow a symlink planted there). */
static bool open_file(struct recorder *r, struct recording *rec)
{
    char dir[PATH_MAX], real[PATH_MAX], check[PATH_MAX];
    const char *slash = strrchr(rec->path, '/');
    size_t dlen = (size_t)(slash - rec->path);
    memcpy(dir, rec->path, dlen);
    dir[dlen] = '\0';
    const char *base = slash + 1;

    /* Deepest existing ancestor; the root exists, so the cut ends there at the latest. */
    size_t have = dlen;
    for (;;) {
        dir[have] = '\0';
        if (realpath(have ? dir : "/", real))
            break;
        if (errno != ENOENT) {
            rec_fail(rec, "recording '%s': cannot resolve %s: %s", rec->path, have ? dir : "/",
                     strerror(errno));
            return false;
        }
        char *up = strrchr(dir, '/');
        have = up ? (size_t)(up - dir) : 0;
    }
    if (!inside_or_root(real, r->root_real)) {
        rec_fail(rec, "recording '%s' is outside the recordings folder %s", rec->path,
                 r->root_real);
        return false;
    }

    /* The missing components are read from rec->path: dir has been cut short. */
    for (const char *p = rec->path + have; p < rec->path + dlen;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0 || p >= rec->path + dlen)
            break;
        size_t rl = strlen(real);
        if (rl + 1 + n >= sizeof real) {
            rec_fail(rec, "recording '%s': path too long", rec->path);
            return false;
        }
        real[rl] = '/';
        memcpy(real + rl + 1, p, n);
        real[rl + 1 + n] = '\0';
        if (mkdir(real, DIR_MODE) != 0 && errno != EEXIST) {
            rec_fail(rec, "recording '%s': cannot create folder %s: %s", rec->path, real,
                     strerror(errno));
            return false;
        }
        if (!realpath(real, check)) {
            rec_fail(rec, "recording '%s': cannot resolve %s: %s", rec->path, real,
                     strerror(errno));
            return false;
        }
        /* It may have existed already, or been replaced meanwhile, as a symlink. */
        if (!inside_or_root(check, r->root_real)) {
            rec_fail(rec, "recording '%s': folder %s is outside the recordings folder", rec->path,
                     real);
            return false;
        }
        memcpy(real, check, strlen(check) + 1);
        p += n;
    }

    char partial[PATH_MAX];
    int n = snprintf(partial, sizeof partial, "%s/%s%s", real, base, RECORDER_PARTIAL_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof partial) {
        rec_fail(rec, "recording '%s': path too long", rec->path);
        return false;
    }
    rec->final_path = malloc((size_t)n - SUFFIX_LEN + 1);
    if (!rec->final_path) {
        rec_fail(rec, "recording '%s': out of memory", rec->path);
        return false;
    }
    memcpy(rec->final_path, partial, (size_t)n - SUFFIX_LEN);
    rec->final_path[(size_t)n - SUFFIX_LEN] = '\0';

    rec->fd = open(partial, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, FILE_MODE);
    if (rec->fd < 0) {
        if (errno == EEXIST)
            rec_fail(rec, "recording '%s': %s exists (being recorded now, or left by a crash "
                          "and not yet repaired)", rec->path, partial);
        else
            rec_fail(rec, "recording '%s': cannot create %s: %s", rec->path, partial,
                     strerror(errno));
        return false;
    }
    SF_INFO info = { .samplerate = RECORDER_RATE, .channels = (int)rec->channels,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    /* The descriptor stays ours (close_desc false): libsndfile's error paths then cannot close
     * it behind our back. */
    SNDFILE *sf = sf_open_fd(rec->fd, SFM_WRITE, &info, SF_FALSE);
    const char *why = sf ? NULL : sf_strerror(NULL);
    int rc = sf ? sf_close(sf) : 0; /* the header is written: the rest is ours (see above) */
    if (rc != 0)
        why = sf_error_number(rc);
    unsigned block = 0;
    if (!why && !(why = wav_layout(rec->fd, &rec->data_off, &block)) &&
        block != rec->channels * sizeof(int16_t))
        why = "libsndfile wrote an unexpected frame size";
    if (why) {
        rec_fail(rec, "recording '%s': %s", rec->path, why);
        close(rec->fd);
        rec->fd = -1;
        unlink(partial);
        return false;
    }
    return true;
}

/* ---- writer thread ------------------------------------------------------------------------ */

static void give_back(struct rec_buf *b)
{
    atomic_fetch_or_explicit(&b->rec->free_mask, 1u << b->index, memory_order_release);
}

/* Samples as the file stores them (little-endian): on a big-endian host swapped into the
 * writer's buffer. */
static const int16_t *little_endian(struct recorder *r, const int16_t *samples, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++)
        r->decoded[i] = (int16_t)__builtin_bswap16((uint16_t)samples[i]);
    return r->decoded;
#else
    (void)r;
    (void)n;
    return samples;
#endif
}

static bool write_all(int fd, const void *data, size_t len, uint64_t at)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        at += (uint64_t)n;
        len -= (size_t)n;
    }
    return true;
}

static void write_buffer(struct recorder *r, struct rec_buf *b)
{
    struct recording *rec = b->rec;
    if (rec->fd >= 0 && !atomic_load_explicit(&rec->failed, memory_order_relaxed) &&
        b->frames > 0) {
        const int16_t *samples = b->samples;
        size_t n = b->frames * rec->channels, block = rec->channels * sizeof(int16_t);
        if (rec->g711) {
            if (b->alaw)
                g711_alaw_decode(r->decoded, b->samples, n);
            else
                g711_ulaw_decode(r->decoded, b->samples, n);
            samples = r->decoded;
        }
        samples = little_endian(r, samples, n);
        const char *why = NULL;
        errno = 0;
        if (rec->data_off + (rec->frames_in_file + b->frames) * block - 8 > UINT32_MAX)
            why = "longer than a WAV file can be";
        else if (!write_all(rec->fd, samples, n * sizeof *samples,
                            rec->data_off + rec->frames_in_file * block))
            why = errno ? strerror(errno) : "nothing written";
        if (why) {
            rec_fail(rec, "recording '%s': write failed: %s", rec->path, why);
        } else {
            rec->frames_in_file += b->frames;
            rec->frames_since_header += b->frames;
            if (rec->frames_since_header >= r->header_every_frames) {
                /* So that a crash loses no more than this period even to a reader that
                 * trusts the header (sox); a failure shows at the end, when it matters. */
                wav_set_sizes(rec->fd, rec->data_off, rec->frames_in_file * block);
                rec->frames_since_header = 0;
            }
        }
    }
    give_back(b);
}

static void finish(struct recorder *r, struct recording *rec)
{
    uint64_t frames = 0;
    if (rec->fd >= 0) {
        uint64_t block = rec->channels * sizeof(int16_t);
        uint64_t keep = rec->frames_in_file > rec->trim_frames
                            ? rec->frames_in_file - rec->trim_frames : 0;
        /* Also cuts what a failed write may have left past the counted frames. */
        if (ftruncate(rec->fd, (off_t)(rec->data_off + keep * block)) != 0)
            rec_fail(rec, "recording '%s': cannot trim: %s", rec->path, strerror(errno));
        frames = keep;
        const char *why = wav_set_sizes(rec->fd, rec->data_off, frames * block);
        if (why)
            rec_fail(rec, "recording '%s': closing: %s", rec->path, why);
        if (close(rec->fd) != 0)
            rec_fail(rec, "recording '%s': closing: %s", rec->path, strerror(errno));
        char partial[PATH_MAX];
        snprintf(partial, sizeof partial, "%s%s", rec->final_path, RECORDER_PARTIAL_SUFFIX);
        if (rename(partial, rec->final_path) != 0)
            rec_fail(rec, "recording '%s': cannot rename %s: %s", rec->path, partial,
                     strerror(errno));
    }
    uint64_t dropped = atomic_load_explicit(&rec->dropped, memory_order_relaxed);
    if (dropped > 0)
        log_warn("recording '%s': %llu frames dropped, the writer was behind", rec->path,
                 (unsigned long long)dropped);

    pthread_mutex_lock(&r->mu);
    if (rec->prev)
        rec->prev->next = rec->next;
    else
        r->live = rec->next;
    if (rec->next)
        rec->next->prev = rec->prev;
    pthread_mutex_unlock(&r->mu);

    char *err = rec->err;
    bool failed = atomic_load_explicit(&rec->failed, memory_order_relaxed);
    recording_done_fn *done = rec->done;
    void *arg = rec->done_arg;
    free(rec->final_path);
    free(rec);
    if (done)
        done(arg, frames * 1000 / RECORDER_RATE,
             err ? err : failed ? "recording failed (no memory for the reason)" : NULL);
    free(err);
}

static void serve(struct recorder *r, struct work *w)
{
    switch (w->kind) {
    case WORK_OPEN:
        open_file(r, container_of(w, struct recording, open_work));
        break;
    case WORK_DATA:
        write_buffer(r, container_of(w, struct rec_buf, work));
        break;
    case WORK_CLOSE:
        finish(r, container_of(w, struct recording, close_work));
        break;
    }
}

static bool serve_batch(struct recorder *r)
{
    struct qnode *n = queue_take_all(&r->queue);
    if (!n)
        return false;
    while (n) {
        struct qnode *next = n->next; /* n may be freed by serve */
        serve(r, container_of(n, struct work, node));
        n = next;
    }
    return true;
}

static void *writer_main(void *arg)
{
    struct recorder *r = arg;
    thread_class_background("recorder");
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (r->live) {
            struct timespec until = clock_mono_deadline(WRITER_PERIOD_MS);
            while (!r->wake && !r->stopping &&
                   pthread_cond_timedwait(&r->wake_cv, &r->mu, &until) != ETIMEDOUT)
                ;
        } else {
            while (!r->wake && !r->stopping)
                pthread_cond_wait(&r->wake_cv, &r->mu);
        }
        r->wake = false;
        bool stop = r->stopping;
        pthread_mutex_unlock(&r->mu);

        if (stop) {
            /* Nothing new can be opened now; finish everything queued, including closes that
             * done() callbacks of this very drain may queue. */
            while (serve_batch(r))
                ;
            return NULL;
        }
        serve_batch(r);
    }
}

/* ---- recorder ----------------------------------------------------------------------------- */

static void free_recorder(struct recorder *r)
{
    free(r->decoded);
    free(r->root_given);
    free(r->root_real);
    free(r);
}

struct recorder *recorder_create(const char *root, const struct recorder_options *opt)
{
    if (!root || !root[0]) {
        log_error("recorder: no recordings folder given");
        return NULL;
    }
    struct recorder_options o = opt ? *opt : (struct recorder_options){ 0 };
    if (o.buffer_ms == 0)
        o.buffer_ms = DEFAULT_BUFFER_MS;
    if (o.buffers == 0)
        o.buffers = DEFAULT_BUFFERS;
    if (o.header_every_ms == 0)
        o.header_every_ms = DEFAULT_HEADER_MS;
    if (o.buffer_ms > MAX_BUFFER_MS || o.buffers < MIN_BUFFERS || o.buffers > MAX_BUFFERS) {
        log_error("recorder: buffer_ms must be 1..%d and buffers %d..%d (got %u and %u)",
                  MAX_BUFFER_MS, MIN_BUFFERS, MAX_BUFFERS, o.buffer_ms, o.buffers);
        return NULL;
    }
    if (make_dirs(root) != 0) {
        log_error("recorder: cannot create %s: %s", root, strerror(errno));
        return NULL;
    }

    struct recorder *r = calloc(1, sizeof *r);
    if (!r) {
        log_error("recorder: out of memory");
        return NULL;
    }
    r->root_real = realpath(root, NULL);
    if (!r->root_real) {
        log_error("recorder: cannot resolve %s: %s", root, strerror(errno));
        free_recorder(r);
        return NULL;
    }
    if (root[0] == '/') {
        r->root_given = strdup(root);
        if (!r->root_given) {
            log_error("recorder: out of memory");
            free_recorder(r);
            return NULL;
        }
        size_t n = strlen(r->root_given);
        while (n > 1 && r->root_given[n - 1] == '/')
            r->root_given[--n] = '\0';
    }
    /* A buffer holds a whole number of 20 ms packets, so hand-offs line up with packets. */
    size_t packets = (o.buffer_ms + 19) / 20;
    r->frames_per_buf = packets * (RECORDER_RATE / 50);
    r->nbufs = o.buffers;
    r->header_every_frames = (uint64_t)o.header_every_ms * RECORDER_RATE / 1000;
    r->decoded = malloc(r->frames_per_buf * 2 * sizeof *r->decoded);
    if (!r->decoded) {
        log_error("recorder: out of memory");
        free_recorder(r);
        return NULL;
    }

    queue_init(&r->queue);
    thread_class_mutex_init(&r->mu); /* workers open and close under it */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&r->writer, NULL, writer_main, r);
    if (rc != 0) {
        log_error("recorder: cannot start the writer thread: %s", strerror(rc));
        pthread_cond_destroy(&r->wake_cv);
        pthread_mutex_destroy(&r->mu);
        queue_destroy(&r->queue);
        free_recorder(r);
        return NULL;
    }
    pthread_setname_np(r->writer, "vcs-recorder");
    return r;
}

static void hand_off(struct recorder *r, struct work *w)
{
    if (queue_push(&r->queue, &w->node) && w->kind != WORK_DATA) {
        pthread_mutex_lock(&r->mu);
        r->wake = true;
        pthread_cond_signal(&r->wake_cv);
        pthread_mutex_unlock(&r->mu);
    }
}

void recorder_destroy(struct recorder *r)
{
    if (!r)
        return;
    if (pthread_equal(pthread_self(), r->writer)) {
        /* From a done() callback: joining ourselves would deadlock, freeing would crash. */
        log_error("recorder: destroy called from the writer thread, ignored");
        return;
    }
    pthread_mutex_lock(&r->mu);
    for (struct recording *rec = r->live; rec; rec = rec->next) {
        if (rec->closing)
            continue;
        log_warn("recording '%s' still open at shutdown: closed", rec->path);
        rec->closing = true;
        if (rec->cur) {
            queue_push(&r->queue, &rec->cur->work.node);
            rec->cur = NULL;
        }
        queue_push(&r->queue, &rec->close_work.node);
    }
    r->stopping = true;
    pthread_cond_signal(&r->wake_cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->writer, NULL);

    pthread_cond_destroy(&r->wake_cv);
    pthread_mutex_destroy(&r->mu);
    queue_destroy(&r->queue);
    free_recorder(r);
}

uint64_t recorder_dropped_frames(const struct recorder *r)
{
    return r ? atomic_load_explicit(&r->dropped, memory_order_relaxed) : 0;
}

/* ---- recordings: caller side -------------------------------------------------------------- */

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

static struct recording *open_recording(struct recorder *r, const char *path, unsigned channels,
                                        bool g711, char *err, size_t errlen)
{
    if (!r || !path) {
        set_err(err, errlen, "recording: no recorder or path");
        return NULL;
    }
    if (channels != 1 && channels != 2) {
        set_err(err, errlen, "recording '%s': %u channels (1 or 2 supported)", path, channels);
        return NULL;
    }
    size_t len = strlen(path);
    const char *slash = strrchr(path, '/');
    if (path[0] != '/') {
        set_err(err, errlen, "recording '%s': not an absolute path", path);
        return NULL;
    }
    if (len + SUFFIX_LEN >= PATH_MAX) {
        set_err(err, errlen, "recording '%.64s...': path too long", path);
        return NULL;
    }
    if (slash[1] == '\0' || has_dot_component(path)) {
        set_err(err, errlen, "recording '%s': not a file name (ends in '/', or has a '.' or "
                             "'..' component)", path);
        return NULL;
    }
    if (ends_with_suffix(path)) {
        set_err(err, errlen, "recording '%s': names ending in %s are reserved", path,
                RECORDER_PARTIAL_SUFFIX);
        return NULL;
    }
    if (!path_inside(path, r->root_real) && !(r->root_given && path_inside(path, r->root_given))) {
        set_err(err, errlen, "recording '%s' is outside the recordings folder %s", path,
                r->root_given ? r->root_given : r->root_real);
        return NULL;
    }

    /* One block: the recording, its buffer headers, their samples, the path. */
    size_t off_bufs = align_up(sizeof(struct recording), _Alignof(struct rec_buf));
    size_t off_samples = align_up(off_bufs + r->nbufs * sizeof(struct rec_buf), _Alignof(int16_t));
    size_t buf_bytes = r->frames_per_buf * channels * (g711 ? 1 : sizeof(int16_t));
    size_t off_path = off_samples + r->nbufs * buf_bytes;
    char *block = calloc(1, off_path + len + 1);
    if (!block) {
        set_err(err, errlen, "recording '%s': out of memory", path);
        return NULL;
    }
    struct recording *rec = (struct recording *)(void *)block;
    rec->owner = r;
    rec->channels = channels;
    rec->g711 = g711;
    rec->fd = -1;
    rec->bufs = (struct rec_buf *)(void *)(block + off_bufs);
    for (unsigned i = 0; i < r->nbufs; i++) {
        struct rec_buf *b = &rec->bufs[i];
        b->work.kind = WORK_DATA;
        b->rec = rec;
        b->index = i;
        b->samples = block + off_samples + i * buf_bytes;
    }
    atomic_init(&rec->free_mask, r->nbufs == 32 ? ~0u : (1u << r->nbufs) - 1);
    atomic_init(&rec->dropped, 0);
    atomic_init(&rec->failed, false);
    memcpy(block + off_path, path, len + 1);
    rec->path = block + off_path;
    rec->open_work.kind = WORK_OPEN;
    rec->close_work.kind = WORK_CLOSE;

    pthread_mutex_lock(&r->mu);
    if (r->stopping) {
        pthread_mutex_unlock(&r->mu);
        free(block);
        set_err(err, errlen, "recording '%s': recorder shutting down", path);
        return NULL;
    }
    rec->next = r->live;
    if (r->live)
        r->live->prev = rec;
    r->live = rec;
    pthread_mutex_unlock(&r->mu);
    hand_off(r, &rec->open_work);
    return rec;
}

struct recording *recording_open(struct recorder *r, const char *path, unsigned channels,
                                 char *err, size_t errlen)
{
    return open_recording(r, path, channels, false, err, errlen);
}

struct recording *recording_open_g711(struct recorder *r, const char *path, char *err,
                                      size_t errlen)
{
    return open_recording(r, path, 2, true, err, errlen);
}

/* The buffer being filled, taking a free one if needed; NULL when the writer holds them all. */
static struct rec_buf *current(struct recording *rec)
{
    if (rec->cur)
        return rec->cur;
    unsigned mask = atomic_load_explicit(&rec->free_mask, memory_order_acquire);
    if (mask == 0)
        return NULL;
    unsigned i = (unsigned)__builtin_ctz(mask);
    atomic_fetch_and_explicit(&rec->free_mask, ~(1u << i), memory_order_relaxed);
    rec->cur = &rec->bufs[i];
    rec->cur->frames = 0;
    return rec->cur;
}

/* Copies either linear interleaved frames or a G.711 left/right pair, handing off each buffer
 * it fills (and a G.711 buffer whose law the call's codec change made stale). */
static size_t append(struct recording *rec, const int16_t *frames, const uint8_t *left,
                     const uint8_t *right, bool alaw, size_t nframes)
{
    struct recorder *r = rec->owner;
    size_t cap = r->frames_per_buf, done = 0;
    while (done < nframes) {
        struct rec_buf *b = current(rec);
        if (b && !frames && b->frames > 0 && b->alaw != alaw) {
            rec->cur = NULL;
            hand_off(r, &b->work);
            continue;
        }
        if (!b) {
            uint64_t lost = nframes - done;
            atomic_fetch_add_explicit(&rec->dropped, lost, memory_order_relaxed);
            atomic_fetch_add_explicit(&r->dropped, lost, memory_order_relaxed);
            break;
        }
        size_t n = cap - b->frames;
        if (n > nframes - done)
            n = nframes - done;
        if (frames) {
            int16_t *dst = (int16_t *)b->samples + b->frames * rec->channels;
            memcpy(dst, frames + done * rec->channels, n * rec->channels * sizeof *dst);
        } else {
            uint8_t *dst = (uint8_t *)b->samples + b->frames * 2;
            const uint8_t *l = left ? left + done : NULL, *rt = right ? right + done : NULL;
            b->alaw = alaw;
            if (l && rt) { /* the usual case, every tick: a loop without a test per sample */
                for (size_t i = 0; i < n; i++) {
                    dst[2 * i] = l[i];
                    dst[2 * i + 1] = rt[i];
                }
            } else {
                memset(dst, alaw ? G711_ALAW_SILENCE : G711_ULAW_SILENCE, 2 * n);
                for (size_t i = 0; l && i < n; i++)
                    dst[2 * i] = l[i];
                for (size_t i = 0; rt && i < n; i++)
                    dst[2 * i + 1] = rt[i];
            }
        }
        b->frames += n;
        done += n;
        if (b->frames == cap) {
            rec->cur = NULL;
            hand_off(r, &b->work);
        }
    }
    return done;
}

size_t recording_write(struct recording *rec, const int16_t *frames, size_t nframes)
{
    if (!rec || rec->g711 || !frames || nframes == 0 || recording_failed(rec))
        return 0;
    return append(rec, frames, NULL, NULL, false, nframes);
}

size_t recording_write_g711(struct recording *rec, const uint8_t *left, const uint8_t *right,
                            bool alaw, size_t nframes)
{
    if (!rec || !rec->g711 || nframes == 0 || recording_failed(rec))
        return 0;
    return append(rec, NULL, left, right, alaw, nframes);
}

bool recording_failed(const struct recording *rec)
{
    return !rec || atomic_load_explicit(&rec->failed, memory_order_relaxed);
}

uint64_t recording_dropped_frames(const struct recording *rec)
{
    return rec ? atomic_load_explicit(&rec->dropped, memory_order_relaxed) : 0;
}

void recording_close(struct recording *rec, size_t trim_frames, recording_done_fn *done, void *arg)
{
    if (!rec)
        return;
    struct recorder *r = rec->owner;
    rec->trim_frames = trim_frames;
    rec->done = done;
    rec->done_arg = arg;
    pthread_mutex_lock(&r->mu);
    rec->closing = true;
    pthread_mutex_unlock(&r->mu);
    if (rec->cur) {
        struct rec_buf *b = rec->cur;
        rec->cur = NULL;
        hand_off(r, &b->work);
    }
    hand_off(r, &rec->close_work);
}

/* ---- repair ------------------------------------------------------------------------------- */

/* Rewrites the RIFF and data sizes of fd's WAV header from its length; NULL or the reason. */
static const char *patch_header(int fd, uint64_t *frames_out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    uint64_t data_off;
    unsigned block;
    const char *why = wav_layout(fd, &data_off, &block);
    if (why)
        return why;
    if ((uint64_t)st.st_size < data_off)
        return "cut inside the header";
    uint64_t bytes = ((uint64_t)st.st_size - data_off) / block * block;
    if ((why = wav_set_sizes(fd, data_off, bytes)))
        return why;
    /* A frame cut short by the crash would make the data size odd or misaligned. */
    if ((uint64_t)st.st_size != data_off + bytes && ftruncate(fd, (off_t)(data_off + bytes)) != 0)
        return "cannot cut the partial frame";
    *frames_out = bytes / block;
    return NULL;
}

int recorder_repair(const char *path)
{
    if (!path) {
        log_warn("recording repair: no path");
        return -1;
    }
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        log_warn("recording repair: %s: %s", path, strerror(errno));
        return -1;
    }
    uint64_t frames = 0;
    const char *why = patch_header(fd, &frames);
    close(fd);
    if (why) {
        log_warn("recording repair: %s: %s", path, why);
        return -1;
    }
    /* The proof: libsndfile must now read exactly what the header says. */
    SF_INFO info = { 0 };
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        log_warn("recording repair: %s: still unreadable: %s", path, sf_strerror(NULL));
        return -1;
    }
    sf_close(sf);
    if ((uint64_t)info.frames != frames) {
        log_warn("recording repair: %s: libsndfile reads %lld frames, header says %llu", path,
                 (long long)info.frames, (unsigned long long)frames);
        return -1;
    }
    return 0;
}

static _Thread_local int repaired; /* nftw's callback has no argument */

static int repair_entry(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
    if (type != FTW_F || !S_ISREG(sb->st_mode) || !ends_with_suffix(fpath))
        return 0;
    size_t n = strlen(fpath);
    char final[PATH_MAX];
    if (n - SUFFIX_LEN <= (size_t)ftw->base || n - SUFFIX_LEN >= sizeof final) {
        log_warn("recording repair: %s: no usable name without %s, left alone", fpath,
                 RECORDER_PARTIAL_SUFFIX);
        return 0;
    }
    if (sb->st_size == 0) {
        if (unlink(fpath) == 0)
            log_info("recording repair: %s was empty, removed", fpath);
        return 0;
    }
    if (recorder_repair(fpath) != 0)
        return 0;
    memcpy(final, fpath, n - SUFFIX_LEN);
    final[n - SUFFIX_LEN] = '\0';
    if (rename(fpath, final) != 0) {
        log_warn("recording repair: cannot rename %s: %s", fpath, strerror(errno));
        return 0;
    }
    log_info("recording repair: recovered interrupted recording %s", final);
    repaired++;
    return 0;
}

int recorder_repair_dir(const char *dir)
{
    if (!dir) {
        log_warn("recording repair: no folder given");
        return -1;
    }
    repaired = 0;
    if (nftw(dir, repair_entry, 16, FTW_PHYS) != 0) {
        log_warn("recording repair: cannot walk %s: %s", dir, strerror(errno));
        return -1;
    }
    return repaired;
}
