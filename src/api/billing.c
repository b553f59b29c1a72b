/* Prepaid billing (SPEC 7 and 8): recharges, balances, monthly statements, and the operator's
 * billing clock when vcsd runs with --fake-clock. */
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "api/api_internal.h"
#include "billing/bclock.h"
#include "billing/billing.h"
#include "billing/calendar.h"
#include "core/clock.h"

#define MAX_RECHARGE_FEN INT64_C(1000000000000) /* 10^10 CNY */
#define MAX_NOTE 256
#define MAX_ADVANCE_S (INT64_C(3660) * 86400)   /* ten years */

/* A customer's own account only: another's is not found, never forbidden. */
static bool reachable(const struct api_call *c, const char *account)
{
    return c->operator || strcmp(account, c->account) == 0;
}

void api_recharges_create(struct api_call *c, struct api_reply *r)
{
    json_int_t amount = json_integer_value(json_object_get(c->body, "amount_fen"));
    const char *note = json_string_value(json_object_get(c->body, "note"));
    if (amount < 1 || amount > MAX_RECHARGE_FEN) {
        api_reply_error(r, 400, "bad_request", "amount_fen must be from 1 to 10^12");
        return;
    }
    if (note && strlen(note) > MAX_NOTE) {
        api_reply_error(r, 400, "bad_request", "note must be at most %d bytes", MAX_NOTE);
        return;
    }
    json_t *out = NULL;
    enum iam_rc rc = billing_recharge(c->api->ops.billing, api_param(c, "name"), amount, note,
                                      &out);
    if (rc == IAM_OK)
        api_reply_json(r, 201, out);
    else
        api_reply_store(r, rc, "account");
}

void api_balance_get(struct api_call *c, struct api_reply *r)
{
    const char *name = api_param(c, "name");
    json_t *out = NULL;
    enum iam_rc rc = reachable(c, name) ? billing_balance(c->api->ops.billing, name, &out)
                                        : IAM_NOT_FOUND;
    api_reply_result(r, rc, out, "account");
}

/* ?month=YYYY-MM, the billing clock's month when absent. */
void api_statements_get(struct api_call *c, struct api_reply *r)
{
    const char *name = api_param(c, "name");
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req));
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    if (q && evhttp_parse_query_str(q, &args) != 0) {
        api_reply_error(r, 400, "bad_request", "the query string cannot be parsed");
        return;
    }
    char month[16];
    const char *m = evhttp_find_header(&args, "month");
    int64_t start, end;
    if (m && cal_month_parse(m, &start, &end) != 0) {
        api_reply_error(r, 400, "bad_request", "month must be YYYY-MM");
    } else if (!reachable(c, name)) {
        api_reply_store(r, IAM_NOT_FOUND, "account");
    } else {
        if (m)
            snprintf(month, sizeof month, "%s", m);
        else
            cal_month_name(bclock_now_ms(), month);
        json_t *out = NULL;
        enum iam_rc rc = billing_statement(c->api->ops.billing, name, month, &out);
        api_reply_result(r, rc, out, "account");
    }
    evhttp_clear_headers(&args);
}

void api_clock_set(struct api_call *c, struct api_reply *r)
{
    const char *now = json_string_value(json_object_get(c->body, "now"));
    json_t *adv = json_object_get(c->body, "advance_s");
    int64_t to;
    if (!bclock_is_fake()) {
        api_reply_error(r, 409, "conflict", "the billing clock is the wall clock: start vcsd "
                                            "with --fake-clock to move it");
        return;
    }
    if (!now == !adv) {
        api_reply_error(r, 400, "bad_request", "give either now or advance_s");
        return;
    }
    if (now && (iso8601_parse_ms(now, &to) != 0 || to < 0)) {
        api_reply_error(r, 400, "bad_request",
                        "now must be ISO-8601 UTC with milliseconds, 2027-01-31T00:00:00.000Z");
        return;
    }
    if (adv) {
        json_int_t s = json_integer_value(adv);
        if (s < 0 || s > MAX_ADVANCE_S) {
            api_reply_error(r, 400, "bad_request", "advance_s must be from 0 to %lld",
                            (long long)MAX_ADVANCE_S);
            return;
        }
        to = bclock_now_ms() + s * 1000;
    }
    bclock_set(to);
    billing_run(c->api->ops.billing); /* what fell due in the jump, at once */
    char iso[ISO8601_LEN];
    iso8601_ms(bclock_now_ms(), iso);
    api_reply_json(r, 200, json_pack("{s:s,s:b}", "now", iso, "fake", 1));
}
