/* SPSC frame ring. See pcm_ring.h. */
#include "conference/pcm_ring.h"

#include <string.h>

_Static_assert((PCM_RING_SLOTS & (PCM_RING_SLOTS - 1)) == 0, "slots must be a power of two");

void pcm_ring_init(struct pcm_ring *r)
{
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
}

bool pcm_ring_push(struct pcm_ring *r, const int16_t *pcm, bool voiced)
{
    unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h - t >= PCM_RING_SLOTS)
        return false;
    struct pcm_ring_slot *s = &r->slot[h % PCM_RING_SLOTS];
    if (pcm && voiced)
        memcpy(s->pcm, pcm, sizeof s->pcm);
    s->voiced = pcm && voiced;
    atomic_store_explicit(&r->head, h + 1, memory_order_release); /* publishes the slot */
    return true;
}

bool pcm_ring_pop(struct pcm_ring *r, int16_t pcm[PCM_RING_SAMPLES], bool *voiced, unsigned keep)
{
    unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    unsigned h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (h == t)
        return false;
    if (keep > 0 && h - t > keep)
        t = h - keep;
    const struct pcm_ring_slot *s = &r->slot[t % PCM_RING_SLOTS];
    *voiced = s->voiced;
    if (s->voiced)
        memcpy(pcm, s->pcm, sizeof s->pcm);
    atomic_store_explicit(&r->tail, t + 1, memory_order_release); /* the slot is free again */
    return true;
}

unsigned pcm_ring_count(struct pcm_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) -
           atomic_load_explicit(&r->tail, memory_order_acquire);
}
