/* libFuzzer harness for the DTMF parsers of src/media/dtmf.c that take bytes from the network:
 * RFC 4733 telephone-event payloads through one dtmf_rtp_rx receiver (as a call feeds it, with
 * timestamps, marker bits and arrival times from the input, so that the press/segment/stale
 * logic is driven too) and SIP INFO bodies through dtmf_info_parse(). The RTP header parser is
 * not here: it lives inside rtp_session_recv() (static, on a socket). Built and run by
 * tests/fuzz/run.sh dtmf.fuzz.
 *
 * Input: records of [1 byte: flags/length][4 bytes: RTP timestamp][2 bytes: ms since the last
 * packet][payload]; flag 0x80 is the marker bit, 0x40 makes the record an INFO body instead
 * (content type chosen by the low bits of the first payload byte), the low 5 bits the length. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/dtmf.h"
#include "fuzz_check.h"

static bool is_digit_char(int c)
{
    return c != 0 && strchr("0123456789*#ABCD", c) != NULL;
}

static void info(const uint8_t *p, size_t len)
{
    static const char *const types[] = { "application/dtmf-relay", "application/dtmf",
                                         "Application/DTMF-Relay; charset=x", "text/plain" };
    const char *type = types[len ? p[0] & 3 : 0];
    /* An exact-size copy: the body need not be NUL-terminated, and ASan checks that. */
    char *body = malloc(len ? len : 1);
    CHECK(body != NULL);
    if (len)
        memcpy(body, p, len);
    char digit = 0;
    int rc = dtmf_info_parse(type, body, len, &digit);
    CHECK(rc == 0 || rc == -1);
    if (rc == 0)
        CHECK(is_digit_char(digit));
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dtmf_rtp_rx rx;
    dtmf_rtp_rx_init(&rx);
    uint64_t now_ms = 1000;
    size_t i = 0;
    while (i + 7 <= size) {
        uint8_t flags = data[i];
        uint32_t ts = (uint32_t)data[i + 1] << 24 | (uint32_t)data[i + 2] << 16 |
                      (uint32_t)data[i + 3] << 8 | data[i + 4];
        now_ms += (uint64_t)(data[i + 5] << 8 | data[i + 6]);
        i += 7;
        size_t len = flags & 0x1f;
        if (len > size - i)
            len = size - i;
        const uint8_t *payload = data + i;
        i += len;
        if (flags & 0x40) {
            info(payload, len);
            continue;
        }
        /* An exact-size copy, so that a read past len is caught. */
        uint8_t *copy = malloc(len ? len : 1);
        CHECK(copy != NULL);
        if (len)
            memcpy(copy, payload, len);
        struct dtmf_rtp_event ev;
        int prc = dtmf_rtp_parse(copy, len, &ev);
        CHECK(prc == (len < 4 ? -1 : 0));
        struct dtmf_rtp_rx before = rx;
        int rc = dtmf_rtp_rx_packet(&rx, copy, len, ts, (flags & 0x80) != 0, now_ms);
        free(copy);
        CHECK(rc == -1 || rc == 0 || is_digit_char(rc));
        if (rc == -1) /* malformed: the state is unchanged (dtmf.h) */
            CHECK(before.have_event == rx.have_event && before.ended == rx.ended &&
                  before.event == rx.event && before.duration == rx.duration &&
                  before.ts == rx.ts && before.last_ms == rx.last_ms);
        if (rc > 0)
            CHECK(prc == 0 && dtmf_event_to_digit(ev.event) == rc);
    }
    return 0;
}
