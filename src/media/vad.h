/* Voice activity detection for one 8 kHz audio stream (call:record's silence_seconds, quality
 * inspection): the adaptive energy + zero-crossing detector measured in the speech notes (§3),
 * 100 % recall on clean speech, 0.9 ms CPU per channel-minute.
 *
 * Each 10 ms sub-frame is voiced if it is louder than -55 dBFS and either 10 dB above the noise
 * floor, or 5 dB above it with more than 25 zero crossings (fricatives). The floor starts at the
 * first sub-frame's level, follows falling levels at once and rising ones over about 5 s, and
 * never goes below -70 dBFS. A burst shorter than VAD_MIN_BURST_MS (a click) is not voice.
 * No allocation; one struct vad per stream, used by one thread at a time. */
#ifndef VCS_VAD_H
#define VCS_VAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VAD_RATE 8000
#define VAD_SUBFRAME 80      /* samples in 10 ms */
#define VAD_FRAME 160        /* samples in the usual 20 ms packet */
#define VAD_MIN_BURST_MS 30
/* call:record trims the trailing silence back to the last voice plus this much (speech notes). */
#define VAD_TRIM_KEEP_MS 200

struct vad {
    float floor_db;
    bool have_floor;
    bool heard_voice;
    unsigned run_ms;     /* ms of voiced sub-frames in a row, capped at VAD_MIN_BURST_MS (voice) */
    uint64_t silence_ms; /* since the last voice (or since the start) */
};

void vad_init(struct vad *v);

/* Feeds n samples, a positive multiple of VAD_SUBFRAME (normally VAD_FRAME). Returns 1 if any
 * sub-frame was voice, 0 if none, -1 for bad arguments (nothing is counted then). */
int vad_process(struct vad *v, const int16_t *samples, size_t n);

/* Milliseconds since the last voice, or since vad_init() if none yet: compare with
 * silence_seconds (only once vad_heard_voice(), per the speech notes). */
uint64_t vad_silence_ms(const struct vad *v);

bool vad_heard_voice(const struct vad *v);

/* 8 kHz frames to cut from the end of a recording so that VAD_TRIM_KEEP_MS of the trailing
 * silence remain (for recording_close); 0 before any voice: a recording without voice is kept. */
size_t vad_trim_frames(const struct vad *v);

#endif
