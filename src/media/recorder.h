/* Call recordings (SPEC 5.1 call:record, SPEC 8 full-call recording): 8 kHz 16-bit PCM WAV
 * files, mono or stereo (interleaved; left = caller, right = the other side), written by one
 * file-writer thread per recorder so that media threads never touch the disk.
 *
 * Media side: recording_write() copies into a per-recording memory buffer (recorder_options)
 * and hands a full one to the writer through an MPSC queue. A whole-call recording keeps the
 * call's G.711 bytes (recording_open_g711): half the memory of linear samples, and the writer
 * thread, not the media thread, decodes them. It never allocates, never waits for
 * the disk, and takes a lock only when it hands a buffer over. If the writer falls behind so that
 * no buffer is free, the frames are dropped and counted (recording_dropped_frames()).
 * One recording's open/write/close must come from one thread at a time (its call's worker);
 * different recordings may be used from any threads at once.
 *
 * Paths: absolute, inside the recordings root given at create time, without "." or ".."
 * components. Missing parent folders are created (0750) on the writer thread, one at a time,
 * each checked with realpath() to lie inside the root, so a symlink can neither lead the file
 * outside nor make us create folders outside.
 *
 * Crash safety: audio goes to "<path>" RECORDER_PARTIAL_SUFFIX while recording and is renamed to
 * <path> when closed, so a crash leaves only *.inprogress files, never a half-written file under
 * a final name. libsndfile writes the WAV header when the file is created; the writer then
 * appends the samples straight through and sets the header's sizes every header_every_ms and
 * at the end (no SNDFILE is held open while recording: it cost 8 KB per recording). recorder_repair_dir() at start-up fixes the header of
 * every *.inprogress file from the file's length (keeping everything written, not just what
 * the last header update covered) and renames it to its final name. */
#ifndef VCS_RECORDER_H
#define VCS_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORDER_RATE 8000
#define RECORDER_PARTIAL_SUFFIX ".inprogress"

struct recorder_options {
    unsigned buffer_ms;       /* audio per hand-off to the writer; 0: 100 ms; at most 10000 */
    unsigned buffers;         /* memory buffers per recording, 2..32; 0: 4 (300 ms of writer delay) */
    unsigned header_every_ms; /* WAV header rewrite period; 0: 2000 ms */
};

struct recorder;
struct recording;

/* Creates root (and its parents, 0750) if missing and starts the writer thread.
 * opt may be NULL for the defaults. Returns NULL with a logged reason. */
struct recorder *recorder_create(const char *root, const struct recorder_options *opt);

/* Closes recordings still open (as recording_close(rec, 0, NULL, NULL), with a warning; their
 * handles become invalid), finishes every queued close (done() is still called), joins the
 * writer. Must not run concurrently with any other call on the recorder or its recordings. */
void recorder_destroy(struct recorder *r);

/* Frames dropped by every recording of r so far because the writer was behind. */
uint64_t recorder_dropped_frames(const struct recorder *r);

/* Starts recording into path with 1 or 2 channels. The path is checked here lexically (absolute,
 * inside the root, no "."/".." component, not ending in RECORDER_PARTIAL_SUFFIX); the folders
 * and the file are created on the writer thread, whose errors (a symlink leading outside the
 * root, "already being recorded", disk errors) make recording_failed() true and reach done().
 * Allocates all buffers now. Returns NULL with err filled (if err is not NULL). */
struct recording *recording_open(struct recorder *r, const char *path, unsigned channels,
                                 char *err, size_t errlen);

/* The same for a stereo recording fed with G.711 (recording_write_g711), written as 16-bit PCM
 * like the others. */
struct recording *recording_open_g711(struct recorder *r, const char *path, char *err,
                                      size_t errlen);

/* Appends nframes frames (nframes * channels interleaved samples). Never blocks on the disk.
 * Returns the number of frames kept: fewer when the writer is behind (the rest are dropped and
 * counted) and 0 once the recording has failed. 0 for a recording_open_g711() one. */
size_t recording_write(struct recording *rec, const int16_t *frames, size_t nframes);

/* recording_open_g711() recordings only: nframes G.711 bytes per side in one law (A-law when
 * alaw, else mu-law), interleaved straight into the buffer; NULL means silence on that side.
 * Same return value as recording_write(); 0 for a linear recording. */
size_t recording_write_g711(struct recording *rec, const uint8_t *left, const uint8_t *right,
                            bool alaw, size_t nframes);

/* True once the writer could not create or write the file; later writes are ignored. Cheap
 * enough to poll every packet, so call:record can stop early. */
bool recording_failed(const struct recording *rec);

/* Frames of this recording dropped so far because the writer was behind. */
uint64_t recording_dropped_frames(const struct recording *rec);

/* Called once on the writer thread after the file is final (or abandoned): duration_ms is the
 * audio in the file after trimming; err is NULL on success, otherwise a message (valid only
 * during the call). After a write error the audio written before it is kept, and err says so. */
typedef void recording_done_fn(void *arg, uint64_t duration_ms, const char *err);

/* Flushes what is buffered, removes the last trim_frames frames (the silence that ended a
 * call:record; all of them if there are fewer), finalizes the header, closes and renames the
 * file, then calls done(arg, ...) on the writer thread (done may be NULL). rec is invalid after
 * this call. */
void recording_close(struct recording *rec, size_t trim_frames, recording_done_fn *done, void *arg);

/* Makes an interrupted recording a valid WAV file: sets the RIFF and data sizes from the file
 * length, cutting a partly written frame. (libsndfile's own SFM_RDWR + SFC_UPDATE_HEADER_NOW
 * trusts a stale non-zero data size and would drop the audio written after the last header
 * update.) Does not rename. Returns 0, or -1 with a logged reason. */
int recorder_repair(const char *path);

/* Start-up, before any recording is opened under dir: walks dir (not following symlinks),
 * repairs every regular file named *RECORDER_PARTIAL_SUFFIX and renames it to its name without
 * the suffix (replacing a file of that name: the interrupted recording is the newer one).
 * An empty one (the crash came before the header) is deleted. Returns the number of files
 * recovered, or -1 if dir cannot be walked; a file that cannot be repaired is logged and left. */
int recorder_repair_dir(const char *dir);

#endif
