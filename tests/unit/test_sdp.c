/* sdp_negotiate() against offers as real user agents send them (SIPp, Linphone, Asterisk,
 * FreeSWITCH, Cisco, Polycom), the direction and hold rules, and a table of malformed bodies
 * that must give 400 or 488 with a Warning-safe reason; sdp_write() output checked line by line
 * and fed back through sdp_negotiate().
 * Every body is handed over in a heap block of exactly its length with no terminating NUL, so
 * AddressSanitizer catches any read past len. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/socket.h>

#include "sip/sdp.h"

#define ERRLEN 128

/* Runs sdp_negotiate on an exact-size, unterminated copy of the first len bytes of text. */
static int nego_len(const char *text, size_t len, struct sdp_media *m, char err[ERRLEN])
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    memset(err, 'x', ERRLEN); /* the function must terminate it itself */
    int rc = sdp_negotiate(copy, len, m, err, ERRLEN);
    free(copy);
    assert_non_null(memchr(err, '\0', ERRLEN));
    if (rc == SDP_OK) {
        assert_string_equal(err, "");
    } else {
        /* The reason goes into a Warning header's quoted string as it is. */
        assert_true(strlen(err) > 0);
        for (const char *p = err; *p; p++)
            assert_true(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
    }
    return rc;
}

static int nego(const char *text, struct sdp_media *m, char err[ERRLEN])
{
    return nego_len(text, strlen(text), m, err);
}

static void expect_ok(const char *text, struct sdp_media *m)
{
    char err[ERRLEN];
    int rc = nego(text, m, err);
    if (rc != SDP_OK)
        fail_msg("expected 0, got %d (%s)", rc, err);
}

/* ---- offers from real user agents ------------------------------------------------------- */

/* SIPp's built-in uac scenario with its keywords filled in. */
static const char SIPP_UAC[] = "v=0\r\n"
                               "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
                               "s=-\r\n"
                               "c=IN IP4 127.0.0.1\r\n"
                               "t=0 0\r\n"
                               "m=audio 6000 RTP/AVP 0\r\n"
                               "a=rtpmap:0 PCMU/8000\r\n";

static void test_sipp_default_uac(void **state)
{
    struct sdp_media m;
    expect_ok(SIPP_UAC, &m);
    assert_string_equal(m.addr, "127.0.0.1");
    assert_int_equal(m.family, AF_INET);
    assert_int_equal(m.port, 6000);
    assert_int_equal(m.codec_pt, SDP_PT_PCMU);
    assert_int_equal(m.dtmf_pt, -1);
    assert_int_equal(m.ptime, 20);
    assert_int_equal(m.dir, SDP_SENDRECV);
}

static void test_linphone_opus_first(void **state)
{
    /* Opus and speex are preferred by the peer but unsupported here; of the three
     * telephone-event rates only the 8000 Hz one (PT 100) matches G.711. */
    static const char sdp[] = "v=0\r\n"
                              "o=alice 2190 1647 IN IP4 192.168.1.20\r\n"
                              "s=Talk\r\n"
                              "c=IN IP4 192.168.1.20\r\n"
                              "t=0 0\r\n"
                              "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
                              "m=audio 7078 RTP/AVP 96 97 98 8 0 18 101 99 100\r\n"
                              "a=rtpmap:96 opus/48000/2\r\n"
                              "a=fmtp:96 useinbandfec=1\r\n"
                              "a=rtpmap:97 speex/16000\r\n"
                              "a=fmtp:97 vbr=on\r\n"
                              "a=rtpmap:98 speex/8000\r\n"
                              "a=fmtp:98 vbr=on\r\n"
                              "a=fmtp:18 annexb=yes\r\n"
                              "a=rtpmap:101 telephone-event/48000\r\n"
                              "a=rtpmap:99 telephone-event/16000\r\n"
                              "a=rtpmap:100 telephone-event/8000\r\n"
                              "a=rtcp-fb:* trr-int 1000\r\n"
                              "a=rtcp-fb:* ccm tmmbr\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, 100);
    assert_int_equal(m.port, 7078);
}

static void test_asterisk_both_codecs(void **state)
{
    static const char sdp[] = "v=0\r\n"
                              "o=- 1695047281 1695047281 IN IP4 10.0.0.5\r\n"
                              "s=Asterisk\r\n"
                              "c=IN IP4 10.0.0.5\r\n"
                              "t=0 0\r\n"
                              "m=audio 10538 RTP/AVP 0 8 3 101\r\n"
                              "a=rtpmap:0 PCMU/8000\r\n"
                              "a=rtpmap:8 PCMA/8000\r\n"
                              "a=rtpmap:3 GSM/8000\r\n"
                              "a=rtpmap:101 telephone-event/8000\r\n"
                              "a=fmtp:101 0-16\r\n"
                              "a=ptime:20\r\n"
                              "a=maxptime:150\r\n"
                              "a=sendrecv\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_string_equal(m.addr, "10.0.0.5");
    assert_int_equal(m.port, 10538);
    assert_int_equal(m.codec_pt, SDP_PT_PCMU);
    assert_int_equal(m.dtmf_pt, 101);
    assert_int_equal(m.ptime, 20);
    assert_int_equal(m.dir, SDP_SENDRECV);
}

static void test_freeswitch_pcma_first(void **state)
{
    static const char sdp[] = "v=0\r\n"
                              "o=FreeSWITCH 1695030000 1695030001 IN IP4 192.0.2.10\r\n"
                              "s=FreeSWITCH\r\n"
                              "c=IN IP4 192.0.2.10\r\n"
                              "t=0 0\r\n"
                              "m=audio 16384 RTP/AVP 8 0 101 13\r\n"
                              "a=rtpmap:8 PCMA/8000\r\n"
                              "a=rtpmap:0 PCMU/8000\r\n"
                              "a=rtpmap:101 telephone-event/8000\r\n"
                              "a=fmtp:101 0-16\r\n"
                              "a=rtpmap:13 CN/8000\r\n"
                              "a=ptime:30\r\n"
                              "a=rtcp:16385 IN IP4 192.0.2.10\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, 101);
    assert_int_equal(m.ptime, 30);
}

static void test_cisco_media_level_c(void **state)
{
    /* Cisco IOS gateways repeat c= at media level; s= contains a space. */
    static const char sdp[] = "v=0\r\n"
                              "o=CiscoSystemsSIP-GW-UserAgent 5425 2174 IN IP4 10.1.1.1\r\n"
                              "s=SIP Call\r\n"
                              "c=IN IP4 10.1.1.1\r\n"
                              "t=0 0\r\n"
                              "m=audio 18578 RTP/AVP 0 101 19\r\n"
                              "c=IN IP4 10.1.1.2\r\n"
                              "a=rtpmap:0 PCMU/8000\r\n"
                              "a=rtpmap:101 telephone-event/8000\r\n"
                              "a=fmtp:101 0-16\r\n"
                              "a=rtpmap:19 CN/8000\r\n"
                              "a=ptime:20\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_string_equal(m.addr, "10.1.1.2"); /* media level wins */
    assert_int_equal(m.port, 18578);
    assert_int_equal(m.codec_pt, SDP_PT_PCMU);
}

static void test_polycom_bare_lf_dtmf_127(void **state)
{
    /* LF-only line ends are tolerated; telephone-event at 127; G.722 first. */
    static const char sdp[] = "v=0\n"
                              "o=- 1320346393 1320346393 IN IP4 172.16.0.40\n"
                              "s=Polycom IP Phone\n"
                              "c=IN IP4 172.16.0.40\n"
                              "t=0 0\n"
                              "a=sendrecv\n"
                              "m=audio 2222 RTP/AVP 9 102 0 8 127\n"
                              "a=rtpmap:9 G722/8000\n"
                              "a=rtpmap:102 G7221/16000\n"
                              "a=fmtp:102 bitrate=32000\n"
                              "a=rtpmap:0 PCMU/8000\n"
                              "a=rtpmap:8 PCMA/8000\n"
                              "a=rtpmap:127 telephone-event/8000\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMU);
    assert_int_equal(m.dtmf_pt, 127);
}

static void test_static_pts_without_rtpmap(void **state)
{
    /* Static payload types need no rtpmap (RFC 3551). */
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"
                              "c=IN IP4 198.51.100.7\r\nt=0 0\r\n"
                              "m=audio 30000 RTP/AVP 18 8 0\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, -1);
}

static void test_dtmf_pt_96(void **state)
{
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"
                              "c=IN IP4 198.51.100.7\r\nt=0 0\r\n"
                              "m=audio 30000 RTP/AVP 0 96\r\n"
                              "a=rtpmap:96 TELEPHONE-EVENT/8000\r\n" /* names are case-insensitive */
                              "a=fmtp:96 0-15\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMU);
    assert_int_equal(m.dtmf_pt, 96);
}

static void test_tolerated_layout(void **state)
{
    /* Trailing and doubled spaces on m=, a blank line, and UTF-8 in s= are all harmless. */
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=Sesi\xc3\xb3n\r\n"
                              "c=IN IP4 198.51.100.7\r\nt=0 0\r\n\r\n"
                              "m=audio  30000  RTP/AVP 18  8 \r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.port, 30000);
}

static void test_rtpmap_overrides_static_pt(void **state)
{
    /* PT 0 remapped to another codec is not PCMU; dynamic-PT G.711 is not used either, and
     * telephone-event in the static range is ignored. */
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"
                              "c=IN IP4 198.51.100.7\r\nt=0 0\r\n"
                              "m=audio 30000 RTP/AVP 0 97 8 13\r\n"
                              "a=rtpmap:0 G729/8000\r\n"
                              "a=rtpmap:97 PCMU/8000\r\n"
                              "a=rtpmap:8 PCMA/8000\r\n"
                              "a=rtpmap:13 telephone-event/8000\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, -1);
}

static void test_rtpmap_for_unlisted_pt_tolerated(void **state)
{
    /* Some phones list rtpmaps for formats absent from m=: harmless, so accepted. */
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\n"
                              "c=IN IP4 198.51.100.7\r\nt=0 0\r\n"
                              "m=audio 30000 RTP/AVP 8\r\n"
                              "a=rtpmap:8 PCMA/8000\r\n"
                              "a=rtpmap:101 telephone-event/8000\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, -1); /* not offered in m=, so not usable */
}

static void test_video_then_audio(void **state)
{
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\n"
                              "c=IN IP4 203.0.113.9\r\nt=0 0\r\n"
                              "m=video 9078 RTP/AVP 96 97\r\n"
                              "a=rtpmap:96 H264/90000\r\n"
                              "a=rtpmap:97 VP8/90000\r\n"
                              "a=sendonly\r\n"
                              "m=audio 7078 RTP/AVP 8 101\r\n"
                              "a=rtpmap:101 telephone-event/8000\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.port, 7078);
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, 101);
    assert_int_equal(m.dir, SDP_SENDRECV); /* the video's sendonly is not the audio's */
}

static void test_video_with_bad_values_ignored(void **state)
{
    /* Only what we use is validated: an odd video port is not our business. */
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\n"
                              "c=IN IP4 203.0.113.9\r\nt=0 0\r\n"
                              "m=audio 7078 RTP/AVP 0\r\n"
                              "m=video 9079 RTP/AVP 96\r\n"
                              "a=ptime:7\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.port, 7078);
}

static void test_refused_then_second_audio(void **state)
{
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\n"
                              "c=IN IP4 203.0.113.9\r\nt=0 0\r\n"
                              "m=audio 0 RTP/AVP 0\r\n"
                              "m=audio 5004 RTP/AVP 18 0\r\n"
                              "a=rtpmap:18 G729/8000\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.port, 5004);
    assert_int_equal(m.codec_pt, SDP_PT_PCMU);
}

static void test_srtp_then_rtp(void **state)
{
    /* An RTP/SAVP stream is skipped in favour of a later plain RTP/AVP one. */
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\n"
                              "c=IN IP4 203.0.113.9\r\nt=0 0\r\n"
                              "m=audio 5006 RTP/SAVP 0\r\n"
                              "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
                              "m=audio 5004 RTP/AVP 0\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.port, 5004);
}

static void test_ipv6(void **state)
{
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP6 2001:db8::10\r\ns=-\r\n"
                              "c=IN IP6 2001:DB8:0:0::10\r\nt=0 0\r\n"
                              "m=audio 4000 RTP/AVP 8 0 96\r\n"
                              "a=rtpmap:96 telephone-event/8000\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.family, AF_INET6);
    assert_string_equal(m.addr, "2001:db8::10"); /* canonical form */
    assert_int_equal(m.codec_pt, SDP_PT_PCMA);
    assert_int_equal(m.dtmf_pt, 96);
}

static void test_ptime_values(void **state)
{
    static const struct {
        const char *line;
        int ptime;
    } cases[] = {
        { "", 20 }, { "a=ptime:10\r\n", 10 }, { "a=ptime:120\r\n", 120 },
        { "a=PTIME:40\r\n", 40 }, { "a=ptime: 60 \r\n", 60 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char sdp[512];
        snprintf(sdp, sizeof(sdp),
                 "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                 "m=audio 4000 RTP/AVP 0\r\n%s",
                 cases[i].line);
        struct sdp_media m;
        expect_ok(sdp, &m);
        assert_int_equal(m.ptime, cases[i].ptime);
    }
}

static void test_session_level_ptime(void **state)
{
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
                              "t=0 0\r\na=ptime:30\r\n"
                              "m=audio 4000 RTP/AVP 0\r\n"
                              "m=audio 4002 RTP/AVP 0\r\na=ptime:40\r\n";
    struct sdp_media m;
    expect_ok(sdp, &m);
    assert_int_equal(m.ptime, 30);
}

/* ---- direction and hold ------------------------------------------------------------------ */

static enum sdp_direction dir_of(const char *session_attr, const char *conn, const char *media_attr)
{
    char sdp[512];
    snprintf(sdp, sizeof(sdp),
             "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n%s"
             "m=audio 4000 RTP/AVP 0\r\n%s",
             conn, session_attr, media_attr);
    struct sdp_media m;
    expect_ok(sdp, &m);
    return m.dir;
}

static void test_media_direction(void **state)
{
    assert_int_equal(dir_of("", "192.0.2.1", ""), SDP_SENDRECV);
    assert_int_equal(dir_of("", "192.0.2.1", "a=sendrecv\r\n"), SDP_SENDRECV);
    assert_int_equal(dir_of("", "192.0.2.1", "a=sendonly\r\n"), SDP_SENDONLY);
    assert_int_equal(dir_of("", "192.0.2.1", "a=recvonly\r\n"), SDP_RECVONLY);
    assert_int_equal(dir_of("", "192.0.2.1", "a=inactive\r\n"), SDP_INACTIVE);
}

static void test_session_direction_and_media_wins(void **state)
{
    assert_int_equal(dir_of("a=sendonly\r\n", "192.0.2.1", ""), SDP_SENDONLY);
    assert_int_equal(dir_of("a=inactive\r\n", "192.0.2.1", ""), SDP_INACTIVE);
    assert_int_equal(dir_of("a=sendonly\r\n", "192.0.2.1", "a=sendrecv\r\n"), SDP_SENDRECV);
    assert_int_equal(dir_of("a=inactive\r\n", "192.0.2.1", "a=recvonly\r\n"), SDP_RECVONLY);
}

static void test_hold_by_zero_address(void **state)
{
    /* RFC 2543 hold: the peer will not receive, so it can at most send. */
    assert_int_equal(dir_of("", "0.0.0.0", ""), SDP_SENDONLY);
    assert_int_equal(dir_of("", "0.0.0.0", "a=sendonly\r\n"), SDP_SENDONLY);
    assert_int_equal(dir_of("", "0.0.0.0", "a=recvonly\r\n"), SDP_INACTIVE);
    assert_int_equal(dir_of("a=inactive\r\n", "0.0.0.0", ""), SDP_INACTIVE);

    static const char v6[] = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::\r\nt=0 0\r\n"
                             "m=audio 4000 RTP/AVP 0\r\n";
    struct sdp_media m;
    expect_ok(v6, &m);
    assert_int_equal(m.dir, SDP_SENDONLY);
    assert_string_equal(m.addr, "::");
}

static void test_answer_direction(void **state)
{
    assert_int_equal(sdp_answer_direction(SDP_SENDRECV), SDP_SENDRECV);
    assert_int_equal(sdp_answer_direction(SDP_SENDONLY), SDP_RECVONLY);
    assert_int_equal(sdp_answer_direction(SDP_RECVONLY), SDP_SENDONLY);
    assert_int_equal(sdp_answer_direction(SDP_INACTIVE), SDP_INACTIVE);
}

/* ---- refused offers ---------------------------------------------------------------------- */

struct bad_case {
    const char *name;
    const char *sdp;
    int code;
    const char *reason; /* a substring the reason must contain */
};

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
#define HEAD_NO_C "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"

static const struct bad_case bad_cases[] = {
    /* valid, but nothing we can use: 488 */
    { "g729 only", HEAD "m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n", 488, "codec" },
    { "dynamic pcmu only", HEAD "m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 PCMU/8000\r\n", 488,
      "codec" },
    { "pcmu 16k", HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/16000\r\n", 488, "codec" },
    { "pcmu stereo", HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/2\r\n", 488, "codec" },
    { "no m= line", HEAD, 488, "no audio" },
    { "video only", HEAD "m=video 4000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n", 488, "no audio" },
    { "only audio refused", HEAD "m=audio 0 RTP/AVP 0\r\n", 488, "port 0" },
    { "srtp only", HEAD "m=audio 4000 RTP/SAVP 0\r\n", 488, "RTP/AVP" },
    { "webrtc profile", HEAD "m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\n", 488, "RTP/AVP" },
    { "port range", HEAD "m=audio 4000/2 RTP/AVP 0\r\n", 488, "range" },
    { "multicast", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 224.2.1.1/127\r\n", 488,
      "multicast" },
    { "multicast no ttl", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 239.1.1.1\r\n", 488,
      "multicast" },
    { "v6 multicast", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 ff0e::1\r\n", 488,
      "multicast" },
    { "broadcast", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 255.255.255.255\r\n", 488,
      "broadcast" },

    /* invalid values: 400 */
    { "port 65536", HEAD "m=audio 65536 RTP/AVP 0\r\n", 400, "port" },
    { "20-digit port", HEAD "m=audio 18446744073709551616 RTP/AVP 0\r\n", 400, "port" },
    { "negative port", HEAD "m=audio -4000 RTP/AVP 0\r\n", 400, "" },
    { "port not a number", HEAD "m=audio abc RTP/AVP 0\r\n", 400, "" },
    { "999.1.1.1", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 999.1.1.1\r\n", 400, "IPv4" },
    { "short v4", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.1.1\r\n", 400, "IPv4" },
    { "leading zero v4", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 010.1.1.1\r\n", 400,
      "IPv4" },
    { "hostname", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 pbx.example.com\r\n", 400, "IPv4" },
    { "session hostname used", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"
                               "c=IN IP4 media.example.com\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      400, "IPv4" },
    { "v6 address as IP4", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 2001:db8::1\r\n", 400,
      "IPv4" },
    { "v4 address as IP6", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 192.0.2.1\r\n", 400,
      "IPv6" },
    { "scoped v6", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 fe80::1%eth0\r\n", 400, "IPv6" },
    { "unknown addrtype", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=IN IPX 1.2.3.4\r\n", 400, "" },
    { "unknown nettype", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\nc=ATM NSAP 47.0005\r\n", 400, "" },
    { "no c= anywhere", HEAD_NO_C "m=audio 4000 RTP/AVP 0\r\n", 400, "c=" },
    { "ptime 7", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:7\r\n", 488, "ptime" },
    { "ptime 1000", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:1000\r\n", 488, "ptime" },
    { "ptime 25", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:25\r\n", 488, "ptime" },
    { "ptime 0", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:0\r\n", 488, "ptime" },
    { "ptime huge", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:99999999999999999999\r\n", 488,
      "ptime" },
    { "ptime fraction", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:20.5\r\n", 400, "ptime" },
    { "ptime negative", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:-20\r\n", 400, "ptime" },
    { "ptime empty", HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime\r\n", 400, "ptime" },
    { "pt 128", HEAD "m=audio 4000 RTP/AVP 0 128\r\n", 488, "payload type 128" },
    { "only pts over 127", HEAD "m=audio 4000 RTP/AVP 200 300\r\n", 488, "payload type 200" },
    { "pt over 127 in srtp video", HEAD "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/SAVP 555\r\n",
      488, "payload type 555" },
    { "pt huge", HEAD "m=audio 4000 RTP/AVP 99999999999999999999999\r\n", 488,
      "payload type >9999" },
    { "nine m= lines", HEAD "m=audio 4000 RTP/AVP 0\r\n" "m=video 0 RTP/AVP 31\r\n"
      "m=video 0 RTP/AVP 31\r\n" "m=video 0 RTP/AVP 31\r\n" "m=video 0 RTP/AVP 31\r\n"
      "m=video 0 RTP/AVP 31\r\n" "m=video 0 RTP/AVP 31\r\n" "m=video 0 RTP/AVP 31\r\n"
      "m=video 0 RTP/AVP 31\r\n", 488, "more than 8" },
    { "m= token too long", HEAD "m=audio 4000 RTP/AVP 0\r\nm=application 9 UDP/DTLS/SCTP/EXTRA/LONG x\r\n",
      488, "too long" },
    { "pt not a number", HEAD "m=audio 4000 RTP/AVP 0 PCMU\r\n", 400, "" },
    { "empty", "", 400, "empty" },
    { "just CRLF", "\r\n", 400, "" },
    { "no version", "o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                    "m=audio 4000 RTP/AVP 0\r\n",
      400, "" },
    { "version 1", "v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                   "m=audio 4000 RTP/AVP 0\r\n",
      400, "" },
    { "no origin", "v=0\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", 400,
      "" },
    { "no s=", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
               "m=audio 4000 RTP/AVP 0\r\n",
      400, "s=" },
    { "no t=", "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
               "m=audio 4000 RTP/AVP 0\r\n",
      400, "t=" },
    { "text", "hello world, this is not SDP\r\n", 400, "" },
    { "http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "" },
    { "line without =", HEAD "m=audio 4000 RTP/AVP 0\r\nrtpmap 0 PCMU\r\n", 400, "'='" },
    { "uppercase type", HEAD "M=audio 4000 RTP/AVP 0\r\n", 400, "type letter" },
    { "leading space", HEAD " m=audio 4000 RTP/AVP 0\r\n", 400, "type letter" },
    { "one-letter line", HEAD "m=audio 4000 RTP/AVP 0\r\na\r\n", 400, "short" },
    { "truncated mid-line", HEAD "m=audio 4000 RTP/AVP 0 8 10", 400, "truncated" },
    { "truncated in head", "v=0\r\no=- 1 1 IN IP4 192.0", 400, "truncated" },
    /* Each of these makes Debian's sdp_parse() allocate until memory runs out. */
    { "m= fmt paren", HEAD "m=audio 4000 RTP/AVP 0\r\nm=video 9 X (\r\n", 400, "m= line" },
    { "m= fmt utf-8", HEAD "m=audio 4000 RTP/AVP 0\r\nm=text 9 UDP \xc3\xa9\r\n", 400,
      "m= line" },
    { "m= fmt slash", HEAD "m=audio 4000 RTP/AVP 0\r\nm=image 9 udptl /t38\r\n", 400, "m= line" },
    { "m= tab", HEAD "m=audio\t4000 RTP/AVP 0\r\n", 400, "m= line" },
    /* Sofia reads "9 /2/RTP/AVP" as 2 ports and proto "RTP/AVP": our answer, which echoes a
     * refused stream's proto, would not read back as that proto (found by fuzz_sdp). */
    { "m= proto leading slash", HEAD "m=audio 4000 RTP/AVP 0\r\nm=audio 9 /00/20.21 1\r\n", 400,
      "m= line" },
    { "m= proto empty part", HEAD "m=audio 4000 RTP//AVP 0\r\n", 400, "m= line" },
    { "m= proto trailing slash", HEAD "m=audio 4000 RTP/AVP/ 0\r\n", 400, "m= line" },
    { "m= no formats", HEAD "m=audio 4000 RTP/AVP\r\n", 400, "m= line" },
    { "m= no proto", HEAD "m=audio 4000\r\n", 400, "m= line" },
    { "m= empty", HEAD "m=\r\n", 400, "m= line" },
    { "escape byte", HEAD "m=audio 4000 RTP/AVP 0\r\na=x:\x1b[2J\r\n", 400, "control" },
    { "DEL byte", HEAD "m=audio 4000 RTP/AVP 0\r\na=x:\x7f\r\n", 400, "control" },
    { "quotes in reason", "v=0\r\nq=\"\\\"\r\n", 400, "" },
};

static void test_bad_offers(void **state)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct sdp_media m;
        memset(&m, 0x5a, sizeof(m));
        struct sdp_media before = m;
        char err[ERRLEN];
        int rc = nego(c->sdp, &m, err);
        if (rc != c->code || strstr(err, c->reason) == NULL)
            fail_msg("case '%s': got %d (%s), want %d (...%s...)", c->name, rc, err, c->code,
                     c->reason);
        /* A refused offer leaves *out alone. */
        assert_memory_equal(&m, &before, sizeof(m));
    }
}

static void test_nul_byte_inside(void **state)
{
    /* Everything after the NUL would be invisible to a C-string parser. */
    static const char sdp[] = HEAD "m=audio 4000 RTP/AVP 0\r\na=x:\0y\r\n";
    struct sdp_media m;
    char err[ERRLEN];
    assert_int_equal(nego_len(sdp, sizeof(sdp) - 1, &m, err), SDP_BAD_REQUEST);
    assert_non_null(strstr(err, "NUL"));
}

static void test_binary_garbage(void **state)
{
    /* A fixed pseudo-random sequence: deterministic, and none of it may crash or pass. */
    unsigned char buf[600];
    uint32_t x = 0x12345678u;
    for (int round = 0; round < 200; round++) {
        size_t len = 1 + (size_t)round * 3;
        for (size_t i = 0; i < len; i++) {
            x = x * 1664525u + 1013904223u;
            buf[i] = (unsigned char)(x >> 24);
        }
        struct sdp_media m;
        char err[ERRLEN];
        assert_int_equal(nego_len((const char *)buf, len, &m, err), SDP_BAD_REQUEST);
    }
}

static void test_every_truncation_is_safe(void **state)
{
    /* Every prefix of a valid offer: no crash, no over-read, and never a wrong port. */
    static const char sdp[] = HEAD "m=audio 49170 RTP/AVP 0 101\r\n"
                                   "a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n";
    for (size_t len = 0; len < sizeof(sdp) - 1; len++) {
        struct sdp_media m;
        char err[ERRLEN];
        int rc = nego_len(sdp, len, &m, err);
        if (rc == SDP_OK)
            assert_int_equal(m.port, 49170);
        else
            assert_true(rc == SDP_BAD_REQUEST || rc == SDP_NOT_ACCEPTABLE);
    }
}

static void test_oversized(void **state)
{
    size_t len = 100000;
    char *big = malloc(len);
    assert_non_null(big);
    memcpy(big, SIPP_UAC, sizeof(SIPP_UAC) - 1);
    for (size_t i = sizeof(SIPP_UAC) - 1; i + 14 <= len; i += 14)
        memcpy(big + i, "a=x:012345678\n", 14);
    big[len - 1] = '\n';
    struct sdp_media m;
    char err[ERRLEN];
    assert_int_equal(nego_len(big, len, &m, err), SDP_BAD_REQUEST);
    assert_non_null(strstr(err, "large"));
    free(big);
}

static void test_small_err_buffer_and_null_args(void **state)
{
    struct sdp_media m;
    char err[4];
    assert_int_equal(sdp_negotiate("", 0, &m, err, sizeof(err)), SDP_BAD_REQUEST);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(sdp_negotiate(SIPP_UAC, strlen(SIPP_UAC), &m, NULL, 0), SDP_OK);
    assert_int_equal(sdp_negotiate(NULL, 10, &m, NULL, 0), SDP_BAD_REQUEST);
    assert_int_equal(sdp_negotiate(SIPP_UAC, strlen(SIPP_UAC), NULL, NULL, 0), SDP_BAD_REQUEST);
}

/* ---- sdp_write ---------------------------------------------------------------------------- */

static void test_write_exact_text(void **state)
{
    struct sdp_media m = { .codec_pt = SDP_PT_PCMA, .dtmf_pt = 101 };
    char buf[512];
    int n = sdp_write(buf, sizeof(buf), "192.0.2.50", 20000, 1234567890123ull, 2, &m,
                      SDP_RECVONLY);
    static const char want[] = "v=0\r\n"
                               "o=vcsd 1234567890123 2 IN IP4 192.0.2.50\r\n"
                               "s=vcsd\r\n"
                               "c=IN IP4 192.0.2.50\r\n"
                               "t=0 0\r\n"
                               "m=audio 20000 RTP/AVP 8 101\r\n"
                               "a=rtpmap:8 PCMA/8000\r\n"
                               "a=rtpmap:101 telephone-event/8000\r\n"
                               "a=fmtp:101 0-16\r\n"
                               "a=ptime:20\r\n"
                               "a=recvonly\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);

    /* Exactly enough room (text plus NUL) works; one byte less does not. */
    assert_int_equal(sdp_write(buf, strlen(want) + 1, "192.0.2.50", 20000, 1234567890123ull, 2,
                               &m, SDP_RECVONLY),
                     n);
    assert_int_equal(sdp_write(buf, strlen(want), "192.0.2.50", 20000, 1234567890123ull, 2, &m,
                               SDP_RECVONLY),
                     -1);
    assert_string_equal(buf, "");
}

static void test_write_no_dtmf_ipv6(void **state)
{
    struct sdp_media m = { .codec_pt = SDP_PT_PCMU, .dtmf_pt = -1 };
    char buf[512];
    int n = sdp_write(buf, sizeof(buf), "2001:db8::5", 30002, 7, 8, &m, SDP_SENDRECV);
    static const char want[] = "v=0\r\n"
                               "o=vcsd 7 8 IN IP6 2001:db8::5\r\n"
                               "s=vcsd\r\n"
                               "c=IN IP6 2001:db8::5\r\n"
                               "t=0 0\r\n"
                               "m=audio 30002 RTP/AVP 0\r\n"
                               "a=rtpmap:0 PCMU/8000\r\n"
                               "a=ptime:20\r\n"
                               "a=sendrecv\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

/* Our offer to a gateway lists its codecs in the configured order, then telephone-event. */
static void test_write_offer_codec_list(void **state)
{
    struct sdp_media m = { .codec_pt = SDP_PT_PCMA, .dtmf_pt = 101, .n_offer = 2,
                           .offer_pts = { SDP_PT_PCMA, SDP_PT_PCMU } };
    char buf[512];
    int n = sdp_write(buf, sizeof(buf), "192.0.2.50", 20000, 5, 1, &m, SDP_SENDRECV);
    static const char want[] = "v=0\r\n"
                               "o=vcsd 5 1 IN IP4 192.0.2.50\r\n"
                               "s=vcsd\r\n"
                               "c=IN IP4 192.0.2.50\r\n"
                               "t=0 0\r\n"
                               "m=audio 20000 RTP/AVP 8 0 101\r\n"
                               "a=rtpmap:8 PCMA/8000\r\n"
                               "a=rtpmap:0 PCMU/8000\r\n"
                               "a=rtpmap:101 telephone-event/8000\r\n"
                               "a=fmtp:101 0-16\r\n"
                               "a=ptime:20\r\n"
                               "a=sendrecv\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);

    /* A codec twice, one we cannot do, or more than fit: refused. */
    m.offer_pts[1] = SDP_PT_PCMA;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    m.offer_pts[1] = 18;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    m.offer_pts[1] = SDP_PT_PCMU;
    m.n_offer = SDP_MAX_CODECS + 1;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
}

static void test_write_rejects_bad_input(void **state)
{
    struct sdp_media m = { .codec_pt = SDP_PT_PCMU, .dtmf_pt = -1 };
    char buf[512];
    assert_int_equal(sdp_write(buf, sizeof(buf), "pbx.example.com", 4000, 1, 1, &m, SDP_SENDRECV),
                     -1);
    assert_int_equal(sdp_write(buf, sizeof(buf), "999.1.1.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    assert_int_equal(sdp_write(buf, sizeof(buf), NULL, 4000, 1, 1, &m, SDP_SENDRECV), -1);
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, NULL, SDP_SENDRECV), -1);
    assert_int_equal(sdp_write(buf, 0, "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    assert_int_equal(sdp_write(NULL, 100, "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m,
                               (enum sdp_direction)7),
                     -1);
    m.codec_pt = 18;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    m.codec_pt = SDP_PT_PCMU;
    m.dtmf_pt = 8;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    m.dtmf_pt = 128;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
}

static void test_round_trip(void **state)
{
    static const char *const ips[] = { "192.0.2.50", "2001:db8::5", "127.0.0.1" };
    static const int codecs[] = { SDP_PT_PCMU, SDP_PT_PCMA };
    static const int dtmfs[] = { -1, 96, 101, 127 };
    static const enum sdp_direction dirs[] = { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY,
                                               SDP_INACTIVE };
    for (size_t i = 0; i < 3; i++)
        for (size_t c = 0; c < 2; c++)
            for (size_t d = 0; d < 4; d++)
                for (size_t r = 0; r < 4; r++) {
                    struct sdp_media in = { .codec_pt = codecs[c], .dtmf_pt = dtmfs[d] };
                    char buf[512];
                    int n = sdp_write(buf, sizeof(buf), ips[i], 40000, 99, 100, &in, dirs[r]);
                    assert_true(n > 0);
                    struct sdp_media out;
                    char err[ERRLEN];
                    assert_int_equal(nego_len(buf, (size_t)n, &out, err), SDP_OK);
                    assert_string_equal(out.addr, ips[i]);
                    assert_int_equal(out.family, i == 1 ? AF_INET6 : AF_INET);
                    assert_int_equal(out.port, 40000);
                    assert_int_equal(out.codec_pt, codecs[c]);
                    assert_int_equal(out.dtmf_pt, dtmfs[d]);
                    assert_int_equal(out.ptime, 20);
                    assert_int_equal(out.dir, dirs[r]);
                }
}

static void test_answer_to_offer(void **state)
{
    /* The usual flow: negotiate an offer, answer with its choices and the mirrored direction. */
    static const char offer[] = HEAD "m=audio 4000 RTP/AVP 8 0 101\r\n"
                                     "a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";
    struct sdp_media m;
    expect_ok(offer, &m);
    char buf[512];
    int n = sdp_write(buf, sizeof(buf), "192.0.2.99", 10000, 5, 1, &m,
                      sdp_answer_direction(m.dir));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "m=audio 10000 RTP/AVP 8 101\r\n"));
    assert_non_null(strstr(buf, "a=recvonly\r\n"));
}

/* ---- answers with one m= line per offered m= line (RFC 3264 section 6) -------------------- */

/* Negotiates offer and writes our answer to it on 192.0.2.99:10000. */
static void answer(const char *offer, struct sdp_media *m, char *buf, size_t cap)
{
    expect_ok(offer, m);
    int n = sdp_write(buf, cap, "192.0.2.99", 10000, 5, 1, m, sdp_answer_direction(m->dir));
    if (n <= 0)
        fail_msg("sdp_write refused the answer to: %s", offer);
}

/* The m= lines of an SDP text, in order, joined with '|'. */
static void m_lines(const char *sdp, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *p = strstr(sdp, "m="); p != NULL; p = strstr(p + 1, "\nm=")) {
        if (*p == '\n')
            p++;
        size_t n = strcspn(p, "\r\n");
        if (out[0] != '\0')
            strncat(out, "|", cap - strlen(out) - 1);
        strncat(out, p, n < cap - strlen(out) - 1 ? n : cap - strlen(out) - 1);
    }
}

/* Answers offer; checks its n m= lines, ours at audio_index, and the m= lines (joined by '|'). */
static void expect_answer(const char *offer, int n, int audio_index, const char *want,
                          struct sdp_media *m, char *buf, size_t cap)
{
    char lines[512];
    answer(offer, m, buf, cap);
    assert_int_equal(m->n_streams, n);
    assert_int_equal(m->audio_index, audio_index);
    m_lines(buf, lines, sizeof(lines));
    assert_string_equal(lines, want);
}

static void test_answer_audio_video(void **state)
{
    /* Linphone and most softphones: audio then video. */
    static const char offer[] = HEAD "m=audio 4000 RTP/AVP 0 8 101\r\n"
                                     "a=rtpmap:101 telephone-event/8000\r\n"
                                     "m=video 4002 RTP/AVP 96 97\r\n"
                                     "a=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\n";
    struct sdp_media m;
    char buf[1024];
    expect_answer(offer, 2, 0, "m=audio 10000 RTP/AVP 0 101|m=video 0 RTP/AVP 96", &m, buf,
                  sizeof(buf));
    /* The audio attributes stay with the audio m= line (they precede the video one). */
    assert_true(strstr(buf, "a=sendrecv\r\n") < strstr(buf, "m=video"));
}

static void test_answer_video_first(void **state)
{
    static const char offer[] = HEAD "m=video 4002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                                     "m=audio 4000 RTP/AVP 8\r\n"
                                     "m=application 5000 TCP/MSRP *\r\n";
    struct sdp_media m;
    char buf[1024];
    expect_answer(offer, 3, 1,
                  "m=video 0 RTP/AVP 96|m=audio 10000 RTP/AVP 8|m=application 0 TCP/MSRP *", &m,
                  buf, sizeof(buf));
}

static void test_answer_refuses_other_audio(void **state)
{
    /* A refused first audio stream and a second audio stream after the one we use. */
    static const char offer[] = HEAD "m=audio 0 RTP/AVP 0\r\n"
                                     "m=audio 4000 RTP/AVP 18 0\r\n"
                                     "m=audio 4004 RTP/AVP 8\r\n"
                                     "m=image 6000 udptl t38\r\n";
    struct sdp_media m;
    char buf[1024];
    expect_answer(offer, 4, 1,
                  "m=audio 0 RTP/AVP 0|m=audio 10000 RTP/AVP 0|"
                  "m=audio 0 RTP/AVP 8|m=image 0 udptl t38",
                  &m, buf, sizeof(buf));
    assert_int_equal(m.port, 4000);
    /* Our answer reads back with the same layout and the same choice. */
    struct sdp_media again;
    expect_ok(buf, &again);
    assert_int_equal(again.n_streams, 4);
    assert_int_equal(again.audio_index, 1);
    assert_int_equal(again.port, 10000);
}

static void test_answer_eight_streams(void **state)
{
    static const char offer[] = HEAD "m=audio 4000 RTP/AVP 0\r\n"
                                     "m=video 0 RTP/AVP 31\r\nm=video 0 RTP/AVP 31\r\n"
                                     "m=video 0 RTP/AVP 31\r\nm=video 0 RTP/AVP 31\r\n"
                                     "m=video 0 RTP/AVP 31\r\nm=video 0 RTP/AVP 31\r\n"
                                     "m=text 4008 RTP/AVP 98\r\n";
    struct sdp_media m;
    char buf[1024];
    answer(offer, &m, buf, sizeof(buf));
    assert_int_equal(m.n_streams, SDP_MAX_STREAMS);
    assert_non_null(strstr(buf, "m=text 0 RTP/AVP 98\r\n"));
}

static void test_write_rejects_bad_streams(void **state)
{
    struct sdp_media m = { .codec_pt = SDP_PT_PCMU, .dtmf_pt = -1, .n_streams = 2,
                           .audio_index = 0 };
    snprintf(m.streams[1].media, sizeof(m.streams[1].media), "video");
    snprintf(m.streams[1].proto, sizeof(m.streams[1].proto), "RTP/AVP");
    snprintf(m.streams[1].fmt, sizeof(m.streams[1].fmt), "31");
    char buf[512];
    assert_true(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV) > 0);
    m.audio_index = 2;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    m.audio_index = 0;
    m.n_streams = SDP_MAX_STREAMS + 1;
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    m.n_streams = 2;
    snprintf(m.streams[1].fmt, sizeof(m.streams[1].fmt), "3 1\r\na=x");
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
    memset(m.streams[1].media, 'v', sizeof(m.streams[1].media)); /* unterminated */
    snprintf(m.streams[1].fmt, sizeof(m.streams[1].fmt), "31");
    assert_int_equal(sdp_write(buf, sizeof(buf), "192.0.2.1", 4000, 1, 1, &m, SDP_SENDRECV), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sipp_default_uac),
        cmocka_unit_test(test_linphone_opus_first),
        cmocka_unit_test(test_asterisk_both_codecs),
        cmocka_unit_test(test_freeswitch_pcma_first),
        cmocka_unit_test(test_cisco_media_level_c),
        cmocka_unit_test(test_polycom_bare_lf_dtmf_127),
        cmocka_unit_test(test_static_pts_without_rtpmap),
        cmocka_unit_test(test_dtmf_pt_96),
        cmocka_unit_test(test_tolerated_layout),
        cmocka_unit_test(test_rtpmap_overrides_static_pt),
        cmocka_unit_test(test_rtpmap_for_unlisted_pt_tolerated),
        cmocka_unit_test(test_video_then_audio),
        cmocka_unit_test(test_video_with_bad_values_ignored),
        cmocka_unit_test(test_refused_then_second_audio),
        cmocka_unit_test(test_srtp_then_rtp),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ptime_values),
        cmocka_unit_test(test_session_level_ptime),
        cmocka_unit_test(test_media_direction),
        cmocka_unit_test(test_session_direction_and_media_wins),
        cmocka_unit_test(test_hold_by_zero_address),
        cmocka_unit_test(test_answer_direction),
        cmocka_unit_test(test_bad_offers),
        cmocka_unit_test(test_nul_byte_inside),
        cmocka_unit_test(test_binary_garbage),
        cmocka_unit_test(test_every_truncation_is_safe),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_small_err_buffer_and_null_args),
        cmocka_unit_test(test_write_exact_text),
        cmocka_unit_test(test_write_no_dtmf_ipv6),
        cmocka_unit_test(test_write_offer_codec_list),
        cmocka_unit_test(test_write_rejects_bad_input),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_answer_to_offer),
        cmocka_unit_test(test_answer_audio_video),
        cmocka_unit_test(test_answer_video_first),
        cmocka_unit_test(test_answer_refuses_other_audio),
        cmocka_unit_test(test_answer_eight_streams),
        cmocka_unit_test(test_write_rejects_bad_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
