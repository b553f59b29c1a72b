/* Who may not be called (SPEC 9), for campaigns, POST /v1/calls and vcs.originate alike: a
 * number on the account's or the operator's global do-not-call list, or a number that already
 * answered the frequency caps' worth of the account's outbound calls (since 00:00 UTC today,
 * since Monday 00:00 UTC this week; campaigns, the API and scripts counted together, from the
 * CDR table). The workers ask through compliance_gate.h, never on their own thread. */
#ifndef VCS_CAMPAIGN_COMPLIANCE_H
#define VCS_CAMPAIGN_COMPLIANCE_H

#include <stdint.h>

#include <sqlite3.h>

enum compliance { COMPLIANCE_OK = 0, COMPLIANCE_DNC, COMPLIANCE_CAP, COMPLIANCE_UNKNOWN };

/* On db (vcs.db) at wall-clock time now_ms; a cap of 0 is no cap. COMPLIANCE_UNKNOWN when the
 * lists or the CDR table could not be read (locked, I/O error): the rules fail closed, so
 * every caller treats it as "not now" (the API 503, the dialer keeps the callee pending,
 * vcs.originate raises), never as leave to call. */
enum compliance compliance_check(sqlite3 *db, const char *account, const char *number,
                                 int day_cap, int week_cap, int64_t now_ms);

/* The error code of a refusal as the API and vcs.originate give it: "dnc", "frequency_cap",
 * "compliance_unavailable" (NULL for COMPLIANCE_OK). */
const char *compliance_code(enum compliance verdict);

/* The callee an outbound target reaches through the carriers, which the rules are about (the
 * CDR's to_number): NUMBER of "gw:NAME/NUMBER", a bare number itself. NULL for a sip: URI
 * (no list holds one), for "trunk:NAME/NUMBER" (the account's own PBX: an extension, not a
 * member of the public) and for a malformed target. */
const char *compliance_callee(const char *to);

#endif
