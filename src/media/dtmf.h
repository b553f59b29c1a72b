/* DTMF for one call leg, from every source a phone uses, and RFC 4733 out.
 * - dtmf_rtp_rx: RFC 4733 telephone-events in. Each key press is reported once, on the first
 *   packet of it that arrives (start, update or end), so barge-in reacts at once; the event's
 *   RTP timestamp tells presses apart, so retransmissions and the three end packets never
 *   repeat a digit, while the same key pressed twice gives two digits.
 * - dtmf_info_parse: SIP INFO bodies (application/dtmf-relay, application/dtmf).
 * - dtmf_inband: tones in 8 kHz linear audio (spandsp's detector), for peers that negotiated
 *   no telephone-event payload type.
 * - dtmf_dedup: merges the three sources so a press sent by two methods counts once, and
 *   queues the presses for the script.
 * - dtmf_rtp_tx: the RFC 4733 packets of a digit string, one call per 20 ms tick.
 * Events are 0-9 * # A-D (RFC 4733 codes 0-15); other events (16 flash, ...) are ignored.
 * The telephone-event clock is 8000 Hz (the only rate the SDP layer offers).
 * Only dtmf_inband_init allocates (spandsp's detector, freed by dtmf_inband_free); nothing
 * allocates afterwards. The structs live inside the call; one thread uses each. */
#ifndef VCS_DTMF_H
#define VCS_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 4733 event code (0-15) of '0'-'9', '*', '#', 'A'-'D' (or 'a'-'d'); -1 for anything else. */
int dtmf_digit_to_event(char digit);
/* The digit of an RFC 4733 event code 0-15, or 0 for codes that are not digits. */
char dtmf_event_to_digit(unsigned event);

/* One RFC 4733 event block (the 4 bytes of a telephone-event payload). */
struct dtmf_rtp_event {
    uint8_t event;     /* 0-255, DTMF digits are 0-15 */
    bool end;          /* E bit */
    uint8_t volume;    /* 0-63, in -dBm0 */
    uint16_t duration; /* timestamp units since the event's start */
};
/* Reads the first event block of a payload. Longer payloads (RFC 4733 2.5.1.5 packing) only
 * carry back-to-back events, which key presses never are, so the rest is ignored.
 * 0, or -1 when len < 4 or p is NULL. */
int dtmf_rtp_parse(const uint8_t *p, size_t len, struct dtmf_rtp_event *ev);
void dtmf_rtp_write(uint8_t p[4], const struct dtmf_rtp_event *ev);

/* ---- RFC 4733 receiver ---- */

/* An event no packet has refreshed for this long is over even without its end packet. Only
 * matters for long presses split into segments (2.5.2.3): a new timestamp otherwise always
 * starts a new press, so a lost end never holds up the next digit. */
#define DTMF_RTP_RX_TIMEOUT_MS 500

struct dtmf_rtp_rx {
    bool have_event;   /* the fields below describe the latest press */
    bool ended;        /* its E bit has been seen */
    uint8_t event;
    uint16_t duration; /* largest duration seen for its current segment */
    uint32_t ts;       /* RTP timestamp of its current segment */
    uint64_t last_ms;  /* arrival of its latest packet */
};

void dtmf_rtp_rx_init(struct dtmf_rtp_rx *rx);
/* Feeds the payload of one packet carrying the negotiated telephone-event payload type.
 * Returns the digit when this packet is the first one seen of a new key press, 0 when it adds
 * nothing new (update, end, retransmission, late packet of an earlier press, non-DTMF event),
 * -1 for a malformed payload (ignored; the state is unchanged). */
int dtmf_rtp_rx_packet(struct dtmf_rtp_rx *rx, const uint8_t *payload, size_t len,
                       uint32_t rtp_ts, bool marker, uint64_t now_ms);

/* ---- SIP INFO ---- */

/* Reads the digit of an INFO body of len bytes (need not be NUL-terminated).
 * content_type may carry parameters. application/dtmf-relay: a "Signal=" line (any case,
 * spaces allowed around '=' and the value; other lines such as Duration are ignored).
 * application/dtmf: the body is the value. A value is one of 0-9 * # A-D (any case) or an
 * RFC 4733 code 0-15 in decimal, as some phones send ("Signal=10" is '*', "11" is '#').
 * 0 with *digit set, or -1 (other content type, no or bad Signal, flash, NULL arguments). */
int dtmf_info_parse(const char *content_type, const char *body, size_t len, char *digit);

/* ---- In-band tones ---- */

struct dtmf_rx_state_s; /* spandsp's detector */

struct dtmf_inband {
    struct dtmf_rx_state_s *det;
};

/* Allocates the detector. 0, or -1 when out of memory. */
int dtmf_inband_init(struct dtmf_inband *ib);
/* Feeds n samples of 8 kHz linear audio (normally one 20 ms frame of 160) and stores the
 * digits that started in them into digits (at most cap; more stay for the next call, but a
 * 20 ms frame holds at most one onset, as a press needs 40 ms of tone and 40 ms of pause).
 * A digit is reported once, however long it is held, as soon as 2-3 of spandsp's 12.75 ms
 * analysis blocks agree: in the frame that ends 35-55 ms after its tone started.
 * Returns how many digits were stored, or -1 on bad arguments or an uninitialised ib. */
int dtmf_inband_feed(struct dtmf_inband *ib, const int16_t *pcm, size_t n, char *digits,
                     size_t cap);
/* Frees the detector; safe to call twice, or after a failed init. */
void dtmf_inband_free(struct dtmf_inband *ib);

/* ---- Merging the sources ---- */

enum dtmf_source { DTMF_SRC_RTP, DTMF_SRC_INFO, DTMF_SRC_INBAND, DTMF_SRC_COUNT };

/* A digit from one source is the copy of a press already taken from another source when that
 * press has the same digit, arrived at most this long before it, and has no copy from this
 * source yet. Presses are paired oldest first, so "55" sent both ways is two presses whatever
 * order the copies arrive in. 500 ms covers INFO trailing RTP through a proxy, and in-band
 * detection trailing the RFC 4733 start (35-55 ms); a phone does not press the same key
 * twice by different methods within 500 ms.
 * The same source repeating a digit is always a new press (its own layer told them apart). */
#define DTMF_DEDUP_WINDOW_MS 500
#define DTMF_DEDUP_RECENT 8   /* presses remembered for pairing; older ones are outside the window */
#define DTMF_DEDUP_QUEUE 64   /* presses waiting for the script; when full the oldest is dropped */

struct dtmf_press {
    uint64_t at_ms;
    char digit;      /* 0: unused slot */
    uint8_t sources; /* bit per enum dtmf_source that delivered it */
};

struct dtmf_dedup {
    struct dtmf_press recent[DTMF_DEDUP_RECENT]; /* ring; next is the oldest slot */
    unsigned next;
    char queue[DTMF_DEDUP_QUEUE];
    unsigned head, count;
    uint64_t dropped; /* presses lost because nobody read the queue */
};

void dtmf_dedup_init(struct dtmf_dedup *dd);
/* 1: a new press, queued; 0: a copy of a press already taken; -1: not a DTMF digit or an
 * unknown source. digit may be lower case a-d; the queue holds upper case. */
int dtmf_dedup_push(struct dtmf_dedup *dd, enum dtmf_source src, char digit, uint64_t now_ms);
/* The oldest queued press, or 0 when none is waiting. */
char dtmf_dedup_pop(struct dtmf_dedup *dd);
/* Discards the queued presses (the pairing memory stays, so late copies are still dropped). */
void dtmf_dedup_flush(struct dtmf_dedup *dd);

/* ---- RFC 4733 sender ---- */

/* Defaults: 100 ms of tone (Q.24 asks at least 40 ms; 100 ms is what gateways and IVRs
 * detect reliably), 100 ms of pause (at least 60 ms: the two repeated end packets take
 * 40 ms of it, and the next start must not overlap them). Both are rounded up to 20 ms. */
#define DTMF_TX_DURATION_MS 100
#define DTMF_TX_GAP_MS 100
#define DTMF_TX_MIN_DURATION_MS 40
#define DTMF_TX_MAX_DURATION_MS 8000 /* below the 16-bit duration field, so one segment */
#define DTMF_TX_MIN_GAP_MS 60
#define DTMF_TX_MAX_GAP_MS 5000
#define DTMF_TX_MAX_DIGITS 64
#define DTMF_TX_MAX_QUEUED 16        /* keys waiting behind the one being sent (a relay) */
#define DTMF_TX_VOLUME 10            /* -10 dBm0 */
#define DTMF_TX_TICK_SAMPLES 160     /* 20 ms at 8 kHz */

struct dtmf_rtp_tx {
    char digits[DTMF_TX_MAX_DIGITS];
    unsigned count, pos;            /* digits queued, index of the one being sent */
    unsigned tone_ticks, gap_ticks;
    unsigned tick;                  /* position in the current digit's tone + gap */
};

void dtmf_rtp_tx_init(struct dtmf_rtp_tx *tx);
/* Queues a digit string (0-9 * # A-D, any case; at most DTMF_TX_MAX_DIGITS). duration_ms and
 * gap_ms of 0 take the defaults. 0, or -1 (sender busy, empty or invalid string, or a length
 * outside the limits above), in which case nothing is queued. */
int dtmf_rtp_tx_start(struct dtmf_rtp_tx *tx, const char *digits, unsigned duration_ms,
                      unsigned gap_ms);
/* Queues one more key behind those being sent (a key relayed from another leg while the
 * previous one is still going out), with the timing of the keys queued; an idle sender starts
 * it with the defaults. Each key is its own event (new timestamp, three end packets), sent in
 * order. 0, or -1 (not a key, or DTMF_TX_MAX_QUEUED keys already waiting). */
int dtmf_rtp_tx_append(struct dtmf_rtp_tx *tx, char digit);
/* Call once per 20 ms tick while dtmf_rtp_tx_busy(). Returns 1 with a payload to send on the
 * telephone-event payload type instead of this tick's audio, or 0 when this tick sends normal
 * audio (pause between digits, or idle).
 * For a digit of N ticks: tick 0 the start (marker set, *new_event_timestamp set), ticks
 * 1..N-2 updates with duration 160 * (tick + 1), ticks N-1, N, N+1 the end packet three times
 * (E bit, duration 160 * N); then the pause. Timestamps: when *new_event_timestamp is set the
 * engine takes this tick's stream timestamp as the event timestamp, and sends every packet of
 * the event with it; the stream timestamp itself keeps advancing 160 per tick, so audio after
 * the event resumes on the continuous timeline. Sequence numbers advance on every packet. */
int dtmf_rtp_tx_next(struct dtmf_rtp_tx *tx, uint8_t payload[4], bool *marker,
                     bool *new_event_timestamp);
/* True until the last digit's pause is over. */
bool dtmf_rtp_tx_busy(const struct dtmf_rtp_tx *tx);

#endif
