/* What vcsd checks in a parsed SIP request before acting on it: pure functions over Sofia's
 * sip_t (no stack, no I/O, no threads), so that the fuzz harness runs the code vcsd runs.
 * Each returns 0, or the SIP status to answer with and a short reason for a Warning header
 * (printable ASCII without quotes). */
#ifndef VCS_SIP_GUARD_H
#define VCS_SIP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include <sofia-sip/sip.h>

#include "sip/sdp.h"

/* What RFC 3261 8.2 refuses whatever the method: a line in the header that is not a header
 * (an empty name: 400), a body in a Content-Encoding other than identity (415, 8.2.3). */
int sip_guard_request(const sip_t *sip, const char **why);

/* The SDP of a request (an INVITE's offer, an ACK's answer): application/sdp or the SDP part
 * of a multipart body, negotiated with sdp_negotiate(). *has_media tells whether there was an
 * offer; *media is filled only then. 400/415 for bodies we cannot read, 400/488 from
 * sdp_negotiate(). */
int sip_guard_media(const sip_t *sip, struct sdp_media *media, bool *has_media, char *warn,
                    size_t warnlen);

/* The encodings we decode, for Accept-Encoding in a 415. */
#define SIP_GUARD_ACCEPT_ENCODING "identity"

#endif
