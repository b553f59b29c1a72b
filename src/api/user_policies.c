/* Attaching policies to sub-users and detaching them (SPEC 8). */
#include "api/api_internal.h"
#include "store/iam.h"

void api_user_policies_attach(struct api_call *c, struct api_reply *r)
{
    const char *user = api_param(c, "name");
    const char *policy = json_string_value(json_object_get(c->body, "policy"));
    enum iam_rc rc = iam_policy_attach(c->api->iam, c->scope, user, policy);
    if (rc == IAM_IN_USE) {
        api_reply_error(r, 409, "conflict", "%s is the main user: it has every right already",
                        user);
        return;
    }
    if (rc != IAM_OK && rc != IAM_EXISTS) {
        api_reply_store(r, rc, "user or policy");
        return;
    }
    api_reply_json(r, rc == IAM_OK ? 201 : 200,
                   json_pack("{s:s,s:s}", "user", user, "policy", policy));
}

void api_user_policies_detach(struct api_call *c, struct api_reply *r)
{
    api_reply_done(r, iam_policy_detach(c->api->iam, c->scope, api_param(c, "name"),
                                        api_param(c, "policy")), "attachment");
}
