/* DTMF sources and the RFC 4733 sender; see dtmf.h for the promises. */
#include "media/dtmf.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>

static const char event_digits[] = "0123456789*#ABCD";

int dtmf_digit_to_event(char digit)
{
    char d = (char)toupper((unsigned char)digit);
    if (d == '\0')
        return -1;
    const char *p = strchr(event_digits, d);
    return p ? (int)(p - event_digits) : -1;
}

char dtmf_event_to_digit(unsigned event)
{
    return event < 16 ? event_digits[event] : '\0';
}

int dtmf_rtp_parse(const uint8_t *p, size_t len, struct dtmf_rtp_event *ev)
{
    if (!p || len < 4)
        return -1;
    ev->event = p[0];
    ev->end = (p[1] & 0x80) != 0;
    ev->volume = p[1] & 0x3f; /* 0x40 is the reserved R bit */
    ev->duration = (uint16_t)(p[2] << 8 | p[3]);
    return 0;
}

void dtmf_rtp_write(uint8_t p[4], const struct dtmf_rtp_event *ev)
{
    p[0] = ev->event;
    p[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3f));
    p[2] = (uint8_t)(ev->duration >> 8);
    p[3] = (uint8_t)(ev->duration & 0xff);
}

/* ---- RFC 4733 receiver ---- */

/* A packet whose timestamp lies this far behind the latest press (in timestamp units, 16 s)
 * belongs to an earlier press, delivered late or reordered. Further back it is taken for a
 * sender that restarted its timeline, so digits keep working. */
#define STALE_UNITS 0x20000u
/* A segment this long may be followed by another segment of the same press (2.5.2.3 splits
 * presses longer than 0xFFFF units); shorter ones end with their press. The margin allows for
 * the last packets of the segment being lost. */
#define LONG_SEGMENT_UNITS 0xF000u

void dtmf_rtp_rx_init(struct dtmf_rtp_rx *rx)
{
    memset(rx, 0, sizeof *rx);
}

static void rx_update(struct dtmf_rtp_rx *rx, const struct dtmf_rtp_event *ev, uint64_t now_ms)
{
    if (ev->duration > rx->duration)
        rx->duration = ev->duration;
    if (ev->end)
        rx->ended = true;
    rx->last_ms = now_ms;
}

int dtmf_rtp_rx_packet(struct dtmf_rtp_rx *rx, const uint8_t *payload, size_t len,
                       uint32_t rtp_ts, bool marker, uint64_t now_ms)
{
    struct dtmf_rtp_event ev;
    if (dtmf_rtp_parse(payload, len, &ev) < 0)
        return -1;
    char digit = dtmf_event_to_digit(ev.event);
    if (!digit)
        return 0;
    if (rx->have_event) {
        uint32_t behind = rx->ts - rtp_ts;
        if (behind == 0 && ev.event == rx->event) {
            rx_update(rx, &ev, now_ms);
            return 0;
        }
        if (behind != 0 && behind <= STALE_UNITS)
            return 0;
        bool fresh = now_ms < rx->last_ms || now_ms - rx->last_ms <= DTMF_RTP_RX_TIMEOUT_MS;
        if (behind != 0 && ev.event == rx->event && !marker && !rx->ended && fresh &&
            rx->duration >= LONG_SEGMENT_UNITS) {
            rx->ts = rtp_ts;
            rx->duration = 0;
            rx_update(rx, &ev, now_ms);
            return 0;
        }
    }
    rx->have_event = true;
    rx->ts = rtp_ts;
    rx->event = ev.event;
    rx->ended = false;
    rx->duration = 0;
    rx_update(rx, &ev, now_ms);
    return digit;
}

/* ---- SIP INFO ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Case-insensitive comparison of the media type (before any ';' parameter) with want. */
static bool media_type_is(const char *ct, const char *want)
{
    while (is_space(*ct))
        ct++;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (is_space(*ct))
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* A Signal value of n bytes, spaces already trimmed: one digit character or a code 0-15. */
static int parse_value(const char *v, size_t n, char *digit)
{
    if (n == 1 && !isdigit((unsigned char)v[0])) {
        int ev = dtmf_digit_to_event(v[0]);
        if (ev < 0)
            return -1;
        *digit = dtmf_event_to_digit((unsigned)ev);
        return 0;
    }
    if (n == 0 || n > 2)
        return -1;
    unsigned code = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)v[i]))
            return -1;
        code = code * 10 + (unsigned)(v[i] - '0');
    }
    char d = dtmf_event_to_digit(code);
    if (!d)
        return -1;
    *digit = d;
    return 0;
}

/* Trims spaces, tabs and line ends from both ends of [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && (is_space(**s) || **s == '\r' || **s == '\n')) {
        (*s)++;
        (*n)--;
    }
    while (*n && (is_space((*s)[*n - 1]) || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
        (*n)--;
}

/* application/dtmf-relay: the first line whose key is Signal decides. */
static int parse_relay(const char *body, size_t len, char *digit)
{
    const char *end = body + len;
    for (const char *line = body; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        const char *p = line;
        while (p < eol && is_space(*p))
            p++;
        if ((size_t)(eol - p) >= 6 && strncasecmp(p, "signal", 6) == 0) {
            p += 6;
            while (p < eol && is_space(*p))
                p++;
            if (p < eol && *p == '=') {
                p++;
                size_t n = (size_t)(eol - p);
                trim(&p, &n);
                return parse_value(p, n, digit);
            }
        }
        line = eol + 1;
    }
    return -1;
}

int dtmf_info_parse(const char *content_type, const char *body, size_t len, char *digit)
{
    if (!content_type || !body || !digit)
        return -1;
    if (memchr(body, '\0', len))
        return -1; /* a NUL inside the body is not text */
    if (media_type_is(content_type, "application/dtmf-relay"))
        return parse_relay(body, len, digit);
    if (media_type_is(content_type, "application/dtmf")) {
        const char *v = body;
        size_t n = len;
        trim(&v, &n);
        /* some phones send the relay syntax under this type */
        if (parse_value(v, n, digit) == 0)
            return 0;
        return parse_relay(body, len, digit);
    }
    return -1;
}

/* ---- In-band tones ---- */

/* spandsp builds its Goertzel tables on the first dtmf_rx_init without a lock; doing that
 * once here keeps workers that open calls at the same time from racing on them. */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_build(void)
{
    dtmf_rx_state_t *det = dtmf_rx_init(NULL, NULL, NULL);
    if (det)
        dtmf_rx_free(det);
}

int dtmf_inband_init(struct dtmf_inband *ib)
{
    pthread_once(&tables_once, tables_build);
    /* no callback: digits wait in spandsp's buffer until dtmf_inband_feed takes them, so the
     * state holds no pointer back to ib and the call may be moved */
    ib->det = dtmf_rx_init(NULL, NULL, NULL);
    return ib->det ? 0 : -1;
}

int dtmf_inband_feed(struct dtmf_inband *ib, const int16_t *pcm, size_t n, char *digits,
                     size_t cap)
{
    if (!ib || !ib->det || (n && !pcm) || (cap && !digits))
        return -1;
    while (n) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        dtmf_rx(ib->det, pcm, chunk);
        pcm += chunk;
        n -= (size_t)chunk;
    }
    char got[MAX_DTMF_DIGITS + 1]; /* dtmf_rx_get writes a NUL after the digits */
    size_t k = dtmf_rx_get(ib->det, got, cap < MAX_DTMF_DIGITS ? (int)cap : MAX_DTMF_DIGITS);
    if (k)
        memcpy(digits, got, k);
    return (int)k;
}

void dtmf_inband_free(struct dtmf_inband *ib)
{
    if (ib->det)
        dtmf_rx_free(ib->det);
    ib->det = NULL;
}

/* ---- Merging the sources ---- */

void dtmf_dedup_init(struct dtmf_dedup *dd)
{
    memset(dd, 0, sizeof *dd);
}

int dtmf_dedup_push(struct dtmf_dedup *dd, enum dtmf_source src, char digit, uint64_t now_ms)
{
    int ev = dtmf_digit_to_event(digit);
    if (ev < 0 || (unsigned)src >= DTMF_SRC_COUNT)
        return -1;
    char d = dtmf_event_to_digit((unsigned)ev);
    uint8_t bit = (uint8_t)(1u << src);
    /* oldest first: the k-th copy from a source belongs to the k-th press it has not copied */
    for (unsigned i = 0; i < DTMF_DEDUP_RECENT; i++) {
        struct dtmf_press *p = &dd->recent[(dd->next + i) % DTMF_DEDUP_RECENT];
        if (p->digit != d || (p->sources & bit))
            continue;
        uint64_t age = now_ms > p->at_ms ? now_ms - p->at_ms : 0;
        if (age <= DTMF_DEDUP_WINDOW_MS) {
            p->sources |= bit;
            return 0;
        }
    }
    dd->recent[dd->next] = (struct dtmf_press){ .at_ms = now_ms, .digit = d, .sources = bit };
    dd->next = (dd->next + 1) % DTMF_DEDUP_RECENT;
    if (dd->count == DTMF_DEDUP_QUEUE) {
        dd->head = (dd->head + 1) % DTMF_DEDUP_QUEUE;
        dd->count--;
        dd->dropped++;
    }
    dd->queue[(dd->head + dd->count) % DTMF_DEDUP_QUEUE] = d;
    dd->count++;
    return 1;
}

char dtmf_dedup_pop(struct dtmf_dedup *dd)
{
    if (!dd->count)
        return '\0';
    char d = dd->queue[dd->head];
    dd->head = (dd->head + 1) % DTMF_DEDUP_QUEUE;
    dd->count--;
    return d;
}

void dtmf_dedup_flush(struct dtmf_dedup *dd)
{
    dd->head = 0;
    dd->count = 0;
}

/* ---- RFC 4733 sender ---- */

#define TICK_MS 20
#define END_PACKETS 3

void dtmf_rtp_tx_init(struct dtmf_rtp_tx *tx)
{
    memset(tx, 0, sizeof *tx);
}

bool dtmf_rtp_tx_busy(const struct dtmf_rtp_tx *tx)
{
    return tx->pos < tx->count;
}

int dtmf_rtp_tx_start(struct dtmf_rtp_tx *tx, const char *digits, unsigned duration_ms,
                      unsigned gap_ms)
{
    if (dtmf_rtp_tx_busy(tx) || !digits)
        return -1;
    if (!duration_ms)
        duration_ms = DTMF_TX_DURATION_MS;
    if (!gap_ms)
        gap_ms = DTMF_TX_GAP_MS;
    if (duration_ms < DTMF_TX_MIN_DURATION_MS || duration_ms > DTMF_TX_MAX_DURATION_MS ||
        gap_ms < DTMF_TX_MIN_GAP_MS || gap_ms > DTMF_TX_MAX_GAP_MS)
        return -1;
    size_t n = strnlen(digits, DTMF_TX_MAX_DIGITS + 1);
    if (n == 0 || n > DTMF_TX_MAX_DIGITS)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int ev = dtmf_digit_to_event(digits[i]);
        if (ev < 0)
            return -1; /* pos == count still, so nothing is queued */
        tx->digits[i] = dtmf_event_to_digit((unsigned)ev);
    }
    tx->count = (unsigned)n;
    tx->pos = 0;
    tx->tick = 0;
    tx->tone_ticks = (duration_ms + TICK_MS - 1) / TICK_MS;
    tx->gap_ticks = (gap_ms + TICK_MS - 1) / TICK_MS;
    return 0;
}

int dtmf_rtp_tx_append(struct dtmf_rtp_tx *tx, char digit)
{
    char key[2] = { digit, '\0' };
    int ev = dtmf_digit_to_event(digit);
    if (!dtmf_rtp_tx_busy(tx))
        return dtmf_rtp_tx_start(tx, key, 0, 0);
    if (ev < 0 || tx->count - tx->pos > DTMF_TX_MAX_QUEUED)
        return -1;
    if (tx->count == DTMF_TX_MAX_DIGITS) { /* the keys sent make room: at most 16 remain */
        memmove(tx->digits, tx->digits + tx->pos, tx->count - tx->pos);
        tx->count -= tx->pos;
        tx->pos = 0;
    }
    tx->digits[tx->count++] = dtmf_event_to_digit((unsigned)ev);
    return 0;
}

int dtmf_rtp_tx_next(struct dtmf_rtp_tx *tx, uint8_t payload[4], bool *marker,
                     bool *new_event_timestamp)
{
    *marker = false;
    *new_event_timestamp = false;
    if (!dtmf_rtp_tx_busy(tx))
        return 0;
    unsigned t = tx->tick;
    int rc = 0;
    if (t < tx->tone_ticks + END_PACKETS - 1) {
        bool end = t + 1 >= tx->tone_ticks;
        struct dtmf_rtp_event ev = {
            .event = (uint8_t)dtmf_digit_to_event(tx->digits[tx->pos]),
            .end = end,
            .volume = DTMF_TX_VOLUME,
            .duration = (uint16_t)(DTMF_TX_TICK_SAMPLES * (end ? tx->tone_ticks : t + 1)),
        };
        dtmf_rtp_write(payload, &ev);
        *marker = t == 0;
        *new_event_timestamp = t == 0;
        rc = 1;
    }
    if (++tx->tick == tx->tone_ticks + tx->gap_ticks) {
        tx->tick = 0;
        tx->pos++;
    }
    return rc;
}
