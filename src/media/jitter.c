/* Jitter buffer over speexdsp. See jitter.h. */
#include "media/jitter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <speex/speex_jitter.h>

struct slot {
    char data[JITTER_MAX_PAYLOAD];
    bool busy;
};

struct jitter {
    JitterBuffer *jb;
    struct slot slots[JITTER_SLOTS];
    /* A packet longer than one frame is played out over several ticks from here. */
    uint8_t rest[JITTER_MAX_PAYLOAD];
    size_t rest_len, rest_pos;
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
    return j;
}

void jitter_free(struct jitter *j)
{
    if (!j)
        return;
    jitter_buffer_destroy(j->jb);
    free(j);
}

void jitter_put(struct jitter *j, uint32_t ts, uint16_t seq, const uint8_t *payload, size_t len)
{
    if (len == 0 || len > JITTER_MAX_PAYLOAD) {
        j->stats.dropped_size++;
        return;
    }
    struct slot *s = NULL;
    for (int i = 0; i < JITTER_SLOTS && !s; i++)
        if (!j->slots[i].busy)
            s = &j->slots[i];
    if (!s) {
        j->stats.dropped_full++;
        return;
    }
    s->busy = true;
    memcpy(s->data, payload, len);
    JitterBufferPacket p = { .data = s->data, .len = (spx_uint32_t)len, .timestamp = ts,
                             .span = (spx_uint32_t)len, .sequence = seq };
    jitter_buffer_put(j->jb, &p);
    j->stats.put++;
}

size_t jitter_get(struct jitter *j, uint8_t frame[JITTER_FRAME])
{
    size_t filled = 0;
    if (j->rest_pos < j->rest_len) {
        filled = j->rest_len - j->rest_pos < JITTER_FRAME ? j->rest_len - j->rest_pos : JITTER_FRAME;
        memcpy(frame, j->rest + j->rest_pos, filled);
        j->rest_pos += filled;
    } else {
        JitterBufferPacket p = { 0 };
        spx_int32_t offset = 0;
        if (jitter_buffer_get(j->jb, &p, JITTER_FRAME, &offset) == JITTER_BUFFER_OK && p.data) {
            struct slot *s = (struct slot *)p.data;
            size_t len = p.len;
            filled = len < JITTER_FRAME ? len : JITTER_FRAME;
            memcpy(frame, s->data, filled);
            if (len > filled) {
                memcpy(j->rest, s->data + filled, len - filled);
                j->rest_len = len - filled;
                j->rest_pos = 0;
            }
            s->busy = false;
        }
    }
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
    j->rest_len = j->rest_pos = 0;
}

void jitter_get_stats(const struct jitter *j, struct jitter_stats *out)
{
    *out = j->stats;
}
