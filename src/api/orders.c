/* Orders for numbers (SPEC 7 and 8): by list or by region/type/count, approved or rejected by
 * the operator. */
#include <stdbool.h>
#include <string.h>

#include "api/api_internal.h"
#include "billing/billing.h"
#include "events/events.h"
#include "store/inventory.h"

#define MAX_ORDER 1000

static void answer(struct api_reply *r, enum iam_rc rc, json_t *order, const char *msg,
                   int status)
{
    if (rc == IAM_OK) {
        api_reply_json(r, status, order);
        return;
    }
    json_decref(order);
    if (rc == IAM_IN_USE)
        api_reply_error(r, 409, "conflict", "%s", msg);
    else if (rc == IAM_NOT_FOUND && msg[0])
        api_reply_error(r, 404, "not_found", "%s", msg);
    else
        api_reply_store(r, rc, "order");
}

void api_orders_create(struct api_call *c, struct api_reply *r)
{
    json_t *numbers = json_object_get(c->body, "numbers");
    const char *region = json_string_value(json_object_get(c->body, "region"));
    const char *type = json_string_value(json_object_get(c->body, "type"));
    json_t *count = json_object_get(c->body, "count");
    if (numbers ? region || type || count : !region || !type || !count) {
        api_reply_error(r, 400, "bad_request",
                        "order either {\"numbers\": [...]} or {\"region\", \"type\", \"count\"}");
        return;
    }
    size_t n = numbers ? json_array_size(numbers) : (size_t)json_integer_value(count);
    if (!numbers && (json_integer_value(count) < 1 || json_integer_value(count) > MAX_ORDER)) {
        api_reply_error(r, 400, "bad_request", "count must be from 1 to %d", MAX_ORDER);
        return;
    }
    if (numbers && (n == 0 || n > MAX_ORDER)) {
        api_reply_error(r, 400, "bad_request", "numbers must list 1 to %d numbers", MAX_ORDER);
        return;
    }
    for (size_t i = 0; numbers && i < n; i++) {
        const char *num = json_string_value(json_array_get(numbers, i));
        for (size_t k = 0; num && k < i; k++) {
            if (strcmp(num, json_string_value(json_array_get(numbers, k))) == 0)
                num = NULL;
        }
        if (!inv_number_valid(num)) {
            api_reply_error(r, 400, "bad_request",
                            "numbers[%zu] must be a distinct E.164 number", i);
            return;
        }
    }
    if (type && strcmp(type, "fixed") != 0 && strcmp(type, "mobile") != 0) {
        api_reply_error(r, 400, "bad_request", "type must be fixed or mobile");
        return;
    }
    json_t *order = NULL;
    char msg[256] = "";
    enum iam_rc rc = inv_order_create(iam_store_db(c->api->iam), c->scope, numbers, region,
                                      type, numbers ? 0 : json_integer_value(count), &order, msg,
                                      sizeof msg);
    answer(r, rc, order, msg, 201);
}

void api_orders_list(struct api_call *c, struct api_reply *r)
{
    if (c->after[0] && strspn(c->after, "0123456789") != strlen(c->after)) {
        api_reply_error(r, 400, "bad_request", "after: not a cursor this server gave");
        return;
    }
    json_t *pg = NULL;
    enum iam_rc rc = inv_order_list(iam_store_db(c->api->iam), c->operator ? NULL : c->account,
                                    c->after[0] ? c->after : NULL, c->limit, &pg);
    api_reply_result(r, rc, pg, "orders");
}

static void decide(struct api_call *c, struct api_reply *r, bool approve)
{
    json_t *order = NULL;
    char msg[256] = "";
    const char *reason = json_string_value(json_object_get(c->body, "reason"));
    enum iam_rc rc = inv_order_decide(iam_store_db(c->api->iam), api_param(c, "id"), approve,
                                      reason, &order, msg, sizeof msg);
    if (rc == IAM_OK)
        events_emit(json_string_value(json_object_get(order, "account")),
                    approve ? "order.approved" : "order.rejected", json_deep_copy(order));
    if (rc == IAM_OK && approve)
        billing_run(c->api->ops.billing); /* rent is charged from the day of issue */
    answer(r, rc, order, msg, 200);
}

void api_orders_approve(struct api_call *c, struct api_reply *r)
{
    decide(c, r, true);
}

void api_orders_reject(struct api_call *c, struct api_reply *r)
{
    decide(c, r, false);
}
