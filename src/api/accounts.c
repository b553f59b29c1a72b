/* Customer accounts (SPEC 7 and 8): created by the operator with their main user. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "billing/billing.h"
#include "store/iam.h"

/* A non-negative integer field, or its default when absent; -1 (with the answer) when bad. */
static int money_field(struct api_call *c, struct api_reply *r, const char *name, int64_t def,
                       int64_t *out)
{
    json_t *v = json_object_get(c->body, name);
    *out = v ? json_integer_value(v) : def;
    if (*out < 0 || *out > INT64_C(1000000000000)) {
        api_reply_error(r, 400, "bad_request", "%s must be from 0 to 10^12", name);
        return -1;
    }
    return 0;
}

void api_accounts_create(struct api_call *c, struct api_reply *r)
{
    const char *name = api_body_name(c, r);
    if (!name)
        return;
    struct iam_account_terms t;
    if (money_field(c, r, "rate_fen_per_minute", 20, &t.rate_fen_per_minute) != 0 ||
        money_field(c, r, "rent_fen_per_month", 1500, &t.rent_fen_per_month) != 0 ||
        money_field(c, r, "low_balance_fen", 0, &t.low_balance_fen) != 0 ||
        money_field(c, r, "max_calls", 0, &t.max_calls) != 0)
        return;
    if (!json_object_get(c->body, "max_calls"))
        t.max_calls = -1;
    char token[IAM_TOKEN_LEN + 1], id[IAM_TOKEN_ID_LEN + 1];
    enum iam_rc rc = iam_account_create(c->api->iam, name, &t, token, id);
    if (rc != IAM_OK) {
        api_reply_store(r, rc, "account");
        return;
    }
    billing_run(c->api->ops.billing); /* its max_calls holds from its first call */
    api_reply_json(r, 201, json_pack("{s:s,s:s,s:s,s:s}", "name", name, "user", name,
                                     "token_id", id, "token", token));
}

void api_accounts_list(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    enum iam_rc rc = iam_account_list(c->api->iam, c->after, c->limit, &pg);
    api_reply_result(r, rc, pg, "accounts");
}

void api_accounts_get(struct api_call *c, struct api_reply *r)
{
    const char *name = api_param(c, "name");
    json_t *a = NULL;
    /* A customer's own account only: another's is not found, never forbidden. */
    enum iam_rc rc = c->operator || strcmp(name, c->account) == 0
                         ? iam_account_get(c->api->iam, name, &a)
                         : IAM_NOT_FOUND;
    api_reply_result(r, rc, a, "account");
}
