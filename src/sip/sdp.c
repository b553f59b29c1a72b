/* SDP offer/answer for G.711 audio (see sdp.h).
 * Sofia's sdp_parse() does the tokenising; everything we take from its result is checked here
 * again, because it accepts out-of-range ports, non-numeric addresses, any ptime and
 * silently skips malformed lines after the first m=. A raw pre-scan rejects what Sofia would
 * mangle without telling us (NUL bytes truncate its copy, lines without "x=" after m= are
 * dropped, a missing final newline hides truncation) or choke on (a malformed m= line can make
 * Debian's sdp_parse() allocate forever). Reasons written to err are restricted to printable
 * ASCII without quotes, so the caller can put them in a Warning header as they are. */
#include "sip/sdp.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

/* Real offers are well under 4 KiB (even with ICE candidates and video); anything much larger
 * is an attack on the parser, not a phone. */
#define SDP_MAX_LEN 32768

/* RFC 3551 section 3: the dynamic payload type range, where telephone-event must live. */
#define PT_DYNAMIC_MIN 96
#define PT_MAX 127

#define PTIME_DEFAULT 20
#define PTIME_MIN 10
#define PTIME_MAX 120

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* Sofia's messages quote the peer's text: keep the reason a safe quoted-string body. */
    for (char *p = err; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            *p = '?';
    }
    return code;
}

/* RFC 4566 token characters. */
static bool is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`{|}~", c) != NULL);
}

/* Skips a run of bytes accepted by ok (plus '/' when slash is set); returns how many. */
static size_t span(const char *s, size_t n, bool slash, bool (*ok)(unsigned char))
{
    size_t i = 0;
    while (i < n && (ok((unsigned char)s[i]) || (slash && s[i] == '/')))
        i++;
    return i;
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static size_t spaces(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    return i;
}

/* Sofia parses the formats of these transports as RTP payload types and fails the whole SDP
 * on one above 127 (a 7-bit field, RFC 3550 5.1). */
static bool is_rtp_proto(const char *s, size_t n)
{
    return (n == 7 && strncasecmp(s, "RTP/AVP", 7) == 0) ||
           (n == 8 && strncasecmp(s, "RTP/SAVP", 8) == 0);
}

/* RFC 4566's proto, token *("/" token): no empty part. Sofia reads "4002 /2/RTP/AVP" as port
 * 4002 with 2 ports and proto "RTP/AVP", so a proto starting with "/" would not read back as
 * the proto we echo in our answer. */
static bool proto_shaped(const char *s, size_t n)
{
    if (s[0] == '/' || s[n - 1] == '/')
        return false;
    for (size_t k = 1; k < n; k++)
        if (s[k] == '/' && s[k - 1] == '/')
            return false;
    return true;
}

/* Checks the text after "m=" against RFC 4566:
 *   media SP port ["/" integer] SP proto 1*(SP fmt)
 * Debian's sdp_parse() loops forever, allocating, on a non-RTP format that starts with a
 * non-token character (such as "m=video 9 X (" or a UTF-8 byte): the FreeSWITCH fork's fix
 * for this is not in the package. Trailing spaces are tolerated: some phones send them.
 * Returns SDP_OK, SDP_BAD_REQUEST (malformed) or SDP_NOT_ACCEPTABLE (well-formed, but an RTP
 * payload type beyond 127, stored in *bad_pt). */
static int check_m_line(const char *s, size_t n, unsigned long *bad_pt)
{
    size_t i = span(s, n, false, is_token_char); /* media */
    if (i == 0 || spaces(s + i, n - i) == 0)
        return SDP_BAD_REQUEST;
    i += spaces(s + i, n - i);
    size_t d = span(s + i, n - i, false, is_digit); /* port */
    if (d == 0)
        return SDP_BAD_REQUEST;
    i += d;
    if (i < n && s[i] == '/') { /* number of ports */
        i++;
        d = span(s + i, n - i, false, is_digit);
        if (d == 0)
            return SDP_BAD_REQUEST;
        i += d;
    }
    if (spaces(s + i, n - i) == 0)
        return SDP_BAD_REQUEST;
    i += spaces(s + i, n - i);
    d = span(s + i, n - i, true, is_token_char); /* proto = token *("/" token) */
    if (d == 0 || !proto_shaped(s + i, d))
        return SDP_BAD_REQUEST;
    bool rtp = is_rtp_proto(s + i, d);
    i += d;
    size_t fmts = 0;
    int rc = SDP_OK;
    while (i < n) {
        size_t sp = spaces(s + i, n - i);
        i += sp;
        if (i == n)
            break;
        d = span(s + i, n - i, false, is_token_char);
        if (sp == 0 || d == 0)
            return SDP_BAD_REQUEST;
        if (rtp && rc == SDP_OK && span(s + i, d, false, is_digit) == d) {
            unsigned long pt = 0;
            for (size_t k = 0; k < d && pt <= 9999; k++)
                pt = pt * 10 + (unsigned long)(s[i + k] - '0');
            if (pt > PT_MAX) {
                *bad_pt = pt;
                rc = SDP_NOT_ACCEPTABLE;
            }
        }
        i += d;
        fmts++;
    }
    return fmts > 0 ? rc : SDP_BAD_REQUEST;
}

/* Rejects input Sofia would accept but misread: empty or oversized bodies, NUL and other
 * control bytes, lines not of the form "x=...", malformed m= lines, and a last line without
 * its line end (RFC 4566 ends every line with CRLF; a body that does not is truncated). What
 * is well-formed but beyond what we answer (payload types over 127, which Sofia cannot parse,
 * more than SDP_MAX_STREAMS m= lines) is refused with 488 once the whole body is known good. */
static int prescan(const char *s, size_t len, char *err, size_t errlen)
{
    if (len == 0)
        return fail(err, errlen, SDP_BAD_REQUEST, "empty SDP body");
    if (len > SDP_MAX_LEN)
        return fail(err, errlen, SDP_BAD_REQUEST, "SDP body too large (%zu bytes)", len);
    if (s[len - 1] != '\n' && s[len - 1] != '\r')
        return fail(err, errlen, SDP_BAD_REQUEST, "SDP truncated (last line has no CRLF)");

    size_t lineno = 0, m_lines = 0;
    unsigned long bad_pt = 0;
    int verdict = SDP_OK;
    for (size_t i = 0; i < len;) {
        size_t n = 0; /* the line is s[i .. i+n) */
        while (s[i + n] != '\r' && s[i + n] != '\n')
            n++; /* stops in bounds: the body ends with CR or LF */
        const char *line = s + i;
        i += n;
        i += (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
        lineno++;
        if (n == 0)
            continue; /* blank lines are ignored, as Sofia does */
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)line[k];
            if (c == 0)
                return fail(err, errlen, SDP_BAD_REQUEST, "NUL byte in SDP line %zu", lineno);
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(err, errlen, SDP_BAD_REQUEST, "control character in SDP line %zu",
                            lineno);
        }
        if (n < 2)
            return fail(err, errlen, SDP_BAD_REQUEST, "SDP line %zu is too short", lineno);
        if (line[0] < 'a' || line[0] > 'z')
            return fail(err, errlen, SDP_BAD_REQUEST,
                        "SDP line %zu does not start with a type letter", lineno);
        if (line[1] != '=')
            return fail(err, errlen, SDP_BAD_REQUEST, "SDP line %zu has no '=' after its type",
                        lineno);
        if (line[0] != 'm')
            continue;
        m_lines++;
        int rc = check_m_line(line + 2, n - 2, &bad_pt);
        if (rc == SDP_BAD_REQUEST)
            return fail(err, errlen, SDP_BAD_REQUEST, "malformed m= line (SDP line %zu)", lineno);
        if (rc != SDP_OK && verdict == SDP_OK)
            verdict = fail(err, errlen, rc, "RTP payload type %s%lu outside 0..127",
                           bad_pt > 9999 ? ">" : "", bad_pt > 9999 ? 9999ul : bad_pt);
    }
    if (verdict != SDP_OK)
        return verdict;
    if (m_lines > SDP_MAX_STREAMS)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "more than %d m= lines", SDP_MAX_STREAMS);
    return SDP_OK;
}

/* Accepts decimal digits, optionally surrounded by blanks; no signs, no fractions. Values
 * beyond 9999 come out as UINT_MAX: out of any range, without overflowing. */
static bool parse_uint(const char *s, unsigned *out)
{
    if (s == NULL)
        return false;
    s += strspn(s, " \t");
    size_t n = strspn(s, "0123456789");
    if (n == 0 || s[n + strspn(s + n, " \t")] != '\0')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n && v <= 9999; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    *out = v <= 9999 ? v : UINT_MAX;
    return true;
}

static bool is_g711(const sdp_rtpmap_t *rm, const char *name)
{
    /* Channels, if given, must be 1: G.711 is mono. */
    return rm->rm_encoding != NULL && strcasecmp(rm->rm_encoding, name) == 0 &&
           rm->rm_rate == 8000 && (rm->rm_params == NULL || strcmp(rm->rm_params, "1") == 0);
}

/* The first of the peer's formats that is PCMU at PT 0 or PCMA at PT 8; -1 if none.
 * Dynamic payload types carrying G.711 are not used: our RTP layer sends only the static PTs. */
static int choose_codec(const sdp_media_t *m)
{
    for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm != NULL; rm = rm->rm_next) {
        if (rm->rm_pt == SDP_PT_PCMU && is_g711(rm, "PCMU"))
            return SDP_PT_PCMU;
        if (rm->rm_pt == SDP_PT_PCMA && is_g711(rm, "PCMA"))
            return SDP_PT_PCMA;
    }
    return -1;
}

static int choose_dtmf(const sdp_media_t *m)
{
    /* rm_pt is a 7-bit field (Sofia refuses formats above 127), so only the floor needs a check. */
    for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm != NULL; rm = rm->rm_next) {
        if (rm->rm_pt >= PT_DYNAMIC_MIN && rm->rm_encoding != NULL &&
            strcasecmp(rm->rm_encoding, "telephone-event") == 0 && rm->rm_rate == 8000)
            return (int)rm->rm_pt;
    }
    return -1;
}

enum conn_check { CONN_OK, CONN_INVALID, CONN_UNSUPPORTED };

/* Validates a c= line and stores its address in canonical numeric form. *unspecified is set
 * for 0.0.0.0 and ::, which RFC 2543 phones use to put a call on hold. */
static enum conn_check check_connection(const sdp_connection_t *c, struct sdp_media *out,
                                        bool *unspecified, char *err, size_t errlen)
{
    if (c->c_nettype != sdp_net_in || c->c_address == NULL) {
        fail(err, errlen, SDP_BAD_REQUEST, "c= network type is not IN");
        return CONN_INVALID;
    }
    unsigned char bin[sizeof(struct in6_addr)];
    int family;
    if (c->c_addrtype == sdp_addr_ip4)
        family = AF_INET;
    else if (c->c_addrtype == sdp_addr_ip6)
        family = AF_INET6;
    else {
        fail(err, errlen, SDP_BAD_REQUEST, "c= address type is not IP4 or IP6");
        return CONN_INVALID;
    }
    if (inet_pton(family, c->c_address, bin) != 1) {
        fail(err, errlen, SDP_BAD_REQUEST, "c= address is not a numeric %s address",
             family == AF_INET ? "IPv4" : "IPv6");
        return CONN_INVALID;
    }
    /* We send RTP to this address; never to a group or the broadcast address. */
    bool group = c->c_mcast || (family == AF_INET ? (bin[0] & 0xf0) == 0xe0 : bin[0] == 0xff);
    static const unsigned char bcast[4] = { 0xff, 0xff, 0xff, 0xff };
    if (group || (family == AF_INET && memcmp(bin, bcast, 4) == 0)) {
        fail(err, errlen, SDP_NOT_ACCEPTABLE, "multicast or broadcast media address not supported");
        return CONN_UNSUPPORTED;
    }
    static const unsigned char zero[sizeof(struct in6_addr)];
    *unspecified = memcmp(bin, zero, family == AF_INET ? 4 : sizeof(struct in6_addr)) == 0;
    /* Cannot fail: the buffer exceeds INET6_ADDRSTRLEN and bin was produced by inet_pton. */
    inet_ntop(family, bin, out->addr, sizeof(out->addr));
    out->family = family;
    return CONN_OK;
}

static int check_ptime(const sdp_session_t *sess, const sdp_media_t *m, int *ptime, char *err,
                       size_t errlen)
{
    /* Media level wins; a session-level ptime is non-standard but harmless to honour. */
    const sdp_attribute_t *a = sdp_attribute_find(m->m_attributes, "ptime");
    if (a == NULL)
        a = sdp_attribute_find(sess->sdp_attributes, "ptime");
    if (a == NULL) {
        *ptime = PTIME_DEFAULT;
        return SDP_OK;
    }
    unsigned v;
    if (!parse_uint(a->a_value, &v))
        return fail(err, errlen, SDP_BAD_REQUEST, "a=ptime is not a whole number of ms");
    /* Well-formed, but a packet size we do not send or take: not acceptable (RFC 3261 488). */
    if (v == UINT_MAX)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "a=ptime beyond 9999 ms");
    if (v < PTIME_MIN || v > PTIME_MAX || v % 10 != 0)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE,
                    "a=ptime:%u outside 10..120 ms or not a multiple of 10", v);
    *ptime = (int)v;
    return SDP_OK;
}

static enum sdp_direction direction_of(unsigned mode)
{
    switch (mode & (unsigned)sdp_sendrecv) {
    case sdp_sendonly:
        return SDP_SENDONLY;
    case sdp_recvonly:
        return SDP_RECVONLY;
    case sdp_inactive:
        return SDP_INACTIVE;
    default:
        return SDP_SENDRECV;
    }
}

/* Outcome for one audio m= line: SDP_OK (usable, *out filled), SDP_BAD_REQUEST (the offer is
 * invalid) or SDP_NOT_ACCEPTABLE (valid but unusable: try the next stream). */
static int check_stream(const sdp_session_t *sess, const sdp_media_t *m, struct sdp_media *out,
                        char *err, size_t errlen)
{
    if (m->m_port == 0 || m->m_rejected)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "audio stream refused (port 0)");
    if (m->m_proto != sdp_proto_rtp)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "audio transport is not RTP/AVP");
    /* RFC 3550 only recommends even ports; real offers use odd ones (port 9 for "discard"). */
    if (m->m_port > 65535)
        return fail(err, errlen, SDP_BAD_REQUEST, "invalid RTP port %lu (1..65535)", m->m_port);
    if (m->m_number_of_ports > 1)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "audio port ranges are not supported");

    const sdp_connection_t *c = m->m_connections ? m->m_connections : sess->sdp_connection;
    if (c == NULL)
        return fail(err, errlen, SDP_BAD_REQUEST, "no c= line for the audio stream");
    bool unspecified = false;
    switch (check_connection(c, out, &unspecified, err, errlen)) {
    case CONN_INVALID:
        return SDP_BAD_REQUEST;
    case CONN_UNSUPPORTED:
        return SDP_NOT_ACCEPTABLE;
    case CONN_OK:
        break;
    }
    int rc = check_ptime(sess, m, &out->ptime, err, errlen);
    if (rc != SDP_OK)
        return rc;

    out->codec_pt = choose_codec(m);
    if (out->codec_pt < 0)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "no supported codec (PCMU/8000, PCMA/8000)");
    out->dtmf_pt = choose_dtmf(m);
    out->port = (uint16_t)m->m_port;

    /* Sofia gives the media-level direction, inheriting the session level one. An unspecified
     * address means the peer will not receive, whatever it says (RFC 2543 hold). */
    unsigned mode = m->m_mode;
    if (unspecified)
        mode &= ~(unsigned)sdp_recvonly;
    out->dir = direction_of(mode);
    return SDP_OK;
}

/* Copies a token into dst; false when it does not fit (the offer is then refused). */
static bool copy_token(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* Records an offered m= line the way we would refuse it (RFC 3264 section 6). */
static bool record_stream(const sdp_media_t *m, struct sdp_stream *st)
{
    char pt[4];
    const char *fmt = m->m_format ? m->m_format->l_text : NULL;
    if (fmt == NULL && m->m_rtpmaps != NULL) {
        snprintf(pt, sizeof(pt), "%u", (unsigned)m->m_rtpmaps->rm_pt);
        fmt = pt;
    }
    return copy_token(st->media, sizeof(st->media), m->m_type_name) &&
           copy_token(st->proto, sizeof(st->proto), m->m_proto_name) &&
           copy_token(st->fmt, sizeof(st->fmt), fmt);
}

/* Picks the first usable audio stream of a parsed offer and records every m= line. */
static int choose_stream(const sdp_session_t *sess, struct sdp_media *out, char *err,
                         size_t errlen)
{
    struct sdp_media res;
    memset(&res, 0, sizeof(res));
    res.audio_index = -1;
    int rc = SDP_NOT_ACCEPTABLE;
    bool audio_seen = false;
    for (const sdp_media_t *m = sess->sdp_media; m != NULL; m = m->m_next) {
        /* The prescan bounded the m= lines; this only guards the array. */
        if (res.n_streams == SDP_MAX_STREAMS)
            return fail(err, errlen, SDP_NOT_ACCEPTABLE, "more than %d m= lines",
                        SDP_MAX_STREAMS);
        int index = res.n_streams++;
        if (!record_stream(m, &res.streams[index]))
            return fail(err, errlen, SDP_NOT_ACCEPTABLE, "m= line %d: a token is too long",
                        index + 1);
        if (m->m_type != sdp_media_audio || res.audio_index >= 0)
            continue;
        audio_seen = true;
        rc = check_stream(sess, m, &res, err, errlen);
        if (rc == SDP_BAD_REQUEST)
            return rc;
        if (rc == SDP_OK)
            res.audio_index = index;
    }
    if (!audio_seen)
        return fail(err, errlen, SDP_NOT_ACCEPTABLE, "no audio stream in SDP");
    if (res.audio_index < 0)
        return rc;
    *out = res;
    if (err != NULL && errlen > 0)
        err[0] = '\0'; /* drop the reason a skipped stream left */
    return SDP_OK;
}

int sdp_negotiate(const char *sdp, size_t len, struct sdp_media *out, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL || (sdp == NULL && len > 0))
        return fail(err, errlen, SDP_BAD_REQUEST, "no SDP");
    int rc = prescan(sdp, len, err, errlen);
    if (rc != SDP_OK)
        return rc;

    su_home_t home[1] = { SU_HOME_INIT(home) };
    /* Not sdp_f_strict: it rejects rtpmap lines for formats not in the m= line, which real
     * phones send. The sanity check stays on (v=0, o=, a c= for every active stream); s= and
     * t= are checked below. Mode handling stays with Sofia, the 0.0.0.0 rule with us. */
    sdp_parser_t *parser = sdp_parse(home, sdp, (issize_t)len, 0);
    sdp_session_t *sess = sdp_session(parser);
    if (sess == NULL) {
        const char *why = sdp_parsing_error(parser);
        rc = fail(err, errlen, SDP_BAD_REQUEST, "malformed SDP: %s", why ? why : "unknown error");
    } else if (sess->sdp_subject == NULL || sess->sdp_time == NULL) {
        rc = fail(err, errlen, SDP_BAD_REQUEST, "SDP lacks a mandatory s= or t= line");
    } else {
        rc = choose_stream(sess, out, err, errlen);
    }
    sdp_parser_free(parser);
    su_home_deinit(home);
    return rc;
}

enum sdp_direction sdp_answer_direction(enum sdp_direction offered)
{
    switch (offered) {
    case SDP_SENDONLY:
        return SDP_RECVONLY;
    case SDP_RECVONLY:
        return SDP_SENDONLY;
    case SDP_SENDRECV:
        return SDP_SENDRECV;
    case SDP_INACTIVE:
        break;
    }
    /* Inactive, and any out-of-range value: the answer that commits to nothing. */
    return SDP_INACTIVE;
}

static const char *codec_name(int pt)
{
    return pt == SDP_PT_PCMU ? "PCMU" : pt == SDP_PT_PCMA ? "PCMA" : NULL;
}

static const char *direction_name(enum sdp_direction dir)
{
    switch (dir) {
    case SDP_SENDRECV:
        return "sendrecv";
    case SDP_SENDONLY:
        return "sendonly";
    case SDP_RECVONLY:
        return "recvonly";
    case SDP_INACTIVE:
        return "inactive";
    }
    return NULL;
}

/* Appends to buf at *off; false once the text does not fit (buf is then left terminated). */
static bool append(char *buf, size_t buflen, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool append(char *buf, size_t buflen, size_t *off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, buflen - *off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= buflen - *off)
        return false;
    *off += (size_t)n;
    return true;
}

/* A recorded m= line must be tokens that fit their fields: it goes into our SDP as it is. */
static bool token_ok(const char *s, size_t cap, bool slash)
{
    size_t n = strnlen(s, cap);
    return n > 0 && n < cap && span(s, n, slash, is_token_char) == n;
}

static bool stream_ok(const struct sdp_stream *st)
{
    return token_ok(st->media, sizeof(st->media), false) &&
           token_ok(st->proto, sizeof(st->proto), true) &&
           token_ok(st->fmt, sizeof(st->fmt), false);
}

static bool refuse(char *buf, size_t buflen, size_t *off, const struct sdp_stream *st)
{
    return append(buf, buflen, off, "m=%s 0 %s %s\r\n", st->media, st->proto, st->fmt);
}

int sdp_write(char *buf, size_t buflen, const char *local_ip, uint16_t port, uint64_t sess_id,
              uint64_t sess_version, const struct sdp_media *m, enum sdp_direction dir)
{
    if (buf == NULL || buflen == 0)
        return -1;
    buf[0] = '\0';
    if (local_ip == NULL || m == NULL)
        return -1;
    unsigned char bin[sizeof(struct in6_addr)];
    const char *ipver;
    if (inet_pton(AF_INET, local_ip, bin) == 1)
        ipver = "IP4";
    else if (inet_pton(AF_INET6, local_ip, bin) == 1)
        ipver = "IP6";
    else
        return -1;
    bool answer = m->n_streams > 0;
    /* An answer names the one codec chosen; our offer lists the configured ones in order. */
    const int *pts = &m->codec_pt;
    int n_pts = 1;
    if (!answer && m->n_offer > 0) {
        if (m->n_offer > SDP_MAX_CODECS)
            return -1;
        pts = m->offer_pts;
        n_pts = m->n_offer;
    }
    for (int i = 0; i < n_pts; i++) {
        if (codec_name(pts[i]) == NULL)
            return -1;
        for (int j = 0; j < i; j++)
            if (pts[j] == pts[i])
                return -1;
    }
    bool dtmf = m->dtmf_pt >= 0;
    if (dtmf && (m->dtmf_pt < PT_DYNAMIC_MIN || m->dtmf_pt > PT_MAX))
        return -1;
    const char *dirname = direction_name(dir);
    if (dirname == NULL)
        return -1;

    if (answer && (m->n_streams > SDP_MAX_STREAMS || m->audio_index < 0 ||
                   m->audio_index >= m->n_streams))
        return -1;
    for (int i = 0; answer && i < m->n_streams; i++)
        if (i != m->audio_index && !stream_ok(&m->streams[i]))
            return -1;

    size_t off = 0;
    bool ok = append(buf, buflen, &off,
                     "v=0\r\n"
                     "o=vcsd %" PRIu64 " %" PRIu64 " IN %s %s\r\n"
                     "s=vcsd\r\n"
                     "c=IN %s %s\r\n"
                     "t=0 0\r\n",
                     sess_id, sess_version, ipver, local_ip, ipver, local_ip);
    /* RFC 3264 section 6: as many m= lines as offered, in order, port 0 on the refused ones. */
    for (int i = 0; answer && i < m->audio_index; i++)
        ok = ok && refuse(buf, buflen, &off, &m->streams[i]);
    ok = ok && append(buf, buflen, &off, "m=audio %u RTP/AVP", (unsigned)port);
    for (int i = 0; i < n_pts; i++)
        ok = ok && append(buf, buflen, &off, " %d", pts[i]);
    if (dtmf)
        ok = ok && append(buf, buflen, &off, " %d", m->dtmf_pt);
    ok = ok && append(buf, buflen, &off, "\r\n");
    for (int i = 0; i < n_pts; i++)
        ok = ok && append(buf, buflen, &off, "a=rtpmap:%d %s/8000\r\n", pts[i],
                          codec_name(pts[i]));
    if (dtmf)
        ok = ok && append(buf, buflen, &off,
                          "a=rtpmap:%d telephone-event/8000\r\n"
                          "a=fmtp:%d 0-16\r\n",
                          m->dtmf_pt, m->dtmf_pt);
    ok = ok && append(buf, buflen, &off, "a=ptime:%d\r\na=%s\r\n", PTIME_DEFAULT, dirname);
    for (int i = m->audio_index + 1; answer && i < m->n_streams; i++)
        ok = ok && refuse(buf, buflen, &off, &m->streams[i]);
    if (!ok) {
        buf[0] = '\0';
        return -1;
    }
    return (int)off;
}
