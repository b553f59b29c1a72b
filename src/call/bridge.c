/* Bridged media. See bridge.h. */
#include "call/bridge.h"

#include <string.h>

#include "call/call.h"
#include "media/g711.h"
#include "media/jitter.h"

static bool is_alaw(const struct call *c)
{
    return c->have_remote && c->remote.codec_pt == SDP_PT_PCMA;
}

int bridge_start(struct call *a, struct call *b)
{
    if (a->bridge == b)
        return 0;
    if ((!a->jb && !(a->jb = jitter_new())) || (!b->jb && !(b->jb = jitter_new())))
        return -1;
    jitter_reset(a->jb);
    jitter_reset(b->jb);
    a->bridge = b;
    b->bridge = a;
    return 0;
}

void bridge_stop(struct call *c)
{
    if (!c->bridge)
        return;
    c->bridge->bridge = NULL;
    c->bridge = NULL;
}

void bridge_received(struct call *c, uint32_t ts, uint16_t seq, const uint8_t *payload, size_t n)
{
    if (c->bridge && c->jb)
        jitter_put(c->jb, ts, seq, payload, n);
}

void bridge_frame(struct call *c, uint8_t *frame)
{
    struct call *peer = c->bridge;
    bool alaw = is_alaw(c);
    if (!peer || !peer->jb || jitter_get(peer->jb, frame) != JITTER_FRAME) {
        memset(frame, alaw ? G711_ALAW_SILENCE : G711_ULAW_SILENCE, FRAME_SAMPLES);
        return;
    }
    if (is_alaw(peer) == alaw)
        return;
    int16_t pcm[FRAME_SAMPLES];
    call_decode(peer, pcm, frame, FRAME_SAMPLES);
    if (alaw)
        g711_alaw_encode(frame, pcm, FRAME_SAMPLES);
    else
        g711_ulaw_encode(frame, pcm, FRAME_SAMPLES);
}

void bridge_free(struct call *c)
{
    bridge_stop(c);
    jitter_free(c->jb);
    c->jb = NULL;
}
