/* Users of the caller's account (SPEC 8): the main user and its sub-users. */
#include "api/api_internal.h"
#include "store/iam.h"

void api_users_list(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    enum iam_rc rc = iam_user_list(c->api->iam, c->scope, c->after, c->limit, &pg);
    api_reply_result(r, rc, pg, "users");
}

void api_users_create(struct api_call *c, struct api_reply *r)
{
    const char *name = api_body_name(c, r);
    if (!name)
        return;
    enum iam_rc rc = iam_user_create(c->api->iam, c->scope, name);
    if (rc != IAM_OK)
        api_reply_store(r, rc, "user");
    else
        api_reply_json(r, 201, json_pack("{s:s,s:b,s:[]}", "name", name, "main", 0, "policies"));
}

void api_users_delete(struct api_call *c, struct api_reply *r)
{
    enum iam_rc rc = iam_user_delete(c->api->iam, c->scope, api_param(c, "name"));
    if (rc == IAM_IN_USE)
        api_reply_error(r, 409, "conflict", "the main user goes only with its account");
    else
        api_reply_done(r, rc, "user");
}
