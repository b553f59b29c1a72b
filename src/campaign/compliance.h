/* Who may not be called (SPEC 9), for campaigns and POST /v1/calls alike: a number on the
 * account's or the operator's global do-not-call list, or a number that already answered the
 * frequency caps' worth of the account's outbound calls (since 00:00 UTC today, since Monday
 * 00:00 UTC this week; campaigns and originate counted together, from the CDR table). */
#ifndef VCS_CAMPAIGN_COMPLIANCE_H
#define VCS_CAMPAIGN_COMPLIANCE_H

#include <stdint.h>

#include <sqlite3.h>

enum compliance { COMPLIANCE_OK = 0, COMPLIANCE_DNC, COMPLIANCE_CAP };

/* On db (vcs.db) at wall-clock time now_ms; a cap of 0 is no cap. */
enum compliance compliance_check(sqlite3 *db, const char *account, const char *number,
                                 int day_cap, int week_cap, int64_t now_ms);

#endif
