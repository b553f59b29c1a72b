/* The dialer's placer (dialer.h) on the engine's outbound legs: one attempt is one
 * originate (SPEC 5.2) of the campaign's script to the callee's number through the carrier
 * gateways, with the attempt's vars and ring timeout, its CDR row carrying campaign_id. A
 * server that is draining, or "auto" without a free number of the account, is "later"; any
 * other request the engine refuses (no gateway, no such script, a caller ID that is not the
 * account's) fails the attempt, with the reason logged. A completed campaign is the
 * campaign.completed event (SPEC 10) of its account, its data the campaign with its counts. */
#ifndef VCS_CAMPAIGN_PLACER_H
#define VCS_CAMPAIGN_PLACER_H

#include <stddef.h>

#include "campaign/dialer.h"

/* ctx: the struct engine. */
enum dialer_placed campaign_place(void *ctx, const struct dialer_call *call, char *id, size_t idlen);
/* The dialer's completed hook: emits campaign.completed with the campaign (stolen). */
void campaign_completed(void *ctx, int64_t campaign_id, const char *account, json_t *campaign);

#endif
