/* A single-producer, single-consumer ring of 20 ms linear frames between two threads (or one):
 * how a conference member's worker and the worker that mixes its room hand audio to each
 * other without a lock. Fixed slots inside the struct: nothing is allocated per frame.
 * The producer never overwrites (a full ring drops the new frame); the consumer may skip the
 * oldest frames so that the latency stays bounded when the producer's tick ran ahead. */
#ifndef VCS_PCM_RING_H
#define VCS_PCM_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PCM_RING_SAMPLES 160 /* 20 ms at 8 kHz */
#define PCM_RING_SLOTS 8     /* a power of two: indices wrap with the counters */

struct pcm_ring_slot {
    int16_t pcm[PCM_RING_SAMPLES];
    bool voiced; /* false: the producer had nothing (silence, muted) */
};

struct pcm_ring {
    _Atomic unsigned head; /* written by the producer only */
    _Atomic unsigned tail; /* written by the consumer only */
    struct pcm_ring_slot slot[PCM_RING_SLOTS];
};

void pcm_ring_init(struct pcm_ring *r);
/* Producer: false when the ring is full (the frame is dropped). pcm NULL: an unvoiced frame. */
bool pcm_ring_push(struct pcm_ring *r, const int16_t *pcm, bool voiced);
/* Consumer: the oldest frame into pcm and voiced (false: none waits; pcm is left alone when
 * the frame is unvoiced). When more than keep (> 0) frames wait, the older ones are skipped. */
bool pcm_ring_pop(struct pcm_ring *r, int16_t pcm[PCM_RING_SAMPLES], bool *voiced, unsigned keep);
/* Either side: frames waiting now. */
unsigned pcm_ring_count(struct pcm_ring *r);

#endif
