/* Bridged media. See bridge.h. */
#include "call/bridge.h"

#include <stdio.h>
#include <string.h>

#include "call/call.h"
#include "call/engine.h"
#include "call/worker.h"
#include "core/log.h"
#include "sip/sip_stack.h"
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
    dtmf_dedup_flush(&a->digits); /* keys from now on are the other side's */
    dtmf_dedup_flush(&b->digits);
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

void bridge_dtmf(struct call *c, char digit)
{
    if (c->have_remote && c->remote.dtmf_pt >= 0) {
        if (dtmf_rtp_tx_append(&c->dtmf_tx, digit) != 0)
            log_info("call %s: key %c not relayed: %d keys wait already", c->id, digit,
                     DTMF_TX_MAX_QUEUED);
        return;
    }
    char body[48];
    snprintf(body, sizeof body, "Signal=%c\r\nDuration=160\r\n", digit);
    sip_info(engine_services(worker_engine(c->w))->sip, c->leg_id, "application/dtmf-relay", body);
}

void bridge_free(struct call *c)
{
    bridge_stop(c);
    jitter_free(c->jb);
    c->jb = NULL;
}
