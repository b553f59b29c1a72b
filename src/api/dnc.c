/* Do-not-call lists (SPEC 9): each account's, and the operator's global list (the operator's
 * own scope; with ?account= the operator edits that account's list). A number on either list
 * is refused at callee upload and skipped by the dialer. */
#include <string.h>

#include "api/api_internal.h"
#include "store/campaigns.h"
#include "store/inventory.h"

#define MAX_DNC_BATCH 10000

/* "" (the global list) for the operator's own scope. */
static const char *list_of(const struct api_call *c)
{
    return strcmp(c->scope, API_OPERATOR_ACCOUNT) == 0 ? "" : c->scope;
}

void api_dnc_list(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    enum iam_rc rc = dnc_list(iam_store_db(c->api->iam), list_of(c), c->after, c->limit, &pg);
    api_reply_result(r, rc, pg, "dnc");
}

void api_dnc_add(struct api_call *c, struct api_reply *r)
{
    json_t *numbers = json_object_get(c->body, "numbers");
    size_t n = json_array_size(numbers);
    if (n == 0 || n > MAX_DNC_BATCH) {
        api_reply_error(r, 400, "bad_request", "numbers must list 1 to %d numbers", MAX_DNC_BATCH);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!inv_number_valid(json_string_value(json_array_get(numbers, i)))) {
            api_reply_error(r, 400, "bad_request", "numbers[%zu] must be an E.164 number", i);
            return;
        }
    }
    json_t *out = NULL;
    enum iam_rc rc = dnc_add(iam_store_db(c->api->iam), list_of(c), numbers, &out);
    api_reply_result(r, rc, out, "dnc");
}

void api_dnc_delete(struct api_call *c, struct api_reply *r)
{
    api_reply_done(r, dnc_delete(iam_store_db(c->api->iam), list_of(c), api_param(c, "number")),
                   "dnc number");
}
