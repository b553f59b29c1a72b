/* One call leg on a worker: the state machine that SIP events drive (ring, early media,
 * answer, ACK, re-INVITE, BYE, CANCEL), its media (one RTP session fed by the worker's shared
 * 20 ms tick), its dialplan coroutine, and its CDR. Everything here runs on the call's worker
 * thread; other threads reach a call only through the worker's inbox, by leg id.
 *
 * Life of a call: created on the INVITE -> CDR row inserted -> routed -> script coroutine runs
 * -> the call ends once (call_end: SIP answer or BYE, media stopped, a waiting script woken with
 * the hangup error) -> the script unwinds, on_hangup runs -> CDR completed -> freed when SIP
 * has also let go of the leg. */
#ifndef VCS_CALL_H
#define VCS_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

#include "billing/prepaid.h"
#include "call/call_wait.h"
#include "limits/limits.h"
#include "media/dtmf.h"
#include "media/vad.h"
#include "media/rtp_session.h"
#include "media/tone.h"
#include "sip/sdp.h"
#include "script/routes.h"
#include "script/sandbox.h"
#include "store/store.h"

struct worker;
struct rtp_io;
struct script_set;
struct prompt;
struct sip_event;
struct outleg_request;
struct conf_member;
struct dial_state;
struct jitter;
struct amd;

enum call_state {
    CALL_INCOMING,  /* INVITE received, no answer sent but maybe 180 (outbound: INVITE sent) */
    CALL_EARLY,     /* 183 with SDP sent (outbound: received): media flows before answer */
    CALL_ANSWERING, /* 200 sent, waiting for the ACK */
    CALL_UP,
};

#define PLAYLIST_MAX 64
#define RING_SLOTS 8
#define FRAME_SAMPLES 160 /* 20 ms at 8 kHz; one G.711 byte per sample */

struct playlist {
    const struct prompt **items; /* n of them, allocated per playlist (most legs never play) */
    int n, index;
    size_t pos;
    int loading;  /* prompts the loader has still to deliver */
    bool started; /* all loaded: the tick plays them */
    bool loop;    /* a ringback: starts over at its end until cleared, never reported played */
};

/* Received 20 ms frames (G.711 bytes) waiting for the tick: the echo plays them back, a
 * recording writes one per tick (silence when none came), so files follow the wall clock. */
struct frame_ring {
    uint8_t frames[RING_SLOTS][FRAME_SAMPLES];
    unsigned head, tail; /* head - tail = frames waiting */
};

struct call {
    uint64_t leg_id;
    char id[40];
    struct worker *w;
    enum call_state state;
    bool ended;       /* call_end ran: no more SIP or media for this call */
    bool sip_gone;    /* SIP_EV_TERMINATED seen */
    bool peer_gone;   /* the peer ended the leg (BYE, CANCEL, a final answer): nothing to send */
    bool outbound;    /* placed by us (outleg.h) */
    struct outleg_request *out; /* an outbound leg's request: its script and vars */
    struct event *ring_timer;   /* an outbound leg rings at most this long */
    int n_offer;                /* the codecs we offer, in order, when we make the offer */
    int offer_pts[SDP_MAX_CODECS]; /* (PCMU alone, or a gateway's codecs) */
    bool billed;                /* a gateway leg admitted by outleg_billing_admit */

    /* call:dial (method_dial.c) and the bridge (bridge.c); both legs live on this worker */
    struct dial_state *dial;    /* the a-leg's dial in progress */
    struct call *dial_parent;   /* the b-leg's a-leg while the dial waits for it */
    struct call *bridge;        /* the leg whose audio this one sends, while bridged */
    struct jitter *jb;          /* this leg's received audio, for its peer */
    bool script_done; /* the handler and on_hangup have finished (or never ran) */
    bool cdr_written;
    struct cdr_row cdr;
    char *from_uri, *to_uri;
    struct script_set *set;          /* the dialplan version this call runs (a reference) */
    bool version_held;               /* the worker compiled set for this call */
    struct number_snapshot *numbers; /* the number table this call was routed with (held) */
    const struct number_record *number; /* in numbers */
    struct limit_ticket channels;    /* number/account/trunk channels held while the call is up */
    int trunk_max_calls;             /* the trunk's max_calls (0: none of its own) */
    /* prepaid billing of a leg from a carrier gateway (call_billing.h) */
    struct prepaid_leg bill;         /* its reservation; no account when not billed */
    struct event *bill_ev;           /* the next minute's reservation, or the cut */
    bool bill_cut;                   /* the next minute could not be paid */
    struct tone_gen *beep;           /* the warning before the cut (allocated then) */
    uint32_t beep_left;              /* samples */

    /* media */
    struct rtp_session rtp;
    bool rtp_open;
    bool media_on;                   /* on the worker's media list: its socket is read and its
                                        frames sent on the tick */
    struct call *media_next, *media_prev;
    struct sdp_media remote;
    bool have_remote;
    enum sdp_direction our_dir;
    uint64_t sdp_id, sdp_version;
    uint64_t next_send_us;
    bool marker_next;
    struct playlist play;
    struct frame_ring *echo;
    struct tone_gen *tone;           /* call:tone playing, rendered 20 ms at a time */
    uint32_t tone_left;              /* samples */
    uint64_t media_rx_ms;            /* last RTP/RTCP from the peer, or answer / re-INVITE */
    uint64_t media_check_us;         /* next inactivity check (once a second) */

    /* call:conference (method_conference.c) */
    struct conf_member *conf;        /* in a room while set */
    struct jitter *conf_jb;          /* the caller's audio on its way into the room */
    bool conf_muted;                 /* call:mute */
    bool conf_stay;                  /* call:conference returned a key: still in the room */
    char conf_room[64];

    /* DTMF */
    struct dtmf_rtp_rx dtmf_rx;
    struct dtmf_inband inband;       /* only when no telephone-event was negotiated */
    struct dtmf_dedup digits;        /* presses from all sources, queued for the script */
    struct dtmf_rtp_tx dtmf_tx;
    uint32_t dtmf_event_ts;

    /* call:record */
    struct recording *rec;           /* open while recording; the writer thread owns it after close */
    struct frame_ring *rec_ring;      /* caller audio waiting for the tick that records or analyses it */
    struct amd *amd;                 /* call:detect_machine's analysis (kept for the call's life) */

    /* whole-call recording (call_recording.c) */
    struct recording *callrec;       /* stereo: left the caller, right what the caller heard */
    struct frame_ring *callrec_ring; /* caller audio waiting for the tick */
    bool callrec_wanted;             /* recording.all_calls, or the script's call:record_call */
    bool callrec_paused;
    uint64_t callrec_started_ms, callrec_paused_ms;
    char callrec_pauses[256];        /* "from-to,..." seconds into the recording, for the CDR */
    struct vad vad;
    uint64_t rec_silence_ms;         /* stop after this much silence following voice; 0 = never */
    unsigned rec_count;
    char rec_path[256];              /* relative to the recordings folder */
    char rec_reason[16];
    uint64_t rec_duration_ms;

    /* script */
    lua_State *co;
    int co_ref, obj_ref, vars_ref, on_hangup_ref;
    bool running;                    /* inside lua_resume now */
    bool started;                    /* the coroutine has been resumed once */
    bool in_cleanup;                 /* the coroutine is on_hangup's */
    bool screening;                  /* the coroutine is call:dial's on_answer, on this b-leg */
    bool screen_refused;             /* ... and it returned false */
    struct call_wait wait;           /* what the coroutine waits for (call_wait.h) */
    struct event *linger;            /* CDR written: how long to wait for SIP to let go */
    struct mem_account mem;
    struct call *attend_next;        /* on the worker's attention list */
    bool attend_queued;
};

/* Called by the worker for each SIP event of this call's leg. */
void call_on_invite(struct worker *w, struct sip_event *ev);
/* A new call leg leg_id on w (registered with the worker), or NULL when out of memory; the
 * caller fills in its CDR and direction. */
struct call *call_new(struct worker *w, uint64_t leg_id);
/* Takes the peer's SDP (offer or answer) as the leg's media. */
void call_apply_remote(struct call *c, const struct sdp_media *m);
/* SPEC 8: takes the number's, the account's and the gateway's (cdr.gateway) channels at once:
 * 0, or -1 with *full the scope at its maximum (LIMIT_SCOPES: out of memory), nothing taken. */
int call_claim_channels(struct call *c, enum limit_scope *full);
/* The same; over a limit the call ends with 486 / over_limit and false is returned. */
bool call_take_channels(struct call *c);
/* Publishes the call's listing fields (live_calls.h) after a change of state. */
void call_publish(struct call *c);
void call_on_sip(struct call *c, struct sip_event *ev);

/* Ends the call once: sends the SIP answer (sip_code when unanswered) or BYE unless the peer
 * already ended it, stops media, records cause and who hung up, and wakes a waiting script
 * with the hangup error. Safe to call again (no effect). */
void call_end(struct call *c, int sip_code, const char *cause, const char *by);
/* The same with the Reason header's text given (e.g. "number limit" for cause over_limit). */
void call_end_because(struct call *c, int sip_code, const char *cause, const char *by,
                      const char *reason_text);

/* A key press from one of the DTMF sources (de-duplicated here). */
void call_on_digit(struct call *c, enum dtmf_source src, char digit);

/* Our SDP for this call (answer to the peer's offer, or our offer when it made none): the one
 * place it is built. Returns its length, or -1 when it does not fit. */
int call_sdp(const struct call *c, char *buf, size_t cap);

/* G.711 in the call's codec to linear audio. */
void call_decode(const struct call *c, int16_t *pcm, const uint8_t *g711, size_t n);
/* The oldest received frame waiting in r, as linear audio; silence when none waits. */
void call_ring_take(const struct call *c, struct frame_ring *r, int16_t pcm[FRAME_SAMPLES]);

/* The whole-call recording (SPEC 8, call_recording.c). Starts at answer when wanted; each tick
 * adds 20 ms (heard: the G.711 frame the caller was sent, NULL for silence); stops once at the
 * end of the call. Pausing writes silence and notes the interval in the CDR var
 * recording_paused. */
void call_recording_start(struct call *c);
void call_recording_tick(struct call *c, const uint8_t *heard);
void call_recording_pause(struct call *c, bool pause);
void call_recording_stop(struct call *c);
/* Sets a call variable (as call:set does) from C: it reaches the CDR's vars. */
void call_script_set_var(struct call *c, const char *key, const char *value);

/* The conference (method_conference.c): this tick's 20 ms to send, the room's mix for this
 * member (its own audio goes in); leaving the room (no effect when not in one). */
void call_conference_frame(struct call *c, uint8_t frame[FRAME_SAMPLES]);
void call_conference_leave(struct call *c);

/* Media hooks used by the worker's tick: first every call's socket is drained (batch: the
 * tick's scratch space for this call, queued for a chunk of calls' reads at once, then handed
 * out by call_media_receive), then every call sends what is due at tick_us, the time the tick was
 * due on the worker's timeline (not when it ran): a call's 20 ms timeline starts on it, so that
 * every call sends exactly one frame per tick however late the tick wakes (now_us, the
 * clock read at its start, serves RTCP and the media timeout). */
void call_media_start(struct call *c);
void call_media_queue_read(struct call *c, struct rtp_io *io, struct rtp_batch *batch);
void call_media_receive(struct call *c, struct rtp_batch *batch, uint64_t now_ms);
void call_media_tick(struct call *c, uint64_t tick_us, uint64_t now_us);

void call_playlist_clear(struct call *c);
void call_tone_stop(struct call *c);
/* Plays the prompt name over and over (a ringback) until the playlist is cleared; loads it in
 * the background if needed, for the wait that follows. -1 if it cannot be asked for. */
int call_play_loop(struct call *c, const char *name);

/* Script side (call_lua.c). */
/* Creates the handler's coroutine; it first runs at the worker's next flush. */
void call_script_start(struct call *c, const char *script, const struct route *route);
/* Runs the function fn_ref (a registry reference) on this b-leg's call object: call:dial's
 * on_answer. Its end goes to call_dial_screened instead of ending the call. */
void call_script_screen(struct call *c, int fn_ref);
/* Asks the worker to look at the call again at its next flush (resume, finish, free). */
void call_script_wake(struct call *c);
/* Ends what the script holds: coroutines and registry references. */
void call_script_free(struct call *c);
/* Worker flush: resumes the coroutine if its wait is over. */
void call_script_step(struct call *c);
/* The variables set with call:set as a JSON object (malloc'd), for the CDR. */
char *call_script_vars_json(struct call *c);
/* A new key press is queued: the wait may end (barge-in, get_digit, a recording's terminator). */
void call_digit_arrived(struct call *c);

/* Method side (method_*.c), for the worker and the media tick. */
/* A prompt requested by the wait of that generation finished loading (p referenced, or NULL
 * and err); one for an older wait is released unplayed. */
void call_prompt_loaded(struct call *c, uint32_t generation, int slot, const struct prompt *p,
                        const char *err);
/* Ends call:record (reason: silence, digit, max, hangup), trimming trim_frames of trailing
 * silence; the script resumes once the file is complete. */
void call_record_stop(struct call *c, const char *reason, size_t trim_frames);
/* The recording's file is complete (from the recorder's thread, via the worker). */
void call_record_done(struct call *c, uint32_t generation, uint64_t duration_ms, const char *err);
/* call:detect_machine, once per tick: the caller's next 20 ms through the analysis. */
void call_amd_tick(struct call *c);

/* call:dial: the b-leg b rang with early media, answered or ended (method_dial.c). */
void call_dial_leg_event(struct call *b);
/* call:dial's on_answer ran on the b-leg b: accepted (bridge it) or not (hang it up, go on). */
void call_dial_screened(struct call *b, bool accepted);
void call_dial_free(struct call *a);

/* Completes the CDR and frees the call when both the script and SIP are done with it. */
void call_maybe_finish(struct call *c);
void call_free(struct call *c);

#endif
