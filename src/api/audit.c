/* The audit log (SPEC 8): every write and every denial; the operator reads every account's. */
#include <string.h>

#include "api/api_internal.h"
#include "store/iam.h"

void api_audit_list(struct api_call *c, struct api_reply *r)
{
    if (c->after[0] && strspn(c->after, "0123456789") != strlen(c->after)) {
        api_reply_error(r, 400, "bad_request", "after: not a cursor this server gave");
        return;
    }
    json_t *pg = NULL;
    enum iam_rc rc = iam_audit_list(c->api->iam, c->operator ? NULL : c->account,
                                    c->after[0] ? c->after : NULL, c->limit, &pg);
    api_reply_result(r, rc, pg, "audit entries");
}
