/* Checks on parsed SIP requests (see sip_guard.h). */
#include "sip/sip_guard.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>

int sip_guard_request(const sip_t *sip, const char **why)
{
    /* Sofia keeps lines it could not parse in sip_error; a known header that failed to parse
     * carries its name (nta answers those it needs with "400 Bad <name> Header"), a line with
     * no header name does not, and nta would let it through. */
    for (const msg_header_t *h = (const msg_header_t *)sip->sip_error; h; h = h->sh_next) {
        if (h->sh_error->er_name == NULL) {
            *why = "header line without a name";
            return 400;
        }
    }
    const sip_payload_t *pl = sip->sip_payload;
    if (!pl || pl->pl_len == 0)
        return 0;
    for (const sip_content_encoding_t *ce = sip->sip_content_encoding; ce; ce = ce->k_next) {
        for (const msg_param_t *k = ce->k_items; k && *k; k++) {
            if (strcasecmp(*k, "identity") != 0) {
                *why = "body in a Content-Encoding we cannot decode";
                return 415;
            }
        }
    }
    return 0;
}

/* RFC 2046 5.1.1: a boundary is 1..70 characters; the parameter may be a quoted string. */
static bool get_boundary(const sip_content_type_t *ct, char *out, size_t cap)
{
    const char *b = msg_params_find(ct->c_params, "boundary=");
    if (!b)
        return false;
    size_t n = strlen(b);
    if (n >= 2 && b[0] == '"' && b[n - 1] == '"') {
        b++;
        n -= 2;
    }
    if (n == 0 || n > 70 || n + 1 > cap || memchr(b, '"', n) || memchr(b, '\r', n) ||
        memchr(b, '\n', n))
        return false;
    memcpy(out, b, n);
    out[n] = '\0';
    return true;
}

/* The next "--boundary" at the start of a line in p[from..len), or NULL. */
static const char *next_delimiter(const char *p, size_t len, size_t from, const char *delim,
                                  size_t dlen)
{
    while (from < len) {
        const char *d = memmem(p + from, len - from, delim, dlen);
        if (!d)
            return NULL;
        if (d == p || d[-1] == '\n')
            return d;
        from = (size_t)(d - p) + 1;
    }
    return NULL;
}

/* True when the part's header (up to its empty line) says Content-Type: application/sdp;
 * *body is set to what follows the empty line. */
static bool part_is_sdp(const char *p, const char *end, const char **body)
{
    bool sdp = false;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        size_t n = (size_t)(line_end - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0) { /* the empty line: the body follows */
            *body = eol ? eol + 1 : end;
            return sdp;
        }
        const char *colon = memchr(p, ':', n);
        size_t name = colon ? (size_t)(colon - p) : n;
        if (colon) {
            const char *v = p + name + 1;
            const char *vend = p + n;
            while (v < vend && (*v == ' ' || *v == '\t'))
                v++;
            static const char type[] = "application/sdp";
            size_t tlen = sizeof(type) - 1;
            if (((name == 12 && strncasecmp(p, "Content-Type", 12) == 0) ||
                 (name == 1 && (p[0] == 'c' || p[0] == 'C'))) &&
                (size_t)(vend - v) >= tlen && strncasecmp(v, type, tlen) == 0 &&
                (v + tlen == vend || v[tlen] == ';' || v[tlen] == ' ' || v[tlen] == '\t'))
                sdp = true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

/* The application/sdp part of a multipart body (RFC 2046 5.1): 0 with *sdp and *sdplen, 415 when
 * there is none, 400 when the body is not multipart as its boundary says. Our own scanner:
 * Debian's msg_multipart_parse() aborts the process on an assertion for some bodies and leaks
 * a message home per call for others (both found by fuzz_sip). */
static int find_multipart_sdp(const sip_content_type_t *ct, const char *p, size_t len,
                              const char **sdp, size_t *sdplen, const char **why)
{
    char delim[2 + 70 + 1] = "--";
    if (!get_boundary(ct, delim + 2, sizeof(delim) - 2)) {
        *why = "multipart body without a valid boundary";
        return 400;
    }
    size_t dlen = strlen(delim);
    const char *d = next_delimiter(p, len, 0, delim, dlen);
    while (d) {
        const char *after = d + dlen;
        const char *end = p + len;
        if (end - after >= 2 && after[0] == '-' && after[1] == '-')
            break; /* the close delimiter */
        const char *eol = memchr(after, '\n', (size_t)(end - after));
        if (!eol)
            break;
        const char *part = eol + 1;
        const char *next = next_delimiter(p, len, (size_t)(part - p), delim, dlen);
        if (!next)
            break;
        /* The line end before the next delimiter belongs to the delimiter (RFC 2046 5.1.1). */
        const char *part_end = next;
        if (part_end > part && part_end[-1] == '\n')
            part_end--;
        if (part_end > part && part_end[-1] == '\r')
            part_end--;
        const char *body = NULL;
        if (part_is_sdp(part, part_end, &body)) {
            *sdp = body;
            *sdplen = (size_t)(part_end - body);
            return 0;
        }
        d = next;
    }
    if (!next_delimiter(p, len, 0, delim, dlen)) {
        *why = "multipart body without its boundary";
        return 400;
    }
    *why = "multipart body without an application/sdp part";
    return 415;
}

/* Finds the SDP in a request body: application/sdp, or the SDP part of a multipart body.
 * Returns 0 with *sdp and *len (NULL/0 when there is no body), or the SIP status to reject with. */
static int find_sdp(const sip_t *sip, const char **sdp, size_t *len, const char **why)
{
    *sdp = NULL;
    *len = 0;
    const sip_payload_t *pl = sip->sip_payload;
    if (!pl || !pl->pl_data || pl->pl_len == 0)
        return 0;
    const sip_content_type_t *ct = sip->sip_content_type;
    if (!ct || !ct->c_type) {
        *why = "body without Content-Type";
        return 400;
    }
    if (strcasecmp(ct->c_type, "application/sdp") == 0) {
        *sdp = pl->pl_data;
        *len = pl->pl_len;
        return 0;
    }
    if (strncasecmp(ct->c_type, "multipart/", 10) == 0)
        return find_multipart_sdp(ct, pl->pl_data, pl->pl_len, sdp, len, why);
    *why = "unsupported body type";
    return 415;
}

int sip_guard_media(const sip_t *sip, struct sdp_media *media, bool *has_media, char *warn,
                    size_t warnlen)
{
    *has_media = false;
    const char *sdp, *why = "";
    size_t len;
    int status = find_sdp(sip, &sdp, &len, &why);
    if (status == 0 && sdp) {
        status = sdp_negotiate(sdp, len, media, warn, warnlen);
        *has_media = status == SDP_OK;
    } else if (status) {
        snprintf(warn, warnlen, "%s", why);
    }
    return status;
}
