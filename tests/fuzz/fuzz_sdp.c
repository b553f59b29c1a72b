/* libFuzzer harness for src/sip/sdp.c: any byte string through sdp_negotiate(); whatever it
 * accepts must satisfy every promise of sdp.h, and our answer to it (sdp_write(), one m= line
 * per offered one) must read back through sdp_negotiate() with the same choices. A broken
 * promise aborts, which libFuzzer reports. Built and run by tests/fuzz/run.sh sdp.fuzz. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "sip/sdp.h"
#include "fuzz_check.h"

static void check_reason(const char *err, size_t errlen, int rc)
{
    CHECK(memchr(err, '\0', errlen) != NULL);
    CHECK((rc == SDP_OK) == (err[0] == '\0'));
    for (const char *p = err; *p; p++)
        CHECK(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
}

static void check_media(const struct sdp_media *m)
{
    unsigned char bin[sizeof(struct in6_addr)];
    CHECK(memchr(m->addr, '\0', sizeof(m->addr)) != NULL);
    CHECK(m->family == AF_INET || m->family == AF_INET6);
    CHECK(inet_pton(m->family, m->addr, bin) == 1);
    CHECK(m->port >= 1); /* odd ports are legal (sdp.h) */
    CHECK(m->codec_pt == SDP_PT_PCMU || m->codec_pt == SDP_PT_PCMA);
    CHECK(m->dtmf_pt == -1 || (m->dtmf_pt >= 96 && m->dtmf_pt <= 127));
    CHECK(m->ptime >= 10 && m->ptime <= 120 && m->ptime % 10 == 0);
    CHECK(m->dir >= SDP_SENDRECV && m->dir <= SDP_INACTIVE);
    CHECK(m->n_streams >= 1 && m->n_streams <= SDP_MAX_STREAMS);
    CHECK(m->audio_index >= 0 && m->audio_index < m->n_streams);
    CHECK(strcasecmp(m->streams[m->audio_index].media, "audio") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so AddressSanitizer flags a read even one byte past size. */
    char *body = malloc(size ? size : 1);
    if (body == NULL)
        return 0;
    memcpy(body, data, size);

    struct sdp_media m;
    char err[96];
    int rc = sdp_negotiate(body, size, &m, err, sizeof(err));
    free(body);
    CHECK(rc == SDP_OK || rc == SDP_BAD_REQUEST || rc == SDP_NOT_ACCEPTABLE);
    check_reason(err, sizeof(err), rc);
    if (rc != SDP_OK)
        return 0;
    check_media(&m);

    /* Our own SDP built from the peer's choices must read back with the same choices. The
     * direction is written as received, so the 0.0.0.0 hold rule (already applied) is a no-op. */
    char buf[2048];
    int n = sdp_write(buf, sizeof(buf), m.addr, m.port, UINT64_MAX, 1, &m, m.dir);
    CHECK(n > 0 && (size_t)n < sizeof(buf));
    struct sdp_media again;
    rc = sdp_negotiate(buf, (size_t)n, &again, err, sizeof(err));
    CHECK(rc == SDP_OK);
    /* ptime is not carried over: we always write 20. */
    CHECK(strcmp(m.addr, again.addr) == 0 && m.family == again.family);
    CHECK(m.port == again.port && m.codec_pt == again.codec_pt && m.dtmf_pt == again.dtmf_pt);
    CHECK(again.ptime == 20 && m.dir == again.dir);
    CHECK(again.n_streams == m.n_streams && again.audio_index == m.audio_index);
    for (int i = 0; i < m.n_streams; i++)
        CHECK(strcmp(m.streams[i].media, again.streams[i].media) == 0 &&
              strcmp(m.streams[i].proto, again.streams[i].proto) == 0);
    return 0;
}
