/* DTMF from every source and RFC 4733 out.
 * RFC 4733 receiver: packet sequences as phones send them and as networks deliver them (lost
 *   start, lost ends, retransmissions, long presses split into segments, equal digits, garbage
 *   in between, reordering, timestamp wrap).
 * SIP INFO: the body variants phones send, and junk; every body is an exact-size heap copy
 *   with no NUL, so AddressSanitizer catches a read past its length.
 * In-band: real tones from spandsp's generator, through G.711 encode/decode, in 20 ms frames;
 *   silence and single tones must give nothing.
 * Merging: copies of a press from two or three sources count once, in either order.
 * Sender: the exact packet sequence, its limits, and a round trip into the receiver. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>

#include "media/dtmf.h"
#include "media/g711.h"

#define FRAME 160

/* ---- RFC 4733 receiver ---- */

/* Feeds one 4-byte event block through an exact-size heap copy. */
static int rx_feed(struct dtmf_rtp_rx *rx, uint8_t event, bool end, uint16_t duration,
                   uint32_t ts, bool marker, uint64_t now_ms)
{
    uint8_t *p = malloc(4);
    assert_non_null(p);
    struct dtmf_rtp_event ev = { .event = event, .end = end, .volume = 10, .duration = duration };
    dtmf_rtp_write(p, &ev);
    int rc = dtmf_rtp_rx_packet(rx, p, 4, ts, marker, now_ms);
    free(p);
    return rc;
}

/* One press as a phone sends it: start with marker, an update every 20 ms, three ends.
 * Returns the digits reported, in order, into out. */
static void rx_press(struct dtmf_rtp_rx *rx, uint8_t event, uint32_t ts, unsigned ticks,
                     uint64_t *now_ms, char *out)
{
    size_t n = strlen(out);
    for (unsigned t = 0; t < ticks; t++) {
        int rc = rx_feed(rx, event, false, (uint16_t)(160 * (t + 1)), ts, t == 0, *now_ms);
        if (rc > 0)
            out[n++] = (char)rc;
        *now_ms += 20;
    }
    for (int i = 0; i < 3; i++) {
        int rc = rx_feed(rx, event, true, (uint16_t)(160 * ticks), ts, false, *now_ms);
        if (rc > 0)
            out[n++] = (char)rc;
        *now_ms += 20;
    }
    out[n] = '\0';
}

static void test_event_codes(void **state)
{
    (void)state;
    const char *all = "0123456789*#ABCD";
    for (int i = 0; i < 16; i++) {
        assert_int_equal(dtmf_digit_to_event(all[i]), i);
        assert_int_equal(dtmf_event_to_digit((unsigned)i), all[i]);
    }
    assert_int_equal(dtmf_digit_to_event('a'), 12);
    assert_int_equal(dtmf_digit_to_event('d'), 15);
    assert_int_equal(dtmf_digit_to_event('E'), -1);
    assert_int_equal(dtmf_digit_to_event('\0'), -1);
    assert_int_equal(dtmf_digit_to_event(' '), -1);
    assert_int_equal(dtmf_event_to_digit(16), '\0');
    assert_int_equal(dtmf_event_to_digit(255), '\0');
}

static void test_parse_fields(void **state)
{
    (void)state;
    struct dtmf_rtp_event ev;
    const uint8_t a[4] = { 0x0b, 0x8a, 0x03, 0x20 };
    assert_int_equal(dtmf_rtp_parse(a, 4, &ev), 0);
    assert_int_equal(ev.event, 11);
    assert_true(ev.end);
    assert_int_equal(ev.volume, 10);
    assert_int_equal(ev.duration, 800);
    /* the reserved R bit is not part of the volume */
    const uint8_t b[4] = { 0x05, 0x7f, 0xff, 0xff };
    assert_int_equal(dtmf_rtp_parse(b, 4, &ev), 0);
    assert_false(ev.end);
    assert_int_equal(ev.volume, 63);
    assert_int_equal(ev.duration, 0xffff);
    assert_int_equal(dtmf_rtp_parse(a, 3, &ev), -1);
    assert_int_equal(dtmf_rtp_parse(NULL, 4, &ev), -1);
    uint8_t w[4];
    dtmf_rtp_write(w, &(struct dtmf_rtp_event){ .event = 11, .end = true, .volume = 10,
                                                .duration = 800 });
    assert_memory_equal(w, a, 4);
}

static void test_rx_normal(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    uint64_t now = 1000;
    char got[32] = "";
    rx_press(&rx, 5, 16000, 5, &now, got);
    assert_string_equal(got, "5");
    assert_true(rx.ended);
    assert_int_equal(rx.duration, 800);
    now += 60;
    rx_press(&rx, 11, 16000 + 1280, 8, &now, got);
    assert_string_equal(got, "5#");
}

static void test_rx_reported_at_start(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    assert_int_equal(rx_feed(&rx, 3, false, 160, 500, true, 0), '3');
    for (int t = 1; t < 10; t++)
        assert_int_equal(rx_feed(&rx, 3, false, (uint16_t)(160 * (t + 1)), 500, false,
                                 (uint64_t)t * 20), 0);
}

static void test_rx_lost_start(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    /* the first two packets (with the marker) are lost */
    assert_int_equal(rx_feed(&rx, 7, false, 480, 9000, false, 40), '7');
    assert_int_equal(rx_feed(&rx, 7, false, 640, 9000, false, 60), 0);
    assert_int_equal(rx_feed(&rx, 7, true, 800, 9000, false, 80), 0);
    assert_int_equal(rx_feed(&rx, 7, true, 800, 9000, false, 100), 0);
}

static void test_rx_only_end_seen(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    assert_int_equal(rx_feed(&rx, 0, true, 800, 123456, false, 0), '0');
    assert_int_equal(rx_feed(&rx, 0, true, 800, 123456, false, 20), 0);
    assert_int_equal(rx_feed(&rx, 0, true, 800, 123456, false, 40), 0);
    assert_true(rx.ended);
    /* and the next press is not held up by it */
    assert_int_equal(rx_feed(&rx, 0, false, 160, 123456 + 1600, true, 200), '0');
}

static void test_rx_lost_end(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    /* '1' without any end packet, then '2' 60 ms after its last update */
    for (int t = 0; t < 5; t++)
        assert_int_equal(rx_feed(&rx, 1, false, (uint16_t)(160 * (t + 1)), 1000, t == 0,
                                 (uint64_t)t * 20), t == 0 ? '1' : 0);
    assert_int_equal(rx_feed(&rx, 2, false, 160, 1000 + 1280, true, 140), '2');
    assert_int_equal(rx_feed(&rx, 2, false, 800, 1000 + 1280, false, 220), 0);
    /* '2' again with its ends lost and the next start lost too: the new timestamp of a short
     * press still makes it a new press, well inside the timeout */
    assert_int_equal(rx_feed(&rx, 2, false, 480, 1000 + 2560, false, 300), '2');
    /* the same after a long silence */
    assert_int_equal(rx_feed(&rx, 2, false, 160, 1000 + 40000, true, 5300), '2');
}

static void test_rx_redundancy(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    int digits = 0;
    uint64_t now = 0;
    /* start sent three times with the marker, every update twice, ends three times twice */
    for (int i = 0; i < 3; i++)
        digits += rx_feed(&rx, 9, false, 160, 777, true, now) > 0;
    for (int t = 1; t < 6; t++)
        for (int i = 0; i < 2; i++)
            digits += rx_feed(&rx, 9, false, (uint16_t)(160 * (t + 1)), 777, false,
                              now += 10) > 0;
    for (int i = 0; i < 6; i++)
        digits += rx_feed(&rx, 9, true, 1120, 777, false, now += 10) > 0;
    assert_int_equal(digits, 1);
}

static void test_rx_long_press(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    /* held 12 s: the first segment runs up to 0xFFFF units, RFC 4733 2.5.2.3 then starts a
     * new segment at ts + 0xFFFF without the marker */
    uint32_t ts = 0xFFFF0000u; /* and the second segment crosses the timestamp wrap */
    uint64_t now = 0;
    int digits = 0;
    unsigned d = 160;
    for (; d < 0xFFFF; d += 160, now += 20)
        digits += rx_feed(&rx, 4, false, (uint16_t)d, ts, d == 160, now) > 0;
    digits += rx_feed(&rx, 4, false, 0xFFFF, ts, false, now) > 0;
    now += 20;
    ts += 0xFFFF;
    for (d = 160; d < 3 * 8000; d += 160, now += 20)
        digits += rx_feed(&rx, 4, false, (uint16_t)d, ts, false, now) > 0;
    for (int i = 0; i < 3; i++)
        digits += rx_feed(&rx, 4, true, (uint16_t)d, ts, false, now += 20) > 0;
    assert_int_equal(digits, 1);
    /* the same key again is a new press */
    assert_int_equal(rx_feed(&rx, 4, false, 160, ts + d + 800, true, now + 100), '4');
}

static void test_rx_long_press_segment_lost_tail(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    /* the last packets of the first segment are lost: still one press */
    assert_int_equal(rx_feed(&rx, 6, false, 160, 50, true, 0), '6');
    assert_int_equal(rx_feed(&rx, 6, false, 0xF500, 50, false, 7840), 0);
    assert_int_equal(rx_feed(&rx, 6, false, 480, 50 + 0xFFFF, false, 8300), 0);
    /* a long segment followed too late (past the timeout) is a new press */
    assert_int_equal(rx_feed(&rx, 6, false, 0xFFFF, 50 + 0xFFFF, false, 16400), 0);
    assert_int_equal(rx_feed(&rx, 6, false, 160, 50 + 2 * 0xFFFF, false, 17000), '6');
}

static void test_rx_two_equal_digits(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    uint64_t now = 0;
    char got[8] = "";
    rx_press(&rx, 5, 8000, 5, &now, got);
    now += 40;
    rx_press(&rx, 5, 8000 + 1280, 5, &now, got);
    assert_string_equal(got, "55");
}

static void test_rx_garbage_interleaved(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    const uint8_t shortp[3] = { 1, 0x0a, 0 };
    assert_int_equal(rx_feed(&rx, 8, false, 160, 3000, true, 0), '8');
    assert_int_equal(dtmf_rtp_rx_packet(&rx, shortp, 3, 3000, true, 5), -1);
    assert_int_equal(dtmf_rtp_rx_packet(&rx, shortp, 0, 4000, true, 6), -1);
    assert_int_equal(dtmf_rtp_rx_packet(&rx, NULL, 4, 4000, true, 7), -1);
    /* flash and unknown events are ignored and do not disturb the press */
    assert_int_equal(rx_feed(&rx, 16, false, 160, 3300, true, 10), 0);
    assert_int_equal(rx_feed(&rx, 200, true, 160, 3400, true, 15), 0);
    assert_int_equal(rx_feed(&rx, 8, false, 320, 3000, false, 20), 0);
    assert_int_equal(rx_feed(&rx, 8, true, 480, 3000, false, 40), 0);
    assert_int_equal(rx.ts, 3000u);
    /* a packed payload (RFC 4733 2.5.1.5) is read by its first block */
    const uint8_t packed[8] = { 2, 0x8a, 0x03, 0x20, 3, 0x0a, 0x00, 0xa0 };
    assert_int_equal(dtmf_rtp_rx_packet(&rx, packed, 8, 5000, true, 100), '2');
    assert_int_equal(dtmf_rtp_rx_packet(&rx, packed, 8, 5000, false, 120), 0);
}

static void test_rx_late_packets_of_previous_press(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    assert_int_equal(rx_feed(&rx, 1, false, 160, 10000, true, 0), '1');
    assert_int_equal(rx_feed(&rx, 2, false, 160, 11280, true, 140), '2');
    /* reordered: the ends of '1' arrive after '2' started */
    assert_int_equal(rx_feed(&rx, 1, true, 800, 10000, false, 150), 0);
    assert_int_equal(rx_feed(&rx, 1, true, 800, 10000, false, 160), 0);
    assert_int_equal(rx_feed(&rx, 2, true, 800, 11280, false, 220), 0);
    /* a sender whose timeline jumped far back (new SSRC base) still gets its digits through */
    assert_int_equal(rx_feed(&rx, 3, false, 160, 10000 - 0x01000000u, true, 400), '3');
}

static void test_rx_timestamp_wrap(void **state)
{
    (void)state;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    uint64_t now = 0;
    char got[8] = "";
    rx_press(&rx, 1, 0xFFFFFB00u, 5, &now, got);
    rx_press(&rx, 2, 0xFFFFFB00u + 1280, 5, &now, got); /* = 0x00000000 */
    rx_press(&rx, 3, 0x00000500u, 5, &now, got);
    assert_string_equal(got, "123");
    /* a late end of '1', from before the wrap */
    assert_int_equal(rx_feed(&rx, 1, true, 800, 0xFFFFFB00u, false, now), 0);
    assert_int_equal(rx_feed(&rx, 2, true, 800, 0, false, now), 0);
}

/* ---- SIP INFO ---- */

static int info(const char *ct, const char *body, char *digit)
{
    size_t len = strlen(body);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, body, len);
    *digit = '?';
    int rc = dtmf_info_parse(ct, copy, len, digit);
    free(copy);
    return rc;
}

static void test_info_valid(void **state)
{
    (void)state;
    static const struct {
        const char *ct, *body;
        char digit;
    } cases[] = {
        { "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5' },
        { "application/dtmf-relay", "Signal=5\r\nDuration=160", '5' },
        { "application/dtmf-relay", "Signal= #\r\nDuration=160\r\n", '#' },
        { "application/dtmf-relay", "Signal=*\r\nDuration=250\r\n", '*' },
        { "application/dtmf-relay", "signal=1\nduration=100\n", '1' },
        { "application/dtmf-relay", "SIGNAL=0", '0' },
        { "application/dtmf-relay", "Signal=10\r\nDuration=160\r\n", '*' },
        { "application/dtmf-relay", "Signal=11\r\nDuration=160\r\n", '#' },
        { "application/dtmf-relay", "Signal=12", 'A' },
        { "application/dtmf-relay", "Signal=15", 'D' },
        { "application/dtmf-relay", "Signal=d\r\n", 'D' },
        { "application/dtmf-relay", "Duration=160\r\nSignal=9\r\n", '9' },
        { "application/dtmf-relay", "  Signal = 7 \t\r\nDuration = 100\r\n", '7' },
        { "application/dtmf-relay", "SignalLevel=3\r\nSignal=4\r\n", '4' },
        { "Application/DTMF-Relay; charset=utf-8", "Signal=2\r\n", '2' },
        { " application/dtmf-relay ", "Signal=3", '3' },
        { "application/dtmf", "5", '5' },
        { "application/dtmf", "5\r\n", '5' },
        { "application/dtmf", " # ", '#' },
        { "application/dtmf", "11", '#' },
        { "application/dtmf", "b", 'B' },
        { "application/dtmf", "Signal=6\r\nDuration=160\r\n", '6' },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char d;
        int rc = info(cases[i].ct, cases[i].body, &d);
        if (rc != 0 || d != cases[i].digit)
            fail_msg("case %zu (%s | %s): rc %d digit '%c'", i, cases[i].ct, cases[i].body, rc,
                     d);
    }
}

static void test_info_junk(void **state)
{
    (void)state;
    static const struct {
        const char *ct, *body;
    } cases[] = {
        { "application/dtmf-relay", "" },
        { "application/dtmf-relay", "Duration=160\r\n" },
        { "application/dtmf-relay", "Signal=\r\nDuration=160" },
        { "application/dtmf-relay", "Signal=55" },
        { "application/dtmf-relay", "Signal=16" }, /* flash */
        { "application/dtmf-relay", "Signal=100" },
        { "application/dtmf-relay", "Signal=x" },
        { "application/dtmf-relay", "Signal=5 6" },
        { "application/dtmf-relay", "Signal:5" },
        { "application/dtmf-relay", "Signal=-1" },
        { "application/dtmf-relay", "Signal=E" },
        { "application/dtmf-relay", "\r\n\r\n\r\n" },
        { "application/dtmf", "" },
        { "application/dtmf", "12345" },
        { "application/dtmf", "16" },
        { "application/dtmf", "hello" },
        { "text/plain", "Signal=5" },
        { "application/dtmf-relayx", "Signal=5" },
        { "application/dtmfx", "5" },
        { "application/sdp", "5" },
        { "", "5" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char d;
        int rc = info(cases[i].ct, cases[i].body, &d);
        if (rc != -1)
            fail_msg("case %zu (%s | %s) accepted as '%c'", i, cases[i].ct, cases[i].body, d);
    }
    char d;
    assert_int_equal(dtmf_info_parse(NULL, "5", 1, &d), -1);
    assert_int_equal(dtmf_info_parse("application/dtmf", NULL, 0, &d), -1);
    assert_int_equal(dtmf_info_parse("application/dtmf", "5", 1, NULL), -1);
    /* a NUL inside the body, and a body cut before its value */
    assert_int_equal(dtmf_info_parse("application/dtmf-relay", "Signal=5\0x", 10, &d), -1);
    assert_int_equal(dtmf_info_parse("application/dtmf-relay", "Signal=5", 7, &d), -1);
    assert_int_equal(dtmf_info_parse("application/dtmf-relay", "Signal=5xyz", 8, &d), 0);
    assert_int_equal(d, '5');
}

/* ---- In-band ---- */

/* Generates digits with spandsp's DTMF generator at -10 dBm0 per tone after lead_ms of
 * silence, and passes them through G.711 (mu-law or A-law). Returns the sample count. */
static size_t make_tones(int16_t *out, size_t cap, const char *digits, int on_ms, int off_ms,
                         int lead_ms, bool alaw)
{
    size_t n = (size_t)lead_ms * 8;
    assert_true(n <= cap);
    memset(out, 0, n * sizeof *out);
    dtmf_tx_state_t *gen = dtmf_tx_init(NULL);
    assert_non_null(gen);
    dtmf_tx_set_level(gen, -10, 0);
    dtmf_tx_set_timing(gen, on_ms, off_ms);
    /* returns how many digits did not fit, despite what its header says */
    assert_int_equal(dtmf_tx_put(gen, digits, -1), 0);
    int got;
    while (n < cap && (got = dtmf_tx(gen, out + n, (int)(cap - n > FRAME ? FRAME : cap - n))) > 0)
        n += (size_t)got;
    dtmf_tx_free(gen);
    /* trailing silence so the last digit's pause is complete */
    for (int i = 0; i < 100 * 8 && n < cap; i++)
        out[n++] = 0;
    uint8_t *enc = malloc(n);
    assert_non_null(enc);
    if (alaw) {
        g711_alaw_encode(enc, out, n);
        g711_alaw_decode(out, enc, n);
    } else {
        g711_ulaw_encode(enc, out, n);
        g711_ulaw_decode(out, enc, n);
    }
    free(enc);
    return n;
}

/* Runs n samples through a detector in 20 ms frames; the digits go to got, and the frame
 * that reported each into frames (when not NULL). */
static void detect(const int16_t *pcm, size_t n, char *got, size_t *frames)
{
    struct dtmf_inband ib;
    assert_int_equal(dtmf_inband_init(&ib), 0);
    size_t k = 0;
    for (size_t off = 0; off < n; off += FRAME) {
        char d[4];
        size_t len = n - off < FRAME ? n - off : FRAME;
        int rc = dtmf_inband_feed(&ib, pcm + off, len, d, sizeof d);
        assert_in_range(rc, 0, 1);
        if (rc == 1) {
            if (frames)
                frames[k] = off / FRAME;
            got[k++] = d[0];
        }
    }
    got[k] = '\0';
    dtmf_inband_free(&ib);
}

#define PCM_CAP (8000 * 20)
static int16_t pcm[PCM_CAP];

static void test_inband_digits_ulaw(void **state)
{
    (void)state;
    char got[32];
    size_t frames[32];
    size_t n = make_tones(pcm, PCM_CAP, "159#", 100, 100, 200, false);
    detect(pcm, n, got, frames);
    assert_string_equal(got, "159#");
    /* reported at the start of the tone: the first within 60 ms of its onset at 200 ms */
    assert_true((frames[0] + 1) * 20 <= 200 + 60);
    for (int i = 1; i < 4; i++)
        assert_true((frames[i] + 1) * 20 <= 200 + (size_t)i * 200 + 60);
}

static void test_inband_all_digits_alaw(void **state)
{
    (void)state;
    char got[32];
    size_t n = make_tones(pcm, PCM_CAP, "0123456789*#ABCD", 80, 80, 0, true);
    detect(pcm, n, got, NULL);
    assert_string_equal(got, "0123456789*#ABCD");
}

static void test_inband_short_and_repeated(void **state)
{
    (void)state;
    char got[32];
    /* spandsp's defaults are the minimum a detector should take: 50 ms on, 55 ms off */
    size_t n = make_tones(pcm, PCM_CAP, "5500", 50, 55, 0, false);
    detect(pcm, n, got, NULL);
    assert_string_equal(got, "5500");
}

static void test_inband_held_digit_once(void **state)
{
    (void)state;
    char got[32];
    size_t n = make_tones(pcm, PCM_CAP, "7", 3000, 100, 0, false);
    detect(pcm, n, got, NULL);
    assert_string_equal(got, "7");
}

/* A sine of hz at about -10 dBm0, through mu-law. */
static size_t make_sine(int16_t *out, size_t n, double hz, double hz2)
{
    for (size_t i = 0; i < n; i++) {
        double v = 7000.0 * sin(2 * M_PI * hz * (double)i / 8000.0);
        if (hz2 > 0)
            v += 7000.0 * sin(2 * M_PI * hz2 * (double)i / 8000.0);
        out[i] = (int16_t)lrint(v);
    }
    uint8_t *enc = malloc(n);
    assert_non_null(enc);
    g711_ulaw_encode(enc, out, n);
    g711_ulaw_decode(out, enc, n);
    free(enc);
    return n;
}

static void test_inband_no_false_digits(void **state)
{
    (void)state;
    char got[32];
    memset(pcm, 0, 16000 * sizeof pcm[0]);
    detect(pcm, 16000, got, NULL);
    assert_string_equal(got, "");
    detect(pcm, make_sine(pcm, 16000, 1000, 0), got, NULL);
    assert_string_equal(got, "");
    /* one half of a DTMF pair alone, and dial tone (350 + 440 Hz) */
    detect(pcm, make_sine(pcm, 16000, 697, 0), got, NULL);
    assert_string_equal(got, "");
    detect(pcm, make_sine(pcm, 16000, 350, 440), got, NULL);
    assert_string_equal(got, "");
    /* but our own sine sum of 852 + 1477 Hz is a 9 */
    detect(pcm, make_sine(pcm, 1600, 852, 1477), got, NULL);
    assert_string_equal(got, "9");
}

static void test_inband_api_errors(void **state)
{
    (void)state;
    struct dtmf_inband ib;
    char d[4];
    int16_t frame[FRAME] = { 0 };
    assert_int_equal(dtmf_inband_init(&ib), 0);
    assert_int_equal(dtmf_inband_feed(&ib, NULL, FRAME, d, sizeof d), -1);
    assert_int_equal(dtmf_inband_feed(&ib, frame, FRAME, NULL, 4), -1);
    assert_int_equal(dtmf_inband_feed(NULL, frame, FRAME, d, sizeof d), -1);
    assert_int_equal(dtmf_inband_feed(&ib, frame, 0, d, sizeof d), 0);
    assert_int_equal(dtmf_inband_feed(&ib, frame, FRAME, NULL, 0), 0);
    dtmf_inband_free(&ib);
    dtmf_inband_free(&ib);
    assert_int_equal(dtmf_inband_feed(&ib, frame, FRAME, d, sizeof d), -1);
}

static void test_inband_small_cap_keeps_digits(void **state)
{
    (void)state;
    /* fed in one block, with room for one digit at a time: the rest wait for the next call */
    size_t n = make_tones(pcm, PCM_CAP, "12", 100, 100, 0, false);
    struct dtmf_inband ib;
    assert_int_equal(dtmf_inband_init(&ib), 0);
    char d[2];
    assert_int_equal(dtmf_inband_feed(&ib, pcm, n, d, 1), 1);
    assert_int_equal(d[0], '1');
    assert_int_equal(dtmf_inband_feed(&ib, pcm, 0, d, 1), 1);
    assert_int_equal(d[0], '2');
    assert_int_equal(dtmf_inband_feed(&ib, pcm, 0, d, 1), 0);
    dtmf_inband_free(&ib);
}

/* ---- Merging ---- */

static void drain(struct dtmf_dedup *dd, char *out)
{
    size_t n = 0;
    char c;
    while ((c = dtmf_dedup_pop(dd)))
        out[n++] = c;
    out[n] = '\0';
}

static void test_dedup_two_methods(void **state)
{
    (void)state;
    struct dtmf_dedup dd;
    char got[80];
    dtmf_dedup_init(&dd);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '5', 1000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '5', 1080), 0);
    /* INFO before RTP */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '6', 2000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '6', 2030), 0);
    /* in-band tones still in the audio next to RFC 4733, and INFO too */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '7', 3000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INBAND, '7', 3040), 0);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '7', 3300), 0);
    drain(&dd, got);
    assert_string_equal(got, "567");
    assert_int_equal(dtmf_dedup_pop(&dd), '\0');
}

static void test_dedup_same_source_repeats(void **state)
{
    (void)state;
    struct dtmf_dedup dd;
    char got[80];
    dtmf_dedup_init(&dd);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '5', 0), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '5', 100), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '5', 100), 0);
    drain(&dd, got);
    /* the INFO copy paired with the first press: two presses, not three */
    assert_string_equal(got, "55");
}

static void test_dedup_pairs_oldest_first(void **state)
{
    (void)state;
    struct dtmf_dedup dd;
    char got[80];
    dtmf_dedup_init(&dd);
    /* "55" both ways, the INFO copies trailing: each pairs with its own press */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '5', 0), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '5', 200), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '5', 250), 0);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '5', 450), 0);
    /* copies 450 ms late: pairing the first copy with the newest press would leave the
     * second copy outside the window of the first press, and count a third press */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '3', 10000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '3', 10400), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '3', 10450), 0);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '3', 10850), 0);
    /* interleaved */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '8', 11000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '8', 11010), 0);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '8', 11150), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '8', 11160), 0);
    drain(&dd, got);
    assert_string_equal(got, "553388");
}

static void test_dedup_window(void **state)
{
    (void)state;
    struct dtmf_dedup dd;
    char got[80];
    dtmf_dedup_init(&dd);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '1', 0), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '1', DTMF_DEDUP_WINDOW_MS), 0);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '2', 1000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '2', 1000 + DTMF_DEDUP_WINDOW_MS + 1), 1);
    /* a different digit from another source is another press */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '3', 5000), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '4', 5010), 1);
    drain(&dd, got);
    assert_string_equal(got, "12234");
}

static void test_dedup_errors_and_queue(void **state)
{
    (void)state;
    struct dtmf_dedup dd;
    char got[80];
    dtmf_dedup_init(&dd);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, 'x', 0), -1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '\0', 0), -1);
    assert_int_equal(dtmf_dedup_push(&dd, (enum dtmf_source)7, '1', 0), -1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_COUNT, '1', 0), -1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INBAND, 'a', 0), 1);
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, 'A', 10), 0);
    drain(&dd, got);
    assert_string_equal(got, "A");
    /* overflow keeps the newest presses */
    const char *cycle = "0123456789";
    for (int i = 0; i < DTMF_DEDUP_QUEUE + 6; i++)
        assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, cycle[i % 10], 100 + (uint64_t)i),
                         1);
    assert_int_equal(dd.dropped, 6);
    drain(&dd, got);
    assert_int_equal(strlen(got), DTMF_DEDUP_QUEUE);
    assert_int_equal(got[0], '6');
    assert_int_equal(got[DTMF_DEDUP_QUEUE - 1], cycle[(DTMF_DEDUP_QUEUE + 5) % 10]);
    /* flush empties the queue but a late copy of a flushed press is still a copy */
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, '#', 1000), 1);
    dtmf_dedup_flush(&dd);
    assert_int_equal(dtmf_dedup_pop(&dd), '\0');
    assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, '#', 1100), 0);
    assert_int_equal(dtmf_dedup_pop(&dd), '\0');
}

/* ---- Sender ---- */

struct sent {
    struct dtmf_rtp_event ev;
    bool marker, new_ts;
    unsigned tick;
};

/* Runs the sender to idle; returns the packet count, and the tick count in *ticks. */
static size_t tx_run(struct dtmf_rtp_tx *tx, struct sent *out, size_t cap, unsigned *ticks)
{
    size_t n = 0;
    unsigned t = 0;
    while (dtmf_rtp_tx_busy(tx)) {
        uint8_t p[4];
        bool m = true, nt = true;
        int rc = dtmf_rtp_tx_next(tx, p, &m, &nt);
        assert_in_range(rc, 0, 1);
        if (rc == 1) {
            assert_true(n < cap);
            assert_int_equal(dtmf_rtp_parse(p, 4, &out[n].ev), 0);
            out[n].marker = m;
            out[n].new_ts = nt;
            out[n].tick = t;
            n++;
        } else {
            assert_false(m);
            assert_false(nt);
        }
        t++;
        assert_true(t < 100000);
    }
    *ticks = t;
    return n;
}

static void test_tx_one_digit_default(void **state)
{
    (void)state;
    struct dtmf_rtp_tx tx;
    struct sent s[64];
    unsigned ticks;
    dtmf_rtp_tx_init(&tx);
    assert_false(dtmf_rtp_tx_busy(&tx));
    assert_int_equal(dtmf_rtp_tx_start(&tx, "1", 0, 0), 0);
    assert_true(dtmf_rtp_tx_busy(&tx));
    size_t n = tx_run(&tx, s, 64, &ticks);
    /* 100 ms: start + 3 updates, three ends; then 100 ms of pause */
    assert_int_equal(n, 7);
    assert_int_equal(ticks, 10);
    static const uint16_t dur[7] = { 160, 320, 480, 640, 800, 800, 800 };
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s[i].tick, i);
        assert_int_equal(s[i].ev.event, 1);
        assert_int_equal(s[i].ev.volume, DTMF_TX_VOLUME);
        assert_int_equal(s[i].ev.duration, dur[i]);
        assert_int_equal(s[i].ev.end, i >= 4);
        assert_int_equal(s[i].marker, i == 0);
        assert_int_equal(s[i].new_ts, i == 0);
    }
    uint8_t p[4];
    bool m, nt;
    assert_int_equal(dtmf_rtp_tx_next(&tx, p, &m, &nt), 0);
    assert_false(m);
    assert_false(nt);
}

static void test_tx_string(void **state)
{
    (void)state;
    struct dtmf_rtp_tx tx;
    struct sent s[128];
    unsigned ticks;
    dtmf_rtp_tx_init(&tx);
    /* 160 ms tone (8 ticks), 60 ms pause (3 ticks): 11 ticks and 10 packets per digit */
    assert_int_equal(dtmf_rtp_tx_start(&tx, "123#", 160, 60), 0);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "4", 0, 0), -1); /* busy */
    size_t n = tx_run(&tx, s, 128, &ticks);
    assert_int_equal(n, 40);
    assert_int_equal(ticks, 44);
    static const uint8_t codes[4] = { 1, 2, 3, 11 };
    for (size_t d = 0; d < 4; d++) {
        for (size_t k = 0; k < 10; k++) {
            const struct sent *p = &s[d * 10 + k];
            assert_int_equal(p->tick, d * 11 + k);
            assert_int_equal(p->ev.event, codes[d]);
            assert_int_equal(p->ev.end, k >= 7);
            assert_int_equal(p->ev.duration, k >= 7 ? 8 * 160 : 160 * (k + 1));
            assert_int_equal(p->marker, k == 0);
            assert_int_equal(p->new_ts, k == 0);
        }
    }
    /* idle again: a new string is accepted, lower case taken as upper */
    assert_int_equal(dtmf_rtp_tx_start(&tx, "a", 40, 60), 0);
    n = tx_run(&tx, s, 128, &ticks);
    assert_int_equal(n, 4); /* 40 ms: start, then the end three times */
    assert_int_equal(ticks, 5);
    assert_int_equal(s[0].ev.event, 12);
    assert_false(s[0].ev.end);
    assert_int_equal(s[0].ev.duration, 160);
    for (int i = 1; i < 4; i++) {
        assert_true(s[i].ev.end);
        assert_int_equal(s[i].ev.duration, 320);
    }
}

/* Keys relayed while one is still going out queue behind it (at most DTMF_TX_MAX_QUEUED), each
 * sent as its own event in order, however long the relay goes on. */
static void test_tx_append(void **state)
{
    (void)state;
    struct dtmf_rtp_tx tx;
    struct sent s[512];
    unsigned ticks;
    uint8_t p[4];
    bool m, nt;
    dtmf_rtp_tx_init(&tx);
    assert_int_equal(dtmf_rtp_tx_append(&tx, '1'), 0); /* idle: starts with the defaults */
    assert_int_equal(dtmf_rtp_tx_next(&tx, p, &m, &nt), 1);
    assert_int_equal(dtmf_rtp_tx_append(&tx, 'x'), -1);
    for (int i = 0; i < DTMF_TX_MAX_QUEUED; i++)
        assert_int_equal(dtmf_rtp_tx_append(&tx, i % 2 ? '#' : '2'), 0);
    assert_int_equal(dtmf_rtp_tx_append(&tx, '3'), -1); /* full */
    size_t n = tx_run(&tx, s, 512, &ticks);
    /* the rest of '1' (6 packets), then 16 keys of 7 packets, 10 ticks each */
    assert_int_equal(n, 6 + DTMF_TX_MAX_QUEUED * 7);
    assert_int_equal(ticks, 9 + DTMF_TX_MAX_QUEUED * 10);
    for (int k = 0; k < DTMF_TX_MAX_QUEUED; k++) {
        const struct sent *first = &s[6 + k * 7];
        assert_int_equal(first->ev.event, k % 2 ? 11 : 2);
        assert_true(first->marker && first->new_ts); /* a new event: a new timestamp */
        assert_int_equal(first->tick, 9 + (unsigned)k * 10);
        for (int e = 4; e < 7; e++) /* the end packet three times */
            assert_true(first[e].ev.end && first[e].ev.duration == 800);
    }
    /* a long relay: one key appended every 3 ticks, far beyond DTMF_TX_MAX_DIGITS in all, is
     * refused only while 16 wait, and what is sent keeps the order of what was accepted */
    char accepted[400];
    size_t n_acc = 0, n_sent = 0;
    for (unsigned t = 0; t < 3000 || dtmf_rtp_tx_busy(&tx); t++) {
        char key = "0123456789*#ABCD"[t % 16];
        if (t < 3000 && t % 3 == 0 && dtmf_rtp_tx_append(&tx, key) == 0)
            accepted[n_acc++] = key;
        assert_true(n_acc < sizeof accepted);
        if (dtmf_rtp_tx_next(&tx, p, &m, &nt) == 1 && m) {
            struct dtmf_rtp_event ev;
            assert_int_equal(dtmf_rtp_parse(p, 4, &ev), 0);
            assert_true(n_sent < n_acc);
            assert_int_equal(dtmf_event_to_digit(ev.event), accepted[n_sent]);
            n_sent++;
        }
    }
    assert_int_equal(n_sent, n_acc);
    assert_true(n_acc > DTMF_TX_MAX_DIGITS * 4);
}

static void test_tx_rounding_and_limits(void **state)
{
    (void)state;
    struct dtmf_rtp_tx tx;
    struct sent s[2048];
    unsigned ticks;
    dtmf_rtp_tx_init(&tx);
    /* 90 ms rounds up to 100, 70 ms of pause to 80 */
    assert_int_equal(dtmf_rtp_tx_start(&tx, "9", 90, 70), 0);
    assert_int_equal(tx_run(&tx, s, 2048, &ticks), 7);
    assert_int_equal(ticks, 9);
    assert_int_equal(s[6].ev.duration, 800);
    /* the longest press still fits the 16-bit duration */
    assert_int_equal(dtmf_rtp_tx_start(&tx, "0", DTMF_TX_MAX_DURATION_MS, 0), 0);
    size_t n = tx_run(&tx, s, 2048, &ticks);
    assert_int_equal(s[n - 1].ev.duration, DTMF_TX_MAX_DURATION_MS * 8);

    assert_int_equal(dtmf_rtp_tx_start(&tx, "", 0, 0), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, NULL, 0, 0), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "12x", 0, 0), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "1 2", 0, 0), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "1", 20, 0), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "1", DTMF_TX_MAX_DURATION_MS + 1, 0), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "1", 0, 40), -1);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "1", 0, DTMF_TX_MAX_GAP_MS + 1), -1);
    char longest[DTMF_TX_MAX_DIGITS + 2];
    memset(longest, '5', DTMF_TX_MAX_DIGITS + 1);
    longest[DTMF_TX_MAX_DIGITS + 1] = '\0';
    assert_int_equal(dtmf_rtp_tx_start(&tx, longest, 0, 0), -1);
    assert_false(dtmf_rtp_tx_busy(&tx)); /* nothing was queued by any of these */
    longest[DTMF_TX_MAX_DIGITS] = '\0';
    assert_int_equal(dtmf_rtp_tx_start(&tx, longest, 40, 60), 0);
    assert_int_equal(tx_run(&tx, s, 2048, &ticks), 4 * DTMF_TX_MAX_DIGITS);
}

/* The engine's side: the stream timestamp advances 160 per tick; each event's packets carry
 * the timestamp latched at its start. Feeds the sender's packets to a receiver (dropping the
 * packets whose index in their event is in drop) and returns the digits it reports. */
static void round_trip(const char *digits, uint32_t stream_ts, unsigned drop_mask, char *got)
{
    struct dtmf_rtp_tx tx;
    struct dtmf_rtp_rx rx;
    dtmf_rtp_tx_init(&tx);
    dtmf_rtp_rx_init(&rx);
    assert_int_equal(dtmf_rtp_tx_start(&tx, digits, 0, 0), 0);
    uint32_t ev_ts = 0;
    unsigned index = 0;
    size_t n = 0;
    for (uint64_t now = 0; dtmf_rtp_tx_busy(&tx); now += 20, stream_ts += 160) {
        uint8_t p[4];
        bool m, nt;
        if (dtmf_rtp_tx_next(&tx, p, &m, &nt) != 1)
            continue;
        if (nt) {
            ev_ts = stream_ts;
            index = 0;
        }
        if (!(drop_mask & (1u << index++))) {
            int rc = dtmf_rtp_rx_packet(&rx, p, 4, ev_ts, m, now);
            assert_true(rc >= 0);
            if (rc > 0)
                got[n++] = (char)rc;
        }
    }
    got[n] = '\0';
}

static void test_round_trip(void **state)
{
    (void)state;
    char got[80];
    round_trip("123#", 1000, 0, got);
    assert_string_equal(got, "123#");
    round_trip("0123456789*#ABCD", 0xFFFFF000u, 0, got); /* across the timestamp wrap */
    assert_string_equal(got, "0123456789*#ABCD");
    round_trip("5555", 42, 0, got);
    assert_string_equal(got, "5555");
    /* start packets lost */
    round_trip("5151", 42, 1u << 0, got);
    assert_string_equal(got, "5151");
    /* all three ends lost */
    round_trip("9988", 42, 7u << 4, got);
    assert_string_equal(got, "9988");
    /* only the last end survives */
    round_trip("77", 42, 0x3f, got);
    assert_string_equal(got, "77");
}

static void test_round_trip_with_dedup(void **state)
{
    (void)state;
    /* a phone sending every press by RFC 4733 and by INFO 50 ms later */
    struct dtmf_rtp_tx tx;
    struct dtmf_rtp_rx rx;
    struct dtmf_dedup dd;
    dtmf_rtp_tx_init(&tx);
    dtmf_rtp_rx_init(&rx);
    dtmf_dedup_init(&dd);
    assert_int_equal(dtmf_rtp_tx_start(&tx, "2255#", 0, 0), 0);
    uint32_t ts = 7, ev_ts = 0;
    char pending = 0;
    uint64_t pending_at = 0;
    for (uint64_t now = 0; dtmf_rtp_tx_busy(&tx) || pending; now += 20, ts += 160) {
        if (pending && now >= pending_at) {
            char body[32];
            snprintf(body, sizeof body, "Signal=%c\r\nDuration=100\r\n", pending);
            char d;
            assert_int_equal(info("application/dtmf-relay", body, &d), 0);
            assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_INFO, d, now), 0);
            pending = 0;
        }
        uint8_t p[4];
        bool m, nt;
        if (dtmf_rtp_tx_next(&tx, p, &m, &nt) != 1)
            continue;
        if (nt)
            ev_ts = ts;
        int rc = dtmf_rtp_rx_packet(&rx, p, 4, ev_ts, m, now);
        if (rc > 0) {
            assert_int_equal(dtmf_dedup_push(&dd, DTMF_SRC_RTP, (char)rc, now), 1);
            pending = (char)rc;
            pending_at = now + 50;
        }
    }
    char got[16];
    drain(&dd, got);
    assert_string_equal(got, "2255#");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_codes),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_rx_normal),
        cmocka_unit_test(test_rx_reported_at_start),
        cmocka_unit_test(test_rx_lost_start),
        cmocka_unit_test(test_rx_only_end_seen),
        cmocka_unit_test(test_rx_lost_end),
        cmocka_unit_test(test_rx_redundancy),
        cmocka_unit_test(test_rx_long_press),
        cmocka_unit_test(test_rx_long_press_segment_lost_tail),
        cmocka_unit_test(test_rx_two_equal_digits),
        cmocka_unit_test(test_rx_garbage_interleaved),
        cmocka_unit_test(test_rx_late_packets_of_previous_press),
        cmocka_unit_test(test_rx_timestamp_wrap),
        cmocka_unit_test(test_info_valid),
        cmocka_unit_test(test_info_junk),
        cmocka_unit_test(test_inband_digits_ulaw),
        cmocka_unit_test(test_inband_all_digits_alaw),
        cmocka_unit_test(test_inband_short_and_repeated),
        cmocka_unit_test(test_inband_held_digit_once),
        cmocka_unit_test(test_inband_no_false_digits),
        cmocka_unit_test(test_inband_api_errors),
        cmocka_unit_test(test_inband_small_cap_keeps_digits),
        cmocka_unit_test(test_dedup_two_methods),
        cmocka_unit_test(test_dedup_same_source_repeats),
        cmocka_unit_test(test_dedup_pairs_oldest_first),
        cmocka_unit_test(test_dedup_window),
        cmocka_unit_test(test_dedup_errors_and_queue),
        cmocka_unit_test(test_tx_one_digit_default),
        cmocka_unit_test(test_tx_string),
        cmocka_unit_test(test_tx_rounding_and_limits),
        cmocka_unit_test(test_tx_append),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_with_dedup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
