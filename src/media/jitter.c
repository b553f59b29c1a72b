/* Jitter buffer over speexdsp. See jitter.h.
 *
 * Memory: a slot holds one 20 ms frame, so a longer packet goes in as consecutive one-frame
 * packets (timestamps one frame apart) that speexdsp plays one per tick like any other: no
 * slot has to be as large as the largest packet, and nothing is carried over between ticks. */
#include "media/jitter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_jitter.h>

/* speexdsp re-estimates the best delay on every tick unless told when to: that estimate is
 * most of the buffer's cost (about 3,000 instructions, against a few hundred for a put and a
 * get). Every ADJUST_TICKS ticks (100 ms) is soon enough to follow the network's jitter; a
 * lost packet still makes speexdsp look at once. */
#define ADJUST_TICKS 5

struct slot {
    uint8_t data[JITTER_FRAME];
    bool busy;  /* given to speexdsp, not handed back yet */
    bool stale; /* busy, and already behind the playout point at the last put */
    uint32_t end; /* timestamp just after the frame */
};

struct jitter {
    JitterBuffer *jb;
    struct slot slots[JITTER_SLOTS];
    unsigned ticks;
    bool synced; /* speexdsp has a playout point (it is out of its reset state) */
    struct jitter_stats stats;
};

/* speexdsp hands a packet's data back through this when it drops the packet itself (late,
 * overflow, reset): the slot is free again. */
static void release_slot(void *data)
{
    ((struct slot *)data)->busy = false;
}

struct jitter *jitter_new(void)
{
    struct jitter *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->jb = jitter_buffer_init(JITTER_FRAME);
    if (!j->jb) {
        free(j);
        return NULL;
    }
    /* With a destroy callback speexdsp keeps our pointers instead of copying each packet into
     * memory of its own (malloc per packet). */
    jitter_buffer_ctl(j->jb, JITTER_BUFFER_SET_DESTROY_CALLBACK, (void *)release_slot);
    jitter_buffer_update_delay(j->jb, NULL, NULL); /* from now on, only when jitter_get says */
    return j;
}

void jitter_free(struct jitter *j)
{
    if (!j)
        return;
    jitter_buffer_destroy(j->jb);
    free(j);
}

/* speexdsp silently ignores a packet too far behind its playout point: it neither keeps it nor
 * calls the destroy callback, so its slot would stay busy for ever. Every put starts with
 * speexdsp dropping (through the callback) what it holds behind the playout point, so a slot
 * that was already behind it at the previous put and is still busy now is not held any more.
 * Only meaningful while speexdsp is synced: in its reset state it has no playout point, keeps
 * every packet and drops nothing. */
static void reclaim_stale(struct jitter *j)
{
    if (!j->synced)
        return;
    uint32_t point = (uint32_t)jitter_buffer_get_pointer_timestamp(j->jb);
    for (int i = 0; i < JITTER_SLOTS; i++) {
        struct slot *s = &j->slots[i];
        if (s->busy && s->stale)
            s->busy = false;
        s->stale = s->busy && (int32_t)(s->end - point) <= 0;
    }
}

void jitter_put(struct jitter *j, uint32_t ts, uint16_t seq, const uint8_t *payload, size_t len)
{
    if (len == 0 || len > JITTER_MAX_PAYLOAD) {
        j->stats.dropped_size++;
        return;
    }
    reclaim_stale(j);
    /* All of the packet's frames, or none of it: a hole inside a packet is no better. */
    size_t pieces = (len + JITTER_FRAME - 1) / JITTER_FRAME;
    struct slot *free_slots[JITTER_MAX_PAYLOAD / JITTER_FRAME];
    size_t found = 0;
    for (int i = 0; i < JITTER_SLOTS && found < pieces; i++)
        if (!j->slots[i].busy)
            free_slots[found++] = &j->slots[i];
    if (found < pieces) {
        j->stats.dropped_full++;
        return;
    }
    for (size_t k = 0; k < pieces; k++) {
        size_t n = len - k * JITTER_FRAME < JITTER_FRAME ? len - k * JITTER_FRAME : JITTER_FRAME;
        struct slot *s = free_slots[k];
        s->busy = true;
        s->stale = false;
        memcpy(s->data, payload + k * JITTER_FRAME, n);
        JitterBufferPacket p = { .data = (char *)s->data, .len = (spx_uint32_t)n,
                                 .timestamp = ts + (uint32_t)(k * JITTER_FRAME),
                                 .span = (spx_uint32_t)n, .sequence = seq };
        s->end = p.timestamp + p.span;
        int point = jitter_buffer_get_pointer_timestamp(j->jb);
        jitter_buffer_put(j->jb, &p);
        if (jitter_buffer_get_pointer_timestamp(j->jb) != point)
            j->synced = false; /* it reset itself (too many misses) to resync on this packet */
    }
    j->stats.put++;
}

size_t jitter_get(struct jitter *j, uint8_t frame[JITTER_FRAME])
{
    size_t filled = 0;
    JitterBufferPacket p = { 0 };
    spx_int32_t offset = 0;
    if (jitter_buffer_get(j->jb, &p, JITTER_FRAME, &offset) == JITTER_BUFFER_OK && p.data) {
        struct slot *s = (struct slot *)(void *)p.data;
        filled = p.len < JITTER_FRAME ? p.len : JITTER_FRAME;
        memcpy(frame, s->data, filled);
        s->busy = false;
        j->synced = true;
    }
    if (++j->ticks % ADJUST_TICKS == 0)
        jitter_buffer_update_delay(j->jb, NULL, NULL);
    jitter_buffer_tick(j->jb);
    if (!filled) {
        j->stats.missing++;
        return 0;
    }
    j->stats.got++;
    if (filled < JITTER_FRAME)
        memset(frame + filled, frame[filled - 1], JITTER_FRAME - filled); /* a short packet: hold its last level */
    return JITTER_FRAME;
}

void jitter_reset(struct jitter *j)
{
    jitter_buffer_reset(j->jb);
    j->synced = false;
}

void jitter_get_stats(const struct jitter *j, struct jitter_stats *out)
{
    *out = j->stats;
}
