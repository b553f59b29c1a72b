/* Numbers (SPEC 7 and 8): import by the operator, inventory search, the caller's numbers,
 * binding to a script or a trunk, release. */
#include <string.h>

#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "api/api_internal.h"
#include "billing/billing.h"
#include "store/inventory.h"

/* The operator acts on every account's numbers. */
static const char *scope(const struct api_call *c)
{
    return c->operator ? NULL : c->account;
}

void api_numbers_import(struct api_call *c, struct api_reply *r)
{
    size_t n;
    const char *csv = api_csv_body(c, r, &n);
    if (!csv)
        return;
    json_t *result = NULL;
    enum iam_rc rc = inv_import(iam_store_db(c->api->iam), csv, n, &result);
    api_reply_result(r, rc, result, "numbers");
}

/* ?available=true&region=&type= */
static int parse_search(struct api_call *c, struct api_reply *r, struct evkeyvalq *args,
                        struct inv_search *q)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req));
    TAILQ_INIT(args);
    if (query && evhttp_parse_query_str(query, args) != 0) {
        api_reply_error(r, 400, "bad_request", "the query string cannot be parsed");
        return -1;
    }
    const char *avail = evhttp_find_header(args, "available");
    if (avail && strcmp(avail, "true") != 0 && strcmp(avail, "false") != 0) {
        api_reply_error(r, 400, "bad_request", "available must be true or false");
        return -1;
    }
    q->available = avail && strcmp(avail, "true") == 0;
    q->region = evhttp_find_header(args, "region");
    q->type = evhttp_find_header(args, "type");
    return 0;
}

void api_numbers_list(struct api_call *c, struct api_reply *r)
{
    struct evkeyvalq args;
    struct inv_search q;
    if (parse_search(c, r, &args, &q) == 0) {
        json_t *pg = NULL;
        enum iam_rc rc = inv_numbers_list(iam_store_db(c->api->iam), scope(c), &q, c->after,
                                          c->limit, &pg);
        api_reply_result(r, rc, pg, "numbers");
    }
    evhttp_clear_headers(&args);
}

void api_numbers_get(struct api_call *c, struct api_reply *r)
{
    json_t *n = NULL;
    enum iam_rc rc = inv_number_get(iam_store_db(c->api->iam), scope(c), api_param(c, "number"),
                                     &n);
    api_reply_result(r, rc, n, "number");
}

/* After a change, the number as it now is; a refused move is 409 naming both states. */
static void changed(struct api_call *c, struct api_reply *r, enum iam_rc rc, const char *msg)
{
    if (rc == IAM_IN_USE) {
        api_reply_error(r, 409, "conflict", "%s", msg);
        return;
    }
    if (rc != IAM_OK) {
        api_reply_store(r, rc, "number");
        return;
    }
    api_numbers_get(c, r);
}

void api_numbers_update(struct api_call *c, struct api_reply *r)
{
    json_t *maxc = json_object_get(c->body, "max_concurrent");
    if (maxc && !c->operator) {
        api_reply_error(r, 403, "forbidden", "max_concurrent is set by the operator");
        return;
    }
    if (maxc && (json_integer_value(maxc) < 0 || json_integer_value(maxc) > 10000)) {
        api_reply_error(r, 400, "bad_request", "max_concurrent must be from 0 to 10000");
        return;
    }
    struct inv_update u = {
        .script = json_string_value(json_object_get(c->body, "script")),
        .trunk = json_string_value(json_object_get(c->body, "trunk")),
        .max_concurrent = maxc ? json_integer_value(maxc) : -1,
    };
    if (u.script && u.script[0] && u.trunk && u.trunk[0]) {
        api_reply_error(r, 400, "bad_request", "a number is bound to a script or a trunk");
        return;
    }
    char msg[256] = "";
    changed(c, r, inv_number_update(iam_store_db(c->api->iam), scope(c), api_param(c, "number"),
                                    &u, msg, sizeof msg), msg);
}

void api_numbers_release(struct api_call *c, struct api_reply *r)
{
    char msg[256] = "";
    changed(c, r, billing_release(c->api->ops.billing, scope(c), api_param(c, "number"), msg,
                                  sizeof msg), msg);
}
