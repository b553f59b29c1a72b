/* libFuzzer harness for a SIP message through vcsd's guards: the bytes are parsed by Sofia's
 * message parser with vcsd's message class (sip_parser.c, as nta does for every datagram or
 * TCP message), then a request goes through the checks sip_stack.c makes before a call is
 * created: sip_guard_request() and sip_guard_media() (Content-Type, multipart, SDP). Their
 * promises (sip_guard.h) are checked; a broken one aborts. Built and run by
 * tests/fuzz/run.sh sip.fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>

#include "sip/sip_guard.h"
#include "sip/sip_parser.h"
#include "fuzz_check.h"

static msg_mclass_t *parser_class(void)
{
    /* One class for the whole run, as vcsd has one per stack; never freed (the process ends). */
    static msg_mclass_t *mc;
    if (mc == NULL)
        mc = sip_parser_create();
    CHECK(mc != NULL);
    return mc;
}

static void check_reason(const char *s)
{
    CHECK(s != NULL && s[0] != '\0');
    for (const char *p = s; *p; p++)
        CHECK(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    msg_t *msg = msg_make(parser_class(), 0, data, (ssize_t)size);
    sip_t *sip = sip_object(msg);
    if (sip == NULL || sip->sip_request == NULL) {
        msg_destroy(msg);
        return 0;
    }
    CHECK(sip->sip_request->rq_method_name != NULL);

    const char *why = NULL;
    int status = sip_guard_request(sip, &why);
    CHECK(status == 0 || status == 400 || status == 415);
    if (status)
        check_reason(why);

    struct sdp_media media;
    bool has_media = true;
    char warn[200];
    warn[0] = '\0';
    status = sip_guard_media(sip, &media, &has_media, warn, sizeof(warn));
    CHECK(status == 0 || status == 400 || status == 415 || status == 488 || status == 500);
    CHECK(!has_media || status == 0);
    if (status)
        check_reason(warn);
    if (has_media) {
        CHECK(media.codec_pt == SDP_PT_PCMU || media.codec_pt == SDP_PT_PCMA);
        CHECK(media.n_streams >= 1 && media.n_streams <= SDP_MAX_STREAMS);
    }
    msg_destroy(msg);
    return 0;
}
