/* Checks on parsed SIP requests (see sip_guard.h). */
#include "sip/sip_guard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_mime.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

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

/* Finds the SDP in a request body: application/sdp, or the SDP part of a multipart body.
 * Returns 0 with *sdp and *len (NULL/0 when there is no body), or the SIP status to reject with. */
static int find_sdp(su_home_t *home, const sip_t *sip, const char **sdp, size_t *len,
                    const char **why)
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
    if (strncasecmp(ct->c_type, "multipart/", 10) == 0) {
        /* Guarded above: msg_multipart_parse() crashes on a missing payload (hardening note). */
        msg_payload_t copy = *(const msg_payload_t *)pl;
        msg_multipart_t *mp = msg_multipart_parse(home, ct, &copy);
        for (; mp; mp = mp->mp_next) {
            if (mp->mp_content_type && mp->mp_content_type->c_type && mp->mp_payload &&
                mp->mp_payload->pl_data &&
                strcasecmp(mp->mp_content_type->c_type, "application/sdp") == 0) {
                *sdp = mp->mp_payload->pl_data;
                *len = mp->mp_payload->pl_len;
                return 0;
            }
        }
        *why = "multipart body without an application/sdp part";
        return 415;
    }
    *why = "unsupported body type";
    return 415;
}

int sip_guard_media(const sip_t *sip, struct sdp_media *media, bool *has_media, char *warn,
                    size_t warnlen)
{
    *has_media = false;
    su_home_t *home = su_home_new(sizeof(su_home_t));
    if (!home) {
        snprintf(warn, warnlen, "out of memory");
        return 500;
    }
    const char *sdp, *why = "";
    size_t len;
    int status = find_sdp(home, sip, &sdp, &len, &why);
    if (status == 0 && sdp) {
        status = sdp_negotiate(sdp, len, media, warn, warnlen);
        *has_media = status == SDP_OK;
    } else if (status) {
        snprintf(warn, warnlen, "%s", why);
    }
    su_home_unref(home);
    return status;
}
