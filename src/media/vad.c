/* Energy + zero-crossing VAD; thresholds are the ones measured in the speech notes §3.1. */
#include "media/vad.h"

#include <math.h>

#define SUBFRAME_MS 10
#define ABS_MIN_DB (-55.0f)   /* quieter than this is never voice */
#define FLOOR_MIN_DB (-70.0f)
#define OVER_FLOOR_DB 10.0f
#define OVER_FLOOR_ZC_DB 5.0f /* with many zero crossings: fricatives are quiet but hissy */
#define MIN_CROSSINGS 25
#define FLOOR_RISE 0.002f     /* per 10 ms: about 5 s to follow a rising noise level */
#define SILENT_DB (-120.0f)   /* stands for the level of digital silence, log10(0) */

void vad_init(struct vad *v)
{
    if (v)
        *v = (struct vad){ 0 };
}

static bool subframe_voiced(struct vad *v, const int16_t *x)
{
    int64_t energy = 0;
    unsigned crossings = 0;
    for (size_t i = 0; i < VAD_SUBFRAME; i++) {
        energy += (int64_t)x[i] * x[i];
        if (i > 0 && (x[i - 1] < 0) != (x[i] < 0))
            crossings++;
    }
    float db = SILENT_DB;
    if (energy > 0)
        db = 10.0f * log10f((float)energy / VAD_SUBFRAME / (32768.0f * 32768.0f));

    if (!v->have_floor) {
        /* Starting from the first level (not from the minimum) keeps steady line noise from
         * counting as voice for the seconds the floor would need to rise to it. */
        v->floor_db = db;
        v->have_floor = true;
    }
    bool voiced = db > ABS_MIN_DB &&
                  (db > v->floor_db + OVER_FLOOR_DB ||
                   (db > v->floor_db + OVER_FLOOR_ZC_DB && crossings > MIN_CROSSINGS));

    if (db < v->floor_db)
        v->floor_db = db;
    else
        v->floor_db += (db - v->floor_db) * FLOOR_RISE;
    if (v->floor_db < FLOOR_MIN_DB)
        v->floor_db = FLOOR_MIN_DB;
    return voiced;
}

int vad_process(struct vad *v, const int16_t *samples, size_t n)
{
    if (!v || !samples || n == 0 || n % VAD_SUBFRAME != 0)
        return -1;
    int any = 0;
    for (size_t off = 0; off < n; off += VAD_SUBFRAME) {
        if (!subframe_voiced(v, samples + off))
            v->run_ms = 0;
        else if (v->run_ms < VAD_MIN_BURST_MS)
            v->run_ms += SUBFRAME_MS;
        if (v->run_ms >= VAD_MIN_BURST_MS) {
            v->heard_voice = true;
            v->silence_ms = 0;
            any = 1;
        } else {
            /* The first sub-frames of a burst count as silence until the burst proves long
             * enough; then the reset above makes up for them. */
            v->silence_ms += SUBFRAME_MS;
        }
    }
    return any;
}

uint64_t vad_silence_ms(const struct vad *v)
{
    return v ? v->silence_ms : 0;
}

bool vad_heard_voice(const struct vad *v)
{
    return v && v->heard_voice;
}

size_t vad_trim_frames(const struct vad *v)
{
    if (!v || !v->heard_voice || v->silence_ms <= VAD_TRIM_KEEP_MS)
        return 0;
    return (size_t)(v->silence_ms - VAD_TRIM_KEEP_MS) * (VAD_RATE / 1000);
}
