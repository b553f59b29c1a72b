/* Policies (SPEC 8): the two system ones and the account's custom ones, never edited. */
#include <string.h>

#include "api/api_internal.h"
#include "iam/policy_doc.h"
#include "store/iam.h"

void api_policies_list(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    enum iam_rc rc = iam_policy_list(c->api->iam, c->scope, c->after, c->limit, &pg);
    api_reply_result(r, rc, pg, "policies");
}

void api_policies_create(struct api_call *c, struct api_reply *r)
{
    const char *name = api_body_name(c, r);
    json_t *statements = json_object_get(c->body, "statements");
    if (!name)
        return;
    char err[256];
    struct iam_doc *d = iam_doc_parse(name, statements, err, sizeof err);
    if (!d) {
        api_reply_error(r, 400, "bad_request", "%s", err);
        return;
    }
    iam_doc_free(d);
    enum iam_rc rc = iam_policy_create(c->api->iam, c->scope, name, statements);
    if (rc != IAM_OK) {
        api_reply_store(r, rc, "policy");
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s,s:b,s:O}", "name", name, "system", 0, "statements",
                                     statements));
}

void api_policies_delete(struct api_call *c, struct api_reply *r)
{
    const char *name = api_param(c, "name");
    enum iam_rc rc = iam_policy_delete(c->api->iam, c->scope, name);
    if (rc == IAM_IN_USE)
        api_reply_error(r, 409, "conflict", "policy %s is attached to users: detach it first",
                        name);
    else
        api_reply_done(r, rc, "policy");
}
