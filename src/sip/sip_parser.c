/* The request-line parser of vcsd's SIP message class (see sip_parser.h). Sofia's parser runs
 * first on a copy of the line; only what it refuses is looked at here. */
#include "sip/sip_parser.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

/* msg_hclass_t is const: these are copies of Sofia's classes with our parse functions. */
static struct msg_hclass_s request_class, cseq_class;
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

/* RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
static size_t span_sip_token(const char *s)
{
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
           (s[n] >= '0' && s[n] <= '9') || (s[n] != '\0' && strchr("-.!%*_+`'~", s[n])))
        n++;
    return n;
}

/* Sofia calls a name with characters it does not take "invalid"; RFC 3261 calls it a method
 * we do not know, which the stack answers 501. */
static sip_method_t method_code(const char *name)
{
    sip_method_t m = sip_method_code(name);
    return m == sip_method_invalid ? sip_method_unknown : m;
}

/* A Request-URI we can route by: one word, a URI Sofia parses, and a port (if any) that is a
 * number, which an IPv6 host without brackets is not ("sip:u@2001:db8::1"). */
static bool uri_ok(url_t *url, char *uri)
{
    if (uri[0] == '\0' || strpbrk(uri, " \t") != NULL || url_d(url, uri) < 0)
        return false;
    if (url->url_type == url_invalid)
        return false;
    if (url->url_port != NULL && strspn(url->url_port, "0123456789") != strlen(url->url_port))
        return false;
    return true;
}

/* Sofia's own parser of class hc on a copy of s (parsers write into what they parse, and ours
 * needs the text intact when Sofia's refuses it): 1 when it took the text, 0 when it refused
 * it, -1 when out of memory. */
static int sofia_parse(msg_hclass_t *hc, su_home_t *home, msg_header_t *h, const char *s,
                       isize_t slen)
{
    char *copy = su_strndup(home, s, slen);
    if (copy == NULL)
        return -1;
    return hc->hc_parse(home, h, copy, slen) >= 0;
}

/* Method SP Request-URI SP SIP-Version, as RFC 3261 7.1 has it. s is the line without CRLF. */
static issize_t request_line_d(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
    int sofia = sofia_parse(sip_request_class, home, h, s, slen);
    if (sofia != 0)
        return sofia > 0 ? 0 : -1;

    sip_request_t *rq = (sip_request_t *)h;
    size_t mlen = span_sip_token(s);
    char *last = strrchr(s, ' ');
    if (mlen == 0 || s[mlen] != ' ' || last == s + mlen || strcasecmp(last + 1, "SIP/2.0") != 0)
        return -1; /* not a SIP request line at all: garbage stays garbage */
    s[mlen] = '\0';
    *last = '\0';
    char *uri = s + mlen + 1;
    rq->rq_method_name = s;
    rq->rq_method = method_code(s);
    rq->rq_version = sip_version_2_0;
    memset(rq->rq_url, 0, sizeof(rq->rq_url));
    if (uri_ok(rq->rq_url, uri))
        return 0;
    /* RFC 3261 8.2 wants a 400 for a Request-URI we cannot read. The message is parsed in its
     * own home (msg_home() is a cast, msg.h), so marking it erroneous makes nta answer it 400
     * once its Via is parsed; the URL left behind is empty and never used for routing. */
    memset(rq->rq_url, 0, sizeof(rq->rq_url));
    rq->rq_url->url_type = url_invalid;
    msg_set_flags((msg_t *)home, MSG_FLG_ERROR);
    return 0;
}

/* CSeq: 1*DIGIT LWS Method (RFC 3261 20.16), for the methods Sofia's parser refuses: without
 * it a request with such a method would get "400 Bad CSeq Header" instead of 501. */
static issize_t cseq_d(su_home_t *home, msg_header_t *h, char *s, isize_t slen)
{
    int sofia = sofia_parse(sip_cseq_class, home, h, s, slen);
    if (sofia != 0)
        return sofia > 0 ? 0 : -1;
    sip_cseq_t *cs = (sip_cseq_t *)h;
    size_t digits = strspn(s, "0123456789");
    if (digits == 0 || digits > 10)
        return -1;
    unsigned long long seq = strtoull(s, NULL, 10);
    char *method = s + digits + strspn(s + digits, " \t");
    size_t mlen = span_sip_token(method);
    if (seq >= 1ull << 31 || method == s + digits || mlen == 0 ||
        method[mlen + strspn(method + mlen, " \t")] != '\0')
        return -1;
    method[mlen] = '\0';
    cs->cs_seq = (uint32_t)seq;
    cs->cs_method_name = method;
    cs->cs_method = method_code(method);
    return 0;
}

static void init_classes(void)
{
    request_class = *sip_request_class;
    request_class.hc_parse = request_line_d;
    cseq_class = *sip_cseq_class;
    cseq_class.hc_parse = cseq_d;
}

msg_mclass_t *sip_parser_create(void)
{
    pthread_once(&classes_once, init_classes);
    msg_mclass_t *mc = msg_mclass_clone(sip_default_mclass(), 0, 0);
    if (mc == NULL)
        return NULL;
    mc->mc_request->hr_class = &request_class;
    /* Headers made by Sofia's own functions carry sip_cseq_class, and the stack looks their
     * slot up by class identity (msg_hclass_offset), while the parser looks a header up by
     * name and takes the first match. So our CSeq class takes Sofia's slot and Sofia's goes
     * back in further along the same probe chain: parsing uses ours, the rest finds Sofia's. */
    for (int i = 0; i < mc->mc_hash_size; i++) {
        if (mc->mc_hash[i].hr_class != sip_cseq_class)
            continue;
        msg_href_t sofia = mc->mc_hash[i];
        mc->mc_hash[i].hr_class = &cseq_class;
        if (msg_mclass_insert(mc, &sofia) < 0)
            mc->mc_hash[i] = sofia; /* no room: Sofia's parser only */
        break;
    }
    return mc;
}

void sip_parser_free(msg_mclass_t *mc)
{
    free(mc);
}
