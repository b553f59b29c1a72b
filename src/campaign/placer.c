/* The dialer's placer on originate (see placer.h). */
#include "campaign/placer.h"

#include <jansson.h>

#include "call/engine.h"
#include "call/originate.h"
#include "core/log.h"
#include "events/events.h"

enum dialer_placed campaign_place(void *ctx, const struct dialer_call *call, char *id, size_t idlen)
{
    json_t *vars = json_loads(call->vars_json, 0, NULL);
    json_t *body = json_pack("{s:s,s:s,s:s,s:i,s:o}", "to", call->number, "from", call->caller_id,
                             "script", call->script, "timeout_s", call->ring_timeout_s, "vars",
                             vars ? vars : json_object());
    char err[256] = "";
    int status = body ? originate_campaign_json(ctx, call->account, body, call->campaign_id, id,
                                                idlen, err, sizeof err)
                      : 500;
    json_decref(body);
    if (status == 0)
        return DIALER_PLACED;
    log_warn("campaign %lld: call to %s not placed (%d): %s", (long long)call->campaign_id,
             call->number, status, err[0] ? err : "out of memory");
    /* 503 draining, 409 no number free for "auto", 500 out of memory: not the callee's fault */
    return status == 503 || status == 409 || status == 500 ? DIALER_LATER : DIALER_FAILED;
}

void campaign_completed(void *ctx, int64_t campaign_id, const char *account, json_t *campaign)
{
    (void)ctx, (void)campaign_id;
    events_emit(account, "campaign.completed", campaign);
}
