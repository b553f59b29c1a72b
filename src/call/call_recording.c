/* The whole-call recording (SPEC 8): one stereo WAV per answered call under
 * <recordings>/calls/YYYY-MM-DD/<call id>.wav, left = what the caller sent, right = what the
 * caller heard, 20 ms per media tick on the wall clock (silence where nothing came), written by
 * the recorder thread (crash-safe: see recorder.h). Its path goes into the CDR as soon as it
 * starts, so a crash still leaves the row pointing at the repaired file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "call/call.h"
#include "call/engine.h"
#include "call/worker.h"
#include "core/clock.h"
#include "core/log.h"
#include "events/events.h"
#include "media/recorder.h"
#include "store/store.h"

static const struct engine_services *svc_of(const struct call *c)
{
    return engine_services(worker_engine(c->w));
}

void call_recording_start(struct call *c)
{
    if (c->callrec || !c->callrec_wanted || c->ended || !c->cdr.answer_ms)
        return;
    char rel[sizeof c->cdr.recording], abs[1024], err[256];
    time_t now = (time_t)(clock_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(rel, sizeof rel, "calls/%04d-%02d-%02d/%s.wav", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, c->id);
    snprintf(abs, sizeof abs, "%s/%s", svc_of(c)->sandbox.recordings_dir, rel);
    if (!c->callrec_ring && !(c->callrec_ring = calloc(1, sizeof *c->callrec_ring))) {
        log_warn("call %s: no memory for the call recording", c->id);
        return;
    }
    c->callrec_ring->head = c->callrec_ring->tail = 0;
    c->callrec = recording_open_g711(svc_of(c)->recorder, abs, err, sizeof err);
    if (!c->callrec) {
        log_warn("call %s: call recording not started: %s", c->id, err);
        return;
    }
    c->callrec_started_ms = clock_mono_ms();
    snprintf(c->cdr.recording, sizeof c->cdr.recording, "%s", rel);
    store_cdr_update(svc_of(c)->store, &c->cdr);
}

void call_recording_tick(struct call *c, const uint8_t *heard)
{
    if (!c->callrec)
        return;
    /* G.711 as sent and received: the recorder thread decodes it. */
    struct frame_ring *r = c->callrec_ring;
    const uint8_t *left = r->head != r->tail ? r->frames[r->tail++ % RING_SLOTS] : NULL;
    bool alaw = c->have_remote && c->remote.codec_pt == SDP_PT_PCMA;
    if (c->callrec_paused) /* the ring was taken from all the same: latency must not grow */
        recording_write_g711(c->callrec, NULL, NULL, alaw, FRAME_SAMPLES);
    else
        recording_write_g711(c->callrec, left, heard, alaw, FRAME_SAMPLES);
}

/* Appends "from-to" (seconds into the recording, ms precision) to the CDR var. */
static void note_pause(struct call *c, uint64_t until_ms)
{
    size_t len = strlen(c->callrec_pauses);
    uint64_t from = c->callrec_paused_ms - c->callrec_started_ms, to = until_ms - c->callrec_started_ms;
    snprintf(c->callrec_pauses + len, sizeof c->callrec_pauses - len, "%s%llu.%03llu-%llu.%03llu",
             len ? "," : "", (unsigned long long)(from / 1000), (unsigned long long)(from % 1000),
             (unsigned long long)(to / 1000), (unsigned long long)(to % 1000));
    call_script_set_var(c, "recording_paused", c->callrec_pauses);
}

void call_recording_pause(struct call *c, bool pause)
{
    if (!c->callrec || pause == c->callrec_paused)
        return;
    c->callrec_paused = pause;
    if (pause)
        c->callrec_paused_ms = clock_mono_ms();
    else
        note_pause(c, clock_mono_ms());
}

/* recording.ready, once the recorder has closed the file (on its thread). */
struct ready {
    char account[sizeof ((struct cdr_row *)0)->account];
    char call_id[sizeof ((struct cdr_row *)0)->call_id];
    char path[sizeof ((struct cdr_row *)0)->recording];
};

static void recording_ready(void *arg, uint64_t duration_ms, const char *err)
{
    struct ready *r = arg;
    if (!err)
        events_emit(r->account, "recording.ready",
                    json_pack("{s:s,s:s,s:I}", "call_id", r->call_id, "path", r->path,
                              "duration_ms", (json_int_t)duration_ms));
    free(r);
}

void call_recording_stop(struct call *c)
{
    if (!c->callrec)
        return;
    if (c->callrec_paused) {
        note_pause(c, clock_mono_ms());
        c->callrec_paused = false;
    }
    struct ready *r = calloc(1, sizeof *r);
    if (r) {
        snprintf(r->account, sizeof r->account, "%s", c->cdr.account);
        snprintf(r->call_id, sizeof r->call_id, "%s", c->id);
        snprintf(r->path, sizeof r->path, "%s", c->cdr.recording);
    }
    recording_close(c->callrec, 0, r ? recording_ready : NULL, r);
    c->callrec = NULL;
}
