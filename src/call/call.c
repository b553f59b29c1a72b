/* The call state machine and its media. See call.h. */
#include "call/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>
#include <lauxlib.h>

#include "billing/billing.h"
#include "call/bridge.h"
#include "call/call_billing.h"
#include "call/engine.h"
#include "call/live_calls.h"
#include "call/outleg.h"
#include "call/worker.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "trunk/gateways.h"
#include "limits/limits.h"
#include "media/g711.h"
#include "media/rtp_io.h"
#include "media/jitter.h"
#include "media/prompt_cache.h"
#include "media/recorder.h"
#include "numbers/number_table.h"
#include "script/script_set.h"
#include "sip/sip_stack.h"

#define FRAME_US 20000u
#define SEND_SLACK_US 2000u      /* a tick a little early still sends its packet */
#define RESYNC_US 100000u        /* further behind than this: skip ahead, never burst */
#define RTCP_INTERVAL_US 5000000u
#define SIP_LINGER_MS 40000      /* how long a finished call waits for SIP to let go */
#define MEDIA_CHECK_US 1000000u  /* how often a call looks for a silent peer (media.timeout_s) */

static const struct engine_services *svc_of(const struct call *c)
{
    return engine_services(worker_engine(c->w));
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* ---- SDP ---------------------------------------------------------------------------------- */

int call_sdp(const struct call *c, char *buf, size_t cap)
{
    struct sdp_media m = c->remote;
    if (!c->have_remote) { /* offerless INVITE, or an outbound leg: we offer */
        m.codec_pt = c->offer_pts[0];
        m.n_offer = c->n_offer;
        memcpy(m.offer_pts, c->offer_pts, sizeof m.offer_pts);
        m.dtmf_pt = 101;
    }
    return sdp_write(buf, cap, svc_of(c)->media_ip, c->rtp.port, c->sdp_id, c->sdp_version, &m,
                     c->our_dir);
}

void call_apply_remote(struct call *c, const struct sdp_media *m)
{
    c->remote = *m;
    c->have_remote = true;
    c->our_dir = sdp_answer_direction(m->dir);
    if (rtp_session_set_remote(&c->rtp, m->addr, m->port) != 0)
        log_warn("call %s: unusable media address %s", c->id, m->addr);
    /* No telephone-event: the keys can only come as tones in the audio. */
    if (m->dtmf_pt < 0 && !c->inband.det && dtmf_inband_init(&c->inband) != 0)
        log_warn("call %s: no memory for in-band DTMF detection", c->id);
}

void call_on_digit(struct call *c, enum dtmf_source src, char digit)
{
    if (!c->ended && dtmf_dedup_push(&c->digits, src, digit, clock_mono_ms()) == 1) {
        log_debug("call %s: key %c", c->id, digit);
        if (c->bridge) { /* for the other side, not for the script */
            char key = dtmf_dedup_pop(&c->digits);
            bridge_dtmf(c->bridge, key ? key : digit);
            return;
        }
        call_digit_arrived(c);
    }
}

/* ---- media -------------------------------------------------------------------------------- */

static uint8_t silence_byte(const struct call *c)
{
    return c->have_remote && c->remote.codec_pt == SDP_PT_PCMA ? G711_ALAW_SILENCE : G711_ULAW_SILENCE;
}


static void record_frame(struct call *c, const int16_t *pcm, size_t n);

static void ring_push(struct call *c, struct frame_ring *r, const uint8_t *payload, size_t n)
{
    if (r->head - r->tail == RING_SLOTS)
        r->tail++; /* full: drop the oldest, latency must not grow */
    uint8_t *slot = r->frames[r->head % RING_SLOTS];
    memcpy(slot, payload, n);
    memset(slot + n, silence_byte(c), FRAME_SAMPLES - n);
    r->head++;
}

void call_decode(const struct call *c, int16_t *pcm, const uint8_t *g711, size_t n)
{
    if (c->have_remote && c->remote.codec_pt == SDP_PT_PCMA)
        g711_alaw_decode(pcm, g711, n);
    else
        g711_ulaw_decode(pcm, g711, n);
}

void call_ring_take(const struct call *c, struct frame_ring *r, int16_t pcm[FRAME_SAMPLES])
{
    if (r->head != r->tail)
        call_decode(c, pcm, r->frames[r->tail++ % RING_SLOTS], FRAME_SAMPLES);
    else
        memset(pcm, 0, FRAME_SAMPLES * sizeof *pcm);
}

/* call:record, once per tick: the caller's next 20 ms (silence if none came) go to the file
 * and through voice detection. */
static void record_tick(struct call *c)
{
    int16_t pcm[FRAME_SAMPLES];
    call_ring_take(c, c->rec_ring, pcm);
    record_frame(c, pcm, FRAME_SAMPLES);
}

/* The caller's audio goes to the file and through voice detection. */
static void record_frame(struct call *c, const int16_t *pcm, size_t n)
{
    recording_write(c->rec, pcm, n);
    if (recording_failed(c->rec)) {
        call_record_stop(c, "error", 0);
        return;
    }
    if (n % VAD_SUBFRAME == 0)
        vad_process(&c->vad, pcm, n);
    if (c->rec_silence_ms && vad_heard_voice(&c->vad) && vad_silence_ms(&c->vad) >= c->rec_silence_ms)
        call_record_stop(c, "silence", vad_trim_frames(&c->vad));
}

void call_media_queue_read(struct call *c, struct rtp_io *io, struct rtp_batch *batch)
{
    rtp_batch_reset(batch);
    if (!c->ended)
        rtp_io_queue_read(io, c->rtp.fd, batch);
}

void call_media_receive(struct call *c, struct rtp_batch *batch, uint64_t now_ms)
{
    struct rtp_packet pkt;
    /* Bounded by the session so that one flooded call cannot starve the others. */
    while (!c->ended && rtp_session_recv(&c->rtp, batch, &pkt, now_ms) == 1) {
        c->media_rx_ms = now_ms;
        if (!c->have_remote)
            continue;
        if (c->remote.dtmf_pt >= 0 && pkt.pt == c->remote.dtmf_pt) {
            int d = dtmf_rtp_rx_packet(&c->dtmf_rx, pkt.payload, pkt.len, pkt.ts, pkt.marker, now_ms);
            if (d > 0)
                call_on_digit(c, DTMF_SRC_RTP, (char)d);
            continue;
        }
        if (pkt.pt != c->remote.codec_pt || !pkt.len)
            continue;
        bridge_received(c, pkt.ts, pkt.seq, pkt.payload, pkt.len);
        size_t n = pkt.len < FRAME_SAMPLES ? pkt.len : FRAME_SAMPLES;
        if (c->echo)
            ring_push(c, c->echo, pkt.payload, n);
        if (c->conf_jb)
            jitter_put(c->conf_jb, pkt.ts, pkt.seq, pkt.payload, pkt.len);
        if (c->rec_ring)
            ring_push(c, c->rec_ring, pkt.payload, n);
        if (c->callrec_ring)
            ring_push(c, c->callrec_ring, pkt.payload, n);
        if (c->inband.det) {
            int16_t pcm[FRAME_SAMPLES];
            char digits[4];
            call_decode(c, pcm, pkt.payload, n);
            int got = dtmf_inband_feed(&c->inband, pcm, n, digits, sizeof digits);
            for (int k = 0; k < got; k++)
                call_on_digit(c, DTMF_SRC_INBAND, digits[k]);
        }
    }
}

void call_media_start(struct call *c)
{
    if (c->ended || !c->rtp_open)
        return;
    rtp_session_learn(&c->rtp, clock_mono_ms()); /* our SDP is out: the peer's RTP may come */
    if (c->media_on)
        return;
    c->next_send_us = 0;
    c->marker_next = true;
    worker_media_add(c->w, c);
}

static void media_stop(struct call *c)
{
    if (c->media_on)
        worker_media_remove(c->w, c);
    if (c->rtp_open) {
        rtp_session_close(&c->rtp, svc_of(c)->ports);
        c->rtp_open = false;
    }
}

void call_playlist_clear(struct call *c)
{
    for (int i = 0; i < c->play.n; i++)
        if (c->play.items[i])
            prompt_unref(c->play.items[i]);
    free(c->play.items);
    memset(&c->play, 0, sizeof c->play);
}

void call_tone_stop(struct call *c)
{
    free(c->tone);
    c->tone = NULL;
    c->tone_left = 0;
}

/* The next 20 ms of what this call sends: the playing prompt, the caller's own voice in echo
 * mode, or silence. */
static void fill_frame(struct call *c, uint8_t *frame)
{
    size_t filled = 0;
    if (c->play.started) {
        bool alaw = c->have_remote && c->remote.codec_pt == SDP_PT_PCMA;
        while (filled < FRAME_SAMPLES && c->play.index < c->play.n) {
            const struct prompt *p = c->play.items[c->play.index];
            size_t take = p->samples - c->play.pos;
            if (take > FRAME_SAMPLES - filled)
                take = FRAME_SAMPLES - filled;
            memcpy(frame + filled, (alaw ? p->alaw : p->ulaw) + c->play.pos, take);
            filled += take;
            c->play.pos += take;
            if (c->play.pos >= p->samples) {
                c->play.index++;
                c->play.pos = 0;
            }
        }
        if (c->play.index >= c->play.n && c->play.loop) {
            c->play.index = 0;
        } else if (c->play.index >= c->play.n) {
            call_playlist_clear(c);
            call_wait_notify(c, WAIT_EV_PLAYED);
        }
    } else if (c->tone) {
        int16_t pcm[FRAME_SAMPLES];
        size_t n = c->tone_left < FRAME_SAMPLES ? c->tone_left : FRAME_SAMPLES;
        tone_gen_render(c->tone, pcm, n);
        if (c->have_remote && c->remote.codec_pt == SDP_PT_PCMA)
            g711_alaw_encode(frame, pcm, n);
        else
            g711_ulaw_encode(frame, pcm, n);
        filled = n;
        c->tone_left -= (uint32_t)n;
        if (!c->tone_left) {
            call_tone_stop(c);
            call_wait_notify(c, WAIT_EV_PLAYED);
        }
    } else if (c->conf) {
        call_conference_frame(c, frame);
        filled = FRAME_SAMPLES;
    } else if (c->bridge) {
        bridge_frame(c, frame);
        filled = FRAME_SAMPLES;
    } else if (c->echo && c->echo->head != c->echo->tail) {
        memcpy(frame, c->echo->frames[c->echo->tail % RING_SLOTS], FRAME_SAMPLES);
        c->echo->tail++;
        filled = FRAME_SAMPLES;
    }
    if (filled < FRAME_SAMPLES)
        memset(frame + filled, silence_byte(c), FRAME_SAMPLES - filled);
    call_billing_beep(c, frame);
}

/* RFC 4733 out: this tick carries an event packet instead of audio (true), or audio. */
static bool send_dtmf_tick(struct call *c, bool sending)
{
    uint8_t ev[4];
    bool marker, new_ts;
    int event = dtmf_rtp_tx_next(&c->dtmf_tx, ev, &marker, &new_ts);
    if (!dtmf_rtp_tx_busy(&c->dtmf_tx))
        call_wait_notify(c, WAIT_EV_DTMF_SENT);
    if (!event)
        return false;
    if (new_ts)
        c->dtmf_event_ts = c->rtp.ts;
    if (sending)
        rtp_session_send_at(&c->rtp, (uint8_t)c->remote.dtmf_pt, ev, sizeof ev, c->dtmf_event_ts, marker);
    rtp_session_skip(&c->rtp, FRAME_SAMPLES);
    return true;
}

/* SPEC 3 media.timeout_s: an answered call whose peer sends neither RTP nor RTCP any more is
 * ended (hold_timeout_s while the peer holds it). Looked at once a second, not per packet. */
static void check_media_timeout(struct call *c, uint64_t now_us)
{
    if (now_us < c->media_check_us)
        return;
    c->media_check_us = now_us + MEDIA_CHECK_US;
    if (c->state != CALL_UP)
        return;
    if (!c->media_rx_ms) { /* answered without anything received yet (an outbound leg) */
        c->media_rx_ms = now_us / 1000;
        return;
    }
    const struct vcs_config *cfg = svc_of(c)->cfg;
    bool held = c->have_remote && (c->remote.dir == SDP_SENDONLY || c->remote.dir == SDP_INACTIVE);
    int limit_s = held ? cfg->media_hold_timeout_s : cfg->media_timeout_s;
    uint64_t idle_ms = now_us / 1000 - c->media_rx_ms;
    if (!limit_s || idle_ms < (uint64_t)limit_s * 1000)
        return;
    log_info("call %s: no RTP or RTCP for %llu ms%s: hanging up", c->id,
             (unsigned long long)idle_ms, held ? " (on hold)" : "");
    call_end(c, 0, "media_timeout", "system");
}

void call_media_tick(struct call *c, uint64_t tick_us, uint64_t now_us)
{
    if (!c->next_send_us || tick_us > c->next_send_us + RESYNC_US)
        c->next_send_us = tick_us;
    bool sending = c->our_dir == SDP_SENDRECV || c->our_dir == SDP_SENDONLY;
    uint8_t pt = c->have_remote ? (uint8_t)c->remote.codec_pt : SDP_PT_PCMU;
    while (c->next_send_us <= tick_us + SEND_SLACK_US) {
        uint8_t frame[FRAME_SAMPLES];
        bool marker = c->marker_next || (c->play.started && c->play.index == 0 && c->play.pos == 0);
        fill_frame(c, frame);
        if (dtmf_rtp_tx_busy(&c->dtmf_tx) && send_dtmf_tick(c, sending)) {
            call_recording_tick(c, NULL);
            c->next_send_us += FRAME_US;
            continue;
        }
        call_recording_tick(c, sending ? frame : NULL);
        if (c->rec && c->rec_ring)
            record_tick(c);
        if (c->amd)
            call_amd_tick(c);
        if (sending) {
            rtp_session_send(&c->rtp, pt, frame, FRAME_SAMPLES, FRAME_SAMPLES, marker);
            c->marker_next = false;
        } else {
            rtp_session_skip(&c->rtp, FRAME_SAMPLES); /* on hold: the timeline goes on */
        }
        c->next_send_us += FRAME_US;
    }
    if (rtp_session_rtcp(&c->rtp, now_us, RTCP_INTERVAL_US))
        c->media_rx_ms = now_us / 1000;
    check_media_timeout(c, now_us);
}

/* ---- ending ------------------------------------------------------------------------------- */

/* The Reason header of a leg we hang up (SPEC 5.5: the cause mapped to Q.850). */
static void q850_reason(char *buf, size_t cap, const char *cause)
{
    static const struct {
        const char *cause;
        int q850;
        const char *text;
    } map[] = {
        { "no_answer", 19, "No answer from user" },
        { "busy", 17, "User busy" },
        { "over_limit", 34, "No circuit/channel available" },
        { "media_timeout", 102, "Recovery on timer expiry" },
        { "session_timeout", 102, "Recovery on timer expiry" },
        { "failed", 41, "Temporary failure" },
        { "incompatible_destination", 88, "Incompatible destination" },
        { "script_error", 41, "Temporary failure" },
    };
    int q850 = 16;
    const char *text = "Normal call clearing";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(cause, map[i].cause) == 0) {
            q850 = map[i].q850;
            text = map[i].text;
        }
    snprintf(buf, cap, "Q.850;cause=%d;text=\"%s\"", q850, text);
}

void call_end(struct call *c, int sip_code, const char *cause, const char *by)
{
    call_end_because(c, sip_code, cause, by, cause);
}

void call_end_because(struct call *c, int sip_code, const char *cause, const char *by,
                      const char *reason_text)
{
    if (c->ended)
        return;
    c->ended = true;
    limits_release(engine_limits(worker_engine(c->w)), &c->channels);
    c->cdr.end_ms = clock_wall_ms();
    call_recording_stop(c);
    copy_str(c->cdr.hangup_cause, sizeof c->cdr.hangup_cause, cause);
    copy_str(c->cdr.hangup_by, sizeof c->cdr.hangup_by, by);
    struct sip_stack *sip = svc_of(c)->sip;
    live_calls_remove(engine_live(worker_engine(c->w)), c->leg_id);
    if (c->ring_timer)
        evtimer_del(c->ring_timer);
    if (c->billed)
        outleg_billing_ended(c);
    if (!c->sip_gone && !c->peer_gone && c->outbound) {
        char reason[96];
        q850_reason(reason, sizeof reason, cause);
        sip_hangup_outbound(sip, c->leg_id, reason);
    } else if (!c->sip_gone && !c->peer_gone) {
        if (c->state == CALL_UP || c->state == CALL_ANSWERING) {
            char reason[96];
            q850_reason(reason, sizeof reason, cause);
            sip_bye(sip, c->leg_id, reason);
        } else {
            int code = sip_code >= 300 ? sip_code : 480;
            char reason[96];
            snprintf(reason, sizeof reason, "SIP;cause=%d;text=\"%s\"", code, reason_text);
            sip_respond(sip, c->leg_id, code, NULL, code == 503 ? NULL : reason);
            c->cdr.sip_code = code;
        }
    }
    if (c->cdr.answer_ms)
        c->cdr.sip_code = 200;
    media_stop(c);
    call_conference_leave(c); /* also when the script returned while in a room */
    call_playlist_clear(c);
    call_tone_stop(c);
    free(c->echo);
    c->echo = NULL;
    bridge_stop(c);
    call_wait_notify(c, WAIT_EV_HANGUP);
    if (c->dial_parent)
        call_dial_leg_event(c);
}

/* ---- SIP events --------------------------------------------------------------------------- */

static void on_reinvite(struct call *c, struct sip_event *ev)
{
    if (c->ended)
        return; /* the leg is going away; nua answers what is left */
    if (ev->has_media)
        call_apply_remote(c, &ev->media);
    else
        c->our_dir = SDP_SENDRECV; /* offerless re-INVITE: we offer our usual stream */
    c->sdp_version++;
    char sdp[1024];
    if (call_sdp(c, sdp, sizeof sdp) < 0) {
        sip_respond(svc_of(c)->sip, c->leg_id, 500, NULL, NULL);
        return;
    }
    sip_respond(svc_of(c)->sip, c->leg_id, 200, sdp, NULL);
    c->media_rx_ms = clock_mono_ms(); /* the inactivity timeout starts again, maybe held now */
    if (c->rtp_open)
        rtp_session_learn(&c->rtp, clock_mono_ms());
    log_debug("call %s: re-INVITE, now %s", c->id,
              c->our_dir == SDP_SENDRECV ? "sendrecv" : c->our_dir == SDP_RECVONLY ? "on hold" : "changed");
}

void call_on_sip(struct call *c, struct sip_event *ev)
{
    switch (ev->type) {
    case SIP_EV_ACK:
        if (ev->has_media && !c->ended)
            call_apply_remote(c, &ev->media);
        if (c->state == CALL_ANSWERING && !c->ended) {
            /* The answered moment: a 200 that a CANCEL overtook, or that is never
             * acknowledged, is not an answered call and bills nothing. */
            c->state = CALL_UP;
            c->cdr.answer_ms = clock_wall_ms();
            c->media_rx_ms = clock_mono_ms(); /* the inactivity timeout counts from here */
            store_cdr_update(svc_of(c)->store, &c->cdr);
            call_billing_answered(c);
            call_recording_start(c); /* an answered call is recorded from here */
            call_publish(c);
        }
        call_wait_notify(c, WAIT_EV_ACK);
        break;
    case SIP_EV_BYE:
        c->peer_gone = true;
        call_end(c, 0, "normal_clearing", c->outbound ? "callee" : "caller");
        break;
    case SIP_EV_CANCEL:
        c->peer_gone = true;
        c->cdr.sip_code = 487;
        call_end(c, 0, "cancelled", "caller");
        break;
    case SIP_EV_PROGRESS:
    case SIP_EV_ANSWERED:
    case SIP_EV_FAILED:
        if (c->outbound)
            outleg_on_sip(c, ev);
        break;
    case SIP_EV_REINVITE:
        on_reinvite(c, ev);
        break;
    case SIP_EV_INFO: {
        char d;
        if (ev->body && dtmf_info_parse(ev->content_type, ev->body, strlen(ev->body), &d) == 0)
            call_on_digit(c, DTMF_SRC_INFO, d);
        break;
    }
    case SIP_EV_TERMINATED:
        c->sip_gone = true;
        call_end(c, 0, ev->session_expired ? "session_timeout"
                       : c->state == CALL_UP ? "normal_clearing" : "failed", "system");
        call_script_wake(c);
        break;
    case SIP_EV_INVITE:
        break; /* cannot happen: a new INVITE makes a new call */
    }
}

/* ---- creation ----------------------------------------------------------------------------- */

/* SIP never reported the leg gone after its CDR was written: stop waiting for it. */
static void on_linger_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct call *c = arg;
    log_warn("call %s: no final SIP event after %d s, releasing", c->id, SIP_LINGER_MS / 1000);
    c->sip_gone = true;
    call_script_wake(c);
}

/* SPEC 4/8: the number's, the account's and the trunk's channels, taken before the script runs; over a
 * limit the call is refused with 486 and a Reason naming it. Given back when the call ends. */
int call_claim_channels(struct call *c, enum limit_scope *full)
{
    struct limit_claim claim = { 0 };
    if (c->number) {
        claim.key[LIMIT_NUMBER] = c->number->number;
        claim.max[LIMIT_NUMBER] = c->number->max_concurrent;
    }
    claim.key[LIMIT_ACCOUNT] = c->cdr.account;
    claim.max[LIMIT_ACCOUNT] = billing_max_calls(engine_services(worker_engine(c->w))->billing,
                                                 c->cdr.account);
    claim.key[LIMIT_TRUNK] = c->cdr.trunk;
    claim.max[LIMIT_TRUNK] = c->trunk_max_calls;
    struct gateways *gws = engine_gateways(worker_engine(c->w));
    int gw = c->cdr.gateway[0] ? gateways_find(gws, c->cdr.gateway) : -1;
    if (gw >= 0) {
        claim.key[LIMIT_GATEWAY] = c->cdr.gateway;
        claim.max[LIMIT_GATEWAY] = gateways_config(gws, (size_t)gw)->max_channels;
    }
    return limits_acquire(engine_limits(worker_engine(c->w)), &claim, &c->channels, full);
}

bool call_take_channels(struct call *c)
{
    enum limit_scope full;
    if (call_claim_channels(c, &full) == 0)
        return true;
    log_info("call %s: refused, %s reached (%s)", c->id, limit_reason(full), c->cdr.to_number);
    c->script_done = true;
    call_end_because(c, 486, "over_limit", "system", limit_reason(full));
    return false;
}

struct call *call_new(struct worker *w, uint64_t leg_id)
{
    const struct engine_services *svc = engine_services(worker_engine(w));
    struct call *c = calloc(1, sizeof *c);
    if (c && (!(c->linger = evtimer_new(worker_base(w), on_linger_timeout, c)) ||
              call_wait_init(c, worker_base(w)) != 0)) {
        if (c->linger)
            event_free(c->linger);
        call_wait_free(c);
        free(c);
        c = NULL;
    }
    if (!c)
        return NULL;
    c->leg_id = leg_id;
    c->w = w;
    c->co_ref = c->obj_ref = c->vars_ref = c->on_hangup_ref = LUA_NOREF;
    c->our_dir = SDP_SENDRECV;
    c->n_offer = 1;
    c->offer_pts[0] = SDP_PT_PCMU;
    c->mem.limit = svc->sandbox.max_memory;
    c->callrec_wanted = svc->cfg->record_all_calls;
    engine_call_id(worker_engine(w), leg_id, c->id, sizeof c->id);
    copy_str(c->cdr.call_id, sizeof c->cdr.call_id, c->id);
    if (getrandom(&c->sdp_id, sizeof c->sdp_id, 0) != sizeof c->sdp_id)
        c->sdp_id = leg_id;
    c->sdp_id &= 0x7fffffffffffffffULL;
    c->sdp_version = 1;
    dtmf_rtp_rx_init(&c->dtmf_rx);
    dtmf_dedup_init(&c->digits);
    dtmf_rtp_tx_init(&c->dtmf_tx);
    worker_add_call(w, c);
    return c;
}

void call_publish(struct call *c)
{
    if (c->ended)
        return;
    static const char *const in_states[] = { "ringing", "early", "answering", "up" };
    static const char *const out_states[] = { "calling", "early", "answering", "up" };
    struct live_call lc = { .leg_id = c->leg_id, .start_ms = c->cdr.start_ms,
                            .answer_ms = c->cdr.answer_ms };
    copy_str(lc.id, sizeof lc.id, c->id);
    copy_str(lc.account, sizeof lc.account, c->cdr.account);
    copy_str(lc.direction, sizeof lc.direction, c->cdr.direction);
    copy_str(lc.from, sizeof lc.from, c->cdr.from_number);
    copy_str(lc.to, sizeof lc.to, c->cdr.to_number);
    copy_str(lc.script, sizeof lc.script, c->cdr.script);
    copy_str(lc.state, sizeof lc.state, (c->outbound ? out_states : in_states)[c->state]);
    copy_str(lc.parent_call_id, sizeof lc.parent_call_id, c->cdr.parent_call_id);
    if (live_calls_put(engine_live(worker_engine(c->w)), &lc) != 0)
        log_warn("call %s: out of memory listing the call", c->id);
}

void call_on_invite(struct worker *w, struct sip_event *ev)
{
    const struct engine_services *svc = engine_services(worker_engine(w));
    struct call *c = call_new(w, ev->leg_id);
    if (!c) {
        sip_respond(svc->sip, ev->leg_id, 500, NULL, NULL);
        engine_call_released(worker_engine(w));
        return;
    }
    struct cdr_row *r = &c->cdr;
    copy_str(r->sip_call_id, sizeof r->sip_call_id, ev->call_id);
    copy_str(r->direction, sizeof r->direction, "inbound");
    copy_str(r->account, sizeof r->account, ev->account);
    copy_str(r->trunk, sizeof r->trunk, ev->trunk);
    c->trunk_max_calls = ev->trunk_max_calls;
    copy_str(r->from_number, sizeof r->from_number, ev->from_user);
    copy_str(r->to_number, sizeof r->to_number, ev->to_user);
    r->start_ms = ev->wall_ms;
    c->from_uri = strdup(ev->from_uri ? ev->from_uri : "");
    c->to_uri = strdup(ev->to_uri ? ev->to_uri : "");
    store_cdr_begin(svc->store, &c->cdr);
    if (ev->has_media)
        call_apply_remote(c, &ev->media);

    c->set = script_registry_acquire(svc->scripts);
    const char *script = NULL;
    const struct route *route = NULL;
    bool from_gateway = ev->gateway[0] != '\0';
    copy_str(r->gateway, sizeof r->gateway, ev->gateway);
    if (c->set) {
        /* SPEC 4: a number bound to a script runs it; a PSTN call (from a gateway) must reach
         * an active number, whose owner is the call's account, bound or not. */
        c->numbers = number_directory_acquire(svc->numbers);
        c->number = number_snapshot_find(c->numbers, ev->to_user);
        if (c->number && !from_gateway && !c->number->script[0])
            c->number = NULL;
        if (c->number) {
            copy_str(r->account, sizeof r->account, c->number->account);
            if (c->number->script[0])
                script = c->number->script;
        }
        if (!script && (c->number || !from_gateway) &&
            (route = routes_match(c->set->routes, ev->to_user,
                                  from_gateway ? ROUTE_FROM_GATEWAY : ROUTE_FROM_TRUNK)))
            script = route->script;
    }
    if (!script || !script_set_find(c->set, script)) {
        log_info("call %s: no route for %s", c->id, ev->to_user);
        c->script_done = true;
        call_end(c, 404, "not_found", "system");
        return;
    }
    copy_str(r->script, sizeof r->script, script);
    store_cdr_update(svc->store, &c->cdr);
    call_publish(c);
    if (c->number && strcmp(c->number->state, "suspended") == 0) {
        log_info("call %s: number %s is suspended (rent unpaid)", c->id, c->number->number);
        c->script_done = true;
        call_end_because(c, 403, "no_balance", "system", "no balance");
        return;
    }
    if (from_gateway && !call_billing_admit(c))
        return;
    if (!call_take_channels(c))
        return;
    char err[200];
    if (rtp_session_open(&c->rtp, svc->ports, svc->bind_ip, err, sizeof err) != 0) {
        log_warn("call %s: %s", c->id, err);
        c->script_done = true;
        call_end(c, 503, "failed", "system");
        return;
    }
    c->rtp_open = true;
    if (rtp_session_set_signal(&c->rtp, ev->source) != 0)
        log_debug("call %s: SIP source '%s' unknown: RTP from the SDP address only", c->id, ev->source);
    if (c->have_remote)
        rtp_session_set_remote(&c->rtp, c->remote.addr, c->remote.port);
    call_script_start(c, script, route);
}

/* ---- finishing ---------------------------------------------------------------------------- */

void call_maybe_finish(struct call *c)
{
    if (!c->ended || !c->script_done)
        return;
    if (!c->cdr_written) {
        c->cdr_written = true;
        call_billing_end(c);
        c->cdr.vars_json = call_script_vars_json(c);
        store_cdr_end(svc_of(c)->store, &c->cdr);
        free(c->cdr.vars_json);
        c->cdr.vars_json = NULL;
        call_script_free(c); /* the coroutine and its references are not needed any more */
        if (!c->sip_gone) {
            struct timeval tv = { SIP_LINGER_MS / 1000, 0 };
            evtimer_add(c->linger, &tv);
        }
    }
    if (c->sip_gone)
        call_free(c);
}

void call_free(struct call *c)
{
    call_billing_end(c); /* no effect when the CDR was written */
    live_calls_remove(engine_live(worker_engine(c->w)), c->leg_id);
    call_conference_leave(c); /* normally left when its wait ended */
    limits_release(engine_limits(worker_engine(c->w)), &c->channels);
    media_stop(c);
    call_playlist_clear(c);
    call_tone_stop(c);
    dtmf_inband_free(&c->inband);
    call_script_free(c);
    event_free(c->linger);
    if (c->ring_timer)
        event_free(c->ring_timer);
    outleg_request_free(c->out);
    call_dial_free(c);
    bridge_free(c);
    call_wait_free(c);
    worker_remove_call(c->w, c);
    if (c->version_held)
        worker_release_version(c->w, c->set);
    script_set_release(c->set);
    number_snapshot_release(c->numbers);
    free(c->beep);
    free(c->echo);
    free(c->rec_ring);
    free(c->amd);
    free(c->callrec_ring);
    free(c->cdr.vars_json);
    free(c->from_uri);
    free(c->to_uri);
    engine_call_released(worker_engine(c->w));
    free(c);
}
