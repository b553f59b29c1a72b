/* Recorder: round trips through libsndfile (frames, channels, rate, every sample), trimming,
 * path sandboxing, crash recovery, many recordings at once and the writer-behind drop counter.
 *
 * Every test works in a fresh temporary tree: recordings/ (the root) and outside/.
 * No test depends on timing: tests that write faster than real time give each recording more
 * buffers than the audio they write, so nothing can be dropped whatever the scheduling; the drop
 * test holds the writer thread still inside a done() callback; the crash test's child waits for
 * the file to reach its full length before it dies. Waits are bounded condition variables. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "media/g711.h"
#include "media/recorder.h"

#define WAIT_SECONDS 30
#define PACKET 160 /* 20 ms at 8 kHz */
#define SUFFIX RECORDER_PARTIAL_SUFFIX

static char top[64], root[128], outside[128];

/* ---- fixtures ----------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    return remove(path);
}

static int setup(void **state)
{
    umask(022);
    snprintf(top, sizeof top, "/tmp/vcs-test-rec-XXXXXX");
    if (!mkdtemp(top))
        return -1;
    snprintf(root, sizeof root, "%s/recordings", top);
    snprintf(outside, sizeof outside, "%s/outside", top);
    return mkdir(outside, 0755);
}

static int teardown(void **state)
{
    return nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_in_root(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", root, rel);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Deterministic and different for every recording, frame and channel, so that reordered,
 * lost, duplicated or crossed-over audio shows. */
static int16_t sample_at(unsigned seed, size_t frame, unsigned ch)
{
    uint32_t h = (uint32_t)frame * 2654435761u ^ (seed * 40503u + ch * 9973u);
    return (int16_t)(uint16_t)(h >> 11);
}

static void make_frames(int16_t *out, unsigned seed, size_t first, size_t n, unsigned channels)
{
    for (size_t i = 0; i < n; i++)
        for (unsigned c = 0; c < channels; c++)
            out[i * channels + c] = sample_at(seed, first + i, c);
}

/* Writes frames [0, total) in pieces of `piece`, asserting that none is dropped. */
static void write_signal(struct recording *rec, unsigned seed, size_t total, size_t piece,
                         unsigned channels)
{
    int16_t buf[2 * 4096];
    assert_true(piece <= 4096);
    for (size_t at = 0; at < total; at += piece) {
        size_t n = total - at < piece ? total - at : piece;
        make_frames(buf, seed, at, n, channels);
        assert_int_equal(recording_write(rec, buf, n), n);
    }
}

/* Reads a whole file back; checks the format every recording must have. */
static int16_t *read_back(const char *path, SF_INFO *info)
{
    memset(info, 0, sizeof *info);
    SNDFILE *sf = sf_open(path, SFM_READ, info);
    if (!sf)
        fail_msg("cannot read %s: %s", path, sf_strerror(NULL));
    assert_int_equal(info->samplerate, RECORDER_RATE);
    assert_int_equal(info->format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    int16_t *buf = malloc(((size_t)info->frames * (size_t)info->channels + 1) * sizeof *buf);
    assert_non_null(buf);
    assert_int_equal(sf_readf_short(sf, buf, info->frames), info->frames);
    sf_close(sf);
    return buf;
}

static void check_file(const char *path, unsigned seed, unsigned channels, size_t frames)
{
    SF_INFO info;
    int16_t *buf = read_back(path, &info);
    assert_int_equal(info.channels, channels);
    assert_int_equal(info.frames, frames);
    for (size_t i = 0; i < frames; i++)
        for (unsigned c = 0; c < channels; c++)
            if (buf[i * channels + c] != sample_at(seed, i, c))
                fail_msg("%s: frame %zu channel %u differs", path, i, c);
    free(buf);
}

/* Offset and declared size of the data chunk, straight from the header bytes. */
static void wav_data_chunk(const char *path, uint32_t *offset, uint32_t *size)
{
    unsigned char h[512];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t got = fread(h, 1, sizeof h, f);
    fclose(f);
    assert_true(got >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0);
    for (size_t pos = 12; pos + 8 <= got;) {
        uint32_t sz = (uint32_t)h[pos + 4] | (uint32_t)h[pos + 5] << 8 |
                      (uint32_t)h[pos + 6] << 16 | (uint32_t)h[pos + 7] << 24;
        if (memcmp(h + pos, "data", 4) == 0) {
            *offset = (uint32_t)pos + 8;
            *size = sz;
            return;
        }
        pos += 8 + sz + (sz & 1);
    }
    fail_msg("%s: no data chunk", path);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* done() results, with a bounded wait for them. */
struct box {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    uint64_t duration_ms;
    char err[512];
    bool had_err;
};

static void box_init(struct box *b)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
}

static void box_destroy(struct box *b)
{
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

static void on_done(void *arg, uint64_t duration_ms, const char *err)
{
    struct box *b = arg;
    pthread_mutex_lock(&b->mu);
    b->calls++;
    b->duration_ms = duration_ms;
    b->had_err = err != NULL;
    snprintf(b->err, sizeof b->err, "%s", err ? err : "");
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static struct timespec deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_SECONDS;
    return ts;
}

static void box_wait(struct box *b, int calls)
{
    struct timespec until = deadline();
    pthread_mutex_lock(&b->mu);
    int rc = 0;
    while (b->calls < calls && rc == 0)
        rc = pthread_cond_timedwait(&b->cv, &b->mu, &until);
    int got = b->calls;
    pthread_mutex_unlock(&b->mu);
    if (got != calls)
        fail_msg("expected %d done() calls, got %d", calls, got);
}

/* Closes rec and waits for its done(); returns the duration, asserting success. */
static uint64_t close_ok(struct recording *rec, size_t trim)
{
    struct box b;
    box_init(&b);
    recording_close(rec, trim, on_done, &b);
    box_wait(&b, 1);
    if (b.had_err)
        fail_msg("recording failed: %s", b.err);
    uint64_t ms = b.duration_ms;
    box_destroy(&b);
    return ms;
}

/* ---- round trips -------------------------------------------------------------------------- */

struct writer_job {
    struct recording *rec;
    unsigned seed, channels;
    size_t frames;
};

static void *write_job(void *arg)
{
    struct writer_job *j = arg;
    int16_t pkt[2 * PACKET];
    for (size_t at = 0; at < j->frames; at += PACKET) {
        make_frames(pkt, j->seed, at, PACKET, j->channels);
        if (recording_write(j->rec, pkt, PACKET) != PACKET)
            return (void *)"frames dropped";
    }
    return NULL;
}

static void test_stereo_from_thread(void **state)
{
    struct recorder_options opt = { .buffer_ms = 500, .buffers = 8 }; /* 4 s of buffers for 3 s of audio */
    struct recorder *r = recorder_create(root, &opt);
    assert_non_null(r);
    char path[256], err[256] = "";
    path_in_root(path, sizeof path, "a/b/c/call.wav");
    struct recording *rec = recording_open(r, path, 2, err, sizeof err);
    assert_non_null(rec);

    struct writer_job job = { rec, 7, 2, 3 * RECORDER_RATE };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_job, &job), 0);
    void *res;
    pthread_join(t, &res);
    assert_null(res);
    assert_false(exists(path)); /* the final name appears only when complete */
    assert_int_equal(recording_dropped_frames(rec), 0);
    assert_false(recording_failed(rec));

    assert_int_equal(close_ok(rec, 0), 3000);
    check_file(path, 7, 2, 3 * RECORDER_RATE);
    char partial[300];
    snprintf(partial, sizeof partial, "%s%s", path, SUFFIX);
    assert_false(exists(partial));

    struct stat st;
    const char *dirs[] = { "a", "a/b", "a/b/c" };
    for (size_t i = 0; i < 3; i++) {
        char d[256];
        path_in_root(d, sizeof d, dirs[i]);
        assert_int_equal(stat(d, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0750);
    }
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(recorder_dropped_frames(r), 0);
    recorder_destroy(r);
}

static void test_mono_odd_pieces(void **state)
{
    struct recorder_options opt = { .buffer_ms = 100, .buffers = 32 };
    struct recorder *r = recorder_create(root, &opt);
    assert_non_null(r);
    char path[256];
    path_in_root(path, sizeof path, "mono.wav");
    struct recording *rec = recording_open(r, path, 1, NULL, 0);
    assert_non_null(rec);
    /* 37-frame pieces cross every 800-frame buffer boundary somewhere in the middle. */
    write_signal(rec, 3, 12000, 37, 1);
    assert_int_equal(close_ok(rec, 0), 1500);
    check_file(path, 3, 1, 12000);
    recorder_destroy(r);
}

static void test_write_g711_sides(void **state)
{
    struct recorder *r = recorder_create(root, NULL);
    assert_non_null(r);
    char path[256], mono_path[256];
    path_in_root(path, sizeof path, "sides.wav");
    path_in_root(mono_path, sizeof mono_path, "sides-mono.wav");
    struct recording *rec = recording_open_g711(r, path, NULL, 0);
    struct recording *mono = recording_open(r, mono_path, 1, NULL, 0);
    assert_non_null(rec);
    assert_non_null(mono);

    /* Every byte value on each side, in both laws (the law changes mid-buffer). */
    uint8_t left[2 * PACKET], right[2 * PACKET];
    for (size_t i = 0; i < 2 * PACKET; i++) {
        left[i] = (uint8_t)i;
        right[i] = (uint8_t)(255 - i);
    }
    int16_t pcm[PACKET];
    assert_int_equal(recording_write_g711(rec, left, right, false, PACKET), PACKET);
    assert_int_equal(recording_write_g711(rec, NULL, right, false, PACKET), PACKET);
    assert_int_equal(recording_write_g711(rec, left + PACKET, NULL, true, PACKET), PACKET);
    assert_int_equal(recording_write_g711(rec, NULL, NULL, true, PACKET), PACKET);
    assert_int_equal(recording_write(rec, pcm, PACKET), 0);                        /* G.711 only */
    assert_int_equal(recording_write_g711(mono, left, right, false, PACKET), 0); /* linear: refused */
    assert_int_equal(close_ok(rec, 0), 80);
    assert_int_equal(close_ok(mono, 0), 0);

    SF_INFO info;
    int16_t *buf = read_back(path, &info);
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.frames, 4 * PACKET);
    int16_t ul[PACKET], ur[PACKET], al[PACKET];
    g711_ulaw_decode(ul, left, PACKET);
    g711_ulaw_decode(ur, right, PACKET);
    g711_alaw_decode(al, left + PACKET, PACKET);
    for (size_t i = 0; i < PACKET; i++) {
        assert_int_equal(buf[2 * i], ul[i]);
        assert_int_equal(buf[2 * i + 1], ur[i]);
        assert_int_equal(buf[2 * (PACKET + i)], 0);
        assert_int_equal(buf[2 * (PACKET + i) + 1], ur[i]);
        assert_int_equal(buf[2 * (2 * PACKET + i)], al[i]);
        assert_true(abs(buf[2 * (2 * PACKET + i) + 1]) <= 8); /* A-law's silence is +-8 */
        assert_true(abs(buf[2 * (3 * PACKET + i)]) <= 8);
    }
    free(buf);
    /* An empty recording is still a valid file. */
    buf = read_back(mono_path, &info);
    assert_int_equal(info.frames, 0);
    free(buf);
    recorder_destroy(r);
}

static void test_trim(void **state)
{
    struct recorder_options opt = { .buffer_ms = 500, .buffers = 8 };
    struct recorder *r = recorder_create(root, &opt);
    assert_non_null(r);
    char path[256];

    /* Mono, 2 s, the last 0.5 s trimmed. */
    path_in_root(path, sizeof path, "trim/mono.wav");
    struct recording *rec = recording_open(r, path, 1, NULL, 0);
    assert_non_null(rec);
    write_signal(rec, 11, 16000, PACKET, 1);
    assert_int_equal(close_ok(rec, 4000), 1500);
    check_file(path, 11, 1, 12000);

    /* Stereo, trimmed by one frame, the rest still partly in the memory buffer. */
    path_in_root(path, sizeof path, "trim/stereo.wav");
    rec = recording_open(r, path, 2, NULL, 0);
    assert_non_null(rec);
    write_signal(rec, 12, 8003, 53, 2);
    assert_int_equal(close_ok(rec, 1), 1000);
    check_file(path, 12, 2, 8002);

    /* Trimming more than there is leaves an empty, valid file. */
    path_in_root(path, sizeof path, "trim/all.wav");
    rec = recording_open(r, path, 1, NULL, 0);
    assert_non_null(rec);
    write_signal(rec, 13, 800, PACKET, 1);
    assert_int_equal(close_ok(rec, 100000), 0);
    check_file(path, 13, 1, 0);
    recorder_destroy(r);
}

/* ---- crash recovery ----------------------------------------------------------------------- */

#define CRASH_FRAMES 20000   /* 2.5 s */
#define CRASH_HEADER_AT 16000 /* last header update: every 8000 frames (1 s) */

/* Child process: records CRASH_FRAMES stereo frames, waits until the writer has put them all
 * in the file, and dies without closing anything. Exit status 0 means it got that far. */
static void crash_child(const char *path, const char *partial)
{
    struct recorder_options opt = { .buffer_ms = 100, .buffers = 32, .header_every_ms = 1000 };
    struct recorder *r = recorder_create(root, &opt);
    if (!r)
        _exit(2);
    struct recording *rec = recording_open(r, path, 2, NULL, 0);
    if (!rec)
        _exit(3);
    int16_t pkt[2 * PACKET];
    for (size_t at = 0; at < CRASH_FRAMES; at += PACKET) {
        make_frames(pkt, 21, at, PACKET, 2);
        if (recording_write(rec, pkt, PACKET) != PACKET)
            _exit(4);
    }
    for (int i = 0; i < WAIT_SECONDS * 100; i++) {
        if (file_size(partial) == 44 + CRASH_FRAMES * 4) /* libsndfile's 44-byte PCM header */
            _exit(0);
        usleep(10000);
    }
    _exit(5);
}

static void test_crash_and_repair(void **state)
{
    char path[256], partial[300];
    path_in_root(path, sizeof path, "crash/call.wav");
    snprintf(partial, sizeof partial, "%s%s", path, SUFFIX);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(path, partial);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* What the crash left: only the in-progress name, its header as of the last update. */
    assert_false(exists(path));
    uint32_t off, size;
    wav_data_chunk(partial, &off, &size);
    assert_int_equal(off, 44);
    assert_int_equal(size, CRASH_HEADER_AT * 4);
    assert_int_equal(file_size(partial), off + CRASH_FRAMES * 4);

    /* Start-up repair keeps everything written, not only what the header covered. */
    assert_int_equal(recorder_repair_dir(root), 1);
    assert_false(exists(partial));
    wav_data_chunk(path, &off, &size);
    assert_int_equal(size, CRASH_FRAMES * 4);
    check_file(path, 21, 2, CRASH_FRAMES);
    assert_int_equal(recorder_repair_dir(root), 0); /* nothing left to do */
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return data;
}

static void test_repair_dir_cases(void **state)
{
    char dir[256], p[300], q[300];
    assert_int_equal(mkdir(root, 0750), 0);
    path_in_root(dir, sizeof dir, "deep");
    assert_int_equal(mkdir(dir, 0750), 0);
    path_in_root(dir, sizeof dir, "deep/er");
    assert_int_equal(mkdir(dir, 0750), 0);

    /* A stale non-zero header (updated after 1000 frames, 500 more written) and half a frame. */
    snprintf(p, sizeof p, "%s/scratch.wav", top);
    SF_INFO info = { .samplerate = RECORDER_RATE, .channels = 2,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    int16_t frames[2 * 1500];
    make_frames(frames, 31, 0, 1500, 2);
    assert_int_equal(sf_writef_short(sf, frames, 1000), 1000);
    sf_command(sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
    assert_int_equal(sf_writef_short(sf, frames + 2000, 500), 500);
    size_t len;
    unsigned char *copy = slurp(p, &len); /* the file as a crash would leave it */
    sf_close(sf);
    copy = realloc(copy, len + 3);
    assert_non_null(copy);
    memcpy(copy + len, "\x01\x02\x03", 3);
    snprintf(q, sizeof q, "%s/stale.wav%s", dir, SUFFIX);
    write_bytes(q, copy, len + 3);
    free(copy);

    /* The same, repaired in place by the single-file call (no rename). */
    char single[300];
    snprintf(single, sizeof single, "%s/single.wav", top);
    copy = slurp(q, &len);
    write_bytes(single, copy, len);
    free(copy);
    assert_int_equal(recorder_repair(single), 0);
    check_file(single, 31, 2, 1500);

    char empty[300], junk[300], done_file[300], link[300], target[300];
    snprintf(empty, sizeof empty, "%s/empty.wav%s", dir, SUFFIX);
    write_bytes(empty, "", 0);
    snprintf(junk, sizeof junk, "%s/junk.wav%s", root, SUFFIX);
    write_bytes(junk, "not a wav file at all", 21);
    snprintf(done_file, sizeof done_file, "%s/finished.wav", root);
    write_bytes(done_file, "untouched", 9);
    /* A symlink named like a partial file is neither followed nor renamed. */
    snprintf(target, sizeof target, "%s/target.wav", outside);
    write_bytes(target, "outside", 7);
    snprintf(link, sizeof link, "%s/link.wav%s", root, SUFFIX);
    assert_int_equal(symlink(target, link), 0);

    assert_int_equal(recorder_repair_dir(root), 1);

    snprintf(p, sizeof p, "%s/stale.wav", dir);
    check_file(p, 31, 2, 1500);
    assert_false(exists(q));
    assert_false(exists(empty));
    assert_true(exists(junk)); /* cannot be repaired: left for a human, and logged */
    assert_int_equal(file_size(done_file), 9);
    assert_true(exists(link));
    assert_int_equal(file_size(target), 7);

    assert_int_equal(recorder_repair(NULL), -1);
    assert_int_equal(recorder_repair(junk), -1);
    snprintf(p, sizeof p, "%s/missing.wav", root);
    assert_int_equal(recorder_repair(p), -1);
    assert_int_equal(recorder_repair(dir), -1); /* a folder */
    assert_int_equal(recorder_repair_dir(NULL), -1);
    snprintf(p, sizeof p, "%s/no-such-folder", top);
    assert_int_equal(recorder_repair_dir(p), -1);
}

/* ---- paths -------------------------------------------------------------------------------- */

static void refused(struct recorder *r, const char *path, unsigned channels, const char *why)
{
    char err[512] = "";
    assert_null(recording_open(r, path, channels, err, sizeof err));
    if (!strstr(err, why))
        fail_msg("'%s': error '%s' does not say '%s'", path ? path : "(null)", err, why);
}

static void test_paths_refused(void **state)
{
    assert_null(recorder_create(NULL, NULL));
    assert_null(recorder_create("", NULL));
    struct recorder_options bad = { .buffers = 1 };
    assert_null(recorder_create(root, &bad));
    bad = (struct recorder_options){ .buffers = 33 };
    assert_null(recorder_create(root, &bad));
    bad = (struct recorder_options){ .buffer_ms = 10001 };
    assert_null(recorder_create(root, &bad));

    struct recorder *r = recorder_create(root, NULL);
    assert_non_null(r);
    char p[PATH_MAX + 64];
    refused(r, "/etc/passwd.wav", 1, "outside");
    snprintf(p, sizeof p, "%sX/a.wav", root); /* a sibling whose name starts like the root */
    refused(r, p, 1, "outside");
    snprintf(p, sizeof p, "%s/a.wav", outside);
    refused(r, p, 1, "outside");
    refused(r, "relative/a.wav", 1, "absolute");
    snprintf(p, sizeof p, "%s/../outside/a.wav", root);
    refused(r, p, 1, "'..'");
    snprintf(p, sizeof p, "%s/./a.wav", root);
    refused(r, p, 1, "'.'");
    snprintf(p, sizeof p, "%s/sub/", root);
    refused(r, p, 1, "not a file name");
    snprintf(p, sizeof p, "%s/a.wav%s", root, SUFFIX);
    refused(r, p, 1, "reserved");
    snprintf(p, sizeof p, "%s/a.wav", root);
    refused(r, p, 0, "channels");
    refused(r, p, 3, "channels");
    refused(NULL, p, 1, "no recorder");
    refused(r, NULL, 1, "no recorder");
    size_t n = (size_t)snprintf(p, sizeof p, "%s/", root);
    memset(p + n, 'x', PATH_MAX);
    p[n + PATH_MAX] = '\0';
    refused(r, p, 1, "too long");
    assert_null(recording_open(r, "/etc/x.wav", 1, NULL, 0)); /* no error buffer: still fine */

    /* NULL handles are harmless. */
    int16_t one[2] = { 0 };
    assert_int_equal(recording_write(NULL, one, 1), 0);
    assert_true(recording_failed(NULL));
    assert_int_equal(recording_dropped_frames(NULL), 0);
    assert_int_equal(recorder_dropped_frames(NULL), 0);
    recording_close(NULL, 0, NULL, NULL);
    recorder_destroy(NULL);
    recorder_destroy(r);
}

static void test_symlink_escape_refused(void **state)
{
    struct recorder *r = recorder_create(root, NULL);
    assert_non_null(r);
    char link[256], p[300];
    path_in_root(link, sizeof link, "escape");
    assert_int_equal(symlink(outside, link), 0);

    /* Lexically inside, really outside: refused on the writer thread, before any mkdir. */
    snprintf(p, sizeof p, "%s/new/a.wav", link);
    struct recording *rec = recording_open(r, p, 1, NULL, 0);
    assert_non_null(rec);
    struct box b;
    box_init(&b);
    recording_close(rec, 0, on_done, &b);
    box_wait(&b, 1);
    assert_true(b.had_err);
    assert_non_null(strstr(b.err, "outside"));
    assert_int_equal(b.duration_ms, 0);
    box_destroy(&b);
    snprintf(p, sizeof p, "%s/new", outside);
    assert_false(exists(p));

    /* Directly in the linked folder too. */
    snprintf(p, sizeof p, "%s/b.wav", link);
    rec = recording_open(r, p, 1, NULL, 0);
    assert_non_null(rec);
    box_init(&b);
    recording_close(rec, 0, on_done, &b);
    box_wait(&b, 1);
    assert_non_null(strstr(b.err, "outside"));
    box_destroy(&b);
    snprintf(p, sizeof p, "%s/b.wav%s", outside, SUFFIX);
    assert_false(exists(p));
    recorder_destroy(r);
}

static void test_same_path_twice(void **state)
{
    struct recorder *r = recorder_create(root, NULL);
    assert_non_null(r);
    char p[256];
    path_in_root(p, sizeof p, "twice.wav");
    struct recording *first = recording_open(r, p, 1, NULL, 0);
    struct recording *second = recording_open(r, p, 1, NULL, 0);
    assert_non_null(first);
    assert_non_null(second);
    write_signal(first, 41, 1600, PACKET, 1);

    struct box b;
    box_init(&b);
    recording_close(second, 0, on_done, &b);
    box_wait(&b, 1);
    assert_true(b.had_err);
    assert_non_null(strstr(b.err, "being recorded"));
    box_destroy(&b);

    assert_int_equal(close_ok(first, 0), 200);
    check_file(p, 41, 1, 1600);
    recorder_destroy(r);
}

/* ---- load and back-pressure --------------------------------------------------------------- */

#define MANY 200
#define MANY_THREADS 4
#define MANY_FRAMES (3 * RECORDER_RATE)

struct many_slot {
    struct recording *rec;
    unsigned channels;
    struct box *box;
    uint64_t duration_ms;
    bool had_err;
};

static void many_done(void *arg, uint64_t duration_ms, const char *err)
{
    struct many_slot *s = arg;
    pthread_mutex_lock(&s->box->mu);
    s->duration_ms = duration_ms;
    s->had_err = err != NULL;
    s->box->calls++;
    pthread_cond_broadcast(&s->box->cv);
    pthread_mutex_unlock(&s->box->mu);
}

struct many_job {
    struct many_slot *slots; /* every MANY_THREADS-th slot from `first` is this thread's */
    unsigned first;
    const char *fail;
};

/* Like a media worker: one 20 ms packet per call in turn, then closes them all. */
static void *many_main(void *arg)
{
    struct many_job *j = arg;
    int16_t pkt[2 * PACKET];
    for (size_t at = 0; at < MANY_FRAMES && !j->fail; at += PACKET) {
        for (unsigned i = j->first; i < MANY; i += MANY_THREADS) {
            make_frames(pkt, 1000 + i, at, PACKET, j->slots[i].channels);
            if (recording_write(j->slots[i].rec, pkt, PACKET) != PACKET)
                j->fail = "frames dropped";
        }
    }
    for (unsigned i = j->first; i < MANY; i += MANY_THREADS)
        recording_close(j->slots[i].rec, 0, many_done, &j->slots[i]);
    return NULL;
}

static void test_many_at_once(void **state)
{
    struct recorder_options opt = { .buffer_ms = 500, .buffers = 8 }; /* 4 s of buffers each */
    struct recorder *r = recorder_create(root, &opt);
    assert_non_null(r);
    struct box box;
    box_init(&box);
    struct many_slot *slots = calloc(MANY, sizeof *slots);
    assert_non_null(slots);
    char p[256], err[512];
    for (unsigned i = 0; i < MANY; i++) {
        snprintf(p, sizeof p, "%s/many/%u/call-%u.wav", root, i % 10, i);
        slots[i].channels = 1 + i % 2;
        slots[i].box = &box;
        slots[i].rec = recording_open(r, p, slots[i].channels, err, sizeof err);
        if (!slots[i].rec)
            fail_msg("open %s: %s", p, err);
    }
    pthread_t t[MANY_THREADS];
    struct many_job jobs[MANY_THREADS];
    for (unsigned k = 0; k < MANY_THREADS; k++) {
        jobs[k] = (struct many_job){ slots, k, NULL };
        assert_int_equal(pthread_create(&t[k], NULL, many_main, &jobs[k]), 0);
    }
    for (unsigned k = 0; k < MANY_THREADS; k++) {
        pthread_join(t[k], NULL);
        assert_null(jobs[k].fail);
    }
    box_wait(&box, MANY);
    assert_int_equal(recorder_dropped_frames(r), 0);
    recorder_destroy(r);

    for (unsigned i = 0; i < MANY; i++) {
        assert_false(slots[i].had_err);
        assert_int_equal(slots[i].duration_ms, 3000);
        snprintf(p, sizeof p, "%s/many/%u/call-%u.wav", root, i % 10, i);
        check_file(p, 1000 + i, slots[i].channels, MANY_FRAMES);
    }
    free(slots);
    box_destroy(&box);
}

/* A done() callback that keeps the writer thread busy until the test lets it go. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
};

static void gate_done(void *arg, uint64_t duration_ms, const char *err)
{
    struct gate *g = arg;
    struct timespec until = deadline();
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    int rc = 0;
    while (!g->open && rc == 0)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
    pthread_mutex_unlock(&g->mu);
}

static void test_writer_behind_drops(void **state)
{
    /* Two 100 ms buffers per recording: 1600 frames can wait for a stalled writer. */
    struct recorder_options opt = { .buffer_ms = 100, .buffers = 2 };
    struct recorder *r = recorder_create(root, &opt);
    assert_non_null(r);
    char pa[256], pb[256];
    path_in_root(pa, sizeof pa, "stall.wav");
    path_in_root(pb, sizeof pb, "behind.wav");
    struct recording *a = recording_open(r, pa, 1, NULL, 0);
    struct recording *b = recording_open(r, pb, 1, NULL, 0);
    assert_non_null(a);
    assert_non_null(b);

    struct gate g = { .entered = false, .open = false };
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    recording_close(a, 0, gate_done, &g);
    struct timespec until = deadline();
    pthread_mutex_lock(&g.mu);
    int rc = 0;
    while (!g.entered && rc == 0)
        rc = pthread_cond_timedwait(&g.cv, &g.mu, &until);
    pthread_mutex_unlock(&g.mu);
    assert_true(g.entered);

    /* The writer is stuck in gate_done: 19 packets, of which only the first 10 fit. */
    int16_t pkt[PACKET];
    size_t kept = 0;
    for (size_t at = 0; at < 19 * PACKET; at += PACKET) {
        make_frames(pkt, 51, at, PACKET, 1);
        kept += recording_write(b, pkt, PACKET);
    }
    assert_int_equal(kept, 1600);
    assert_int_equal(recording_dropped_frames(b), 19 * PACKET - 1600);
    assert_int_equal(recorder_dropped_frames(r), 19 * PACKET - 1600);

    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);

    assert_int_equal(close_ok(b, 0), 200);
    check_file(pb, 51, 1, 1600); /* what was kept is intact and in order */
    recorder_destroy(r);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
}

static void test_destroy_finishes_everything(void **state)
{
    struct recorder *r = recorder_create(root, NULL);
    assert_non_null(r);
    char open_path[256], closing_path[256];
    path_in_root(open_path, sizeof open_path, "left-open.wav");
    path_in_root(closing_path, sizeof closing_path, "closing.wav");
    struct recording *left_open = recording_open(r, open_path, 2, NULL, 0);
    struct recording *closing = recording_open(r, closing_path, 1, NULL, 0);
    assert_non_null(left_open);
    assert_non_null(closing);
    write_signal(left_open, 61, 1000, PACKET, 2); /* still in the memory buffer */
    write_signal(closing, 62, 800, PACKET, 1);

    struct box b;
    box_init(&b);
    recording_close(closing, 0, on_done, &b);
    recorder_destroy(r); /* no wait: destroy itself finishes the close and calls done() */
    assert_int_equal(b.calls, 1);
    assert_false(b.had_err);
    assert_int_equal(b.duration_ms, 100);
    box_destroy(&b);

    check_file(closing_path, 62, 1, 800);
    check_file(open_path, 61, 2, 1000);
    char partial[300];
    snprintf(partial, sizeof partial, "%s%s", open_path, SUFFIX);
    assert_false(exists(partial));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stereo_from_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mono_odd_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_g711_sides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_and_repair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair_dir_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_escape_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_path_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_behind_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_finishes_everything, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
