/* What the API's files share: the server, one request being served, the answer a handler
 * gives, and the route table (routes.c) from which the dispatcher (http_api.c), the
 * authorization check, /v1/openapi.json (openapi.c) and the policy-matrix test all derive. */
#ifndef VCS_API_INTERNAL_H
#define VCS_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/http.h>
#include <jansson.h>

#include "api/http_api.h"
#include "iam/policy.h"

struct iam_store;

struct api_server {
    struct evhttp *http;
    struct store *st;
    struct iam_store *iam;
    struct api_ops ops;
};

#define API_MAX_PARAMS 4
#define API_PARAM_MAX 128
#define API_LIMIT_DEFAULT 50
#define API_LIMIT_MAX 1000
/* The operator account; its main user is the operator (SPEC 8). */
#define API_OPERATOR_ACCOUNT "admin"

struct api_param {
    const char *name; /* points into the route's pattern, not terminated at '}' */
    size_t name_len;
    char value[API_PARAM_MAX + 1];
};

/* One authenticated request that passed authorization and body checks. */
struct api_call {
    struct api_server *api;
    struct evhttp_request *req;
    const struct api_route *route;
    const char *account; /* the caller's account and user */
    const char *user;
    /* The account acted on: the caller's, or the one the operator names with ?account= on an
     * API_OPERATOR_AS route. */
    const char *scope;
    char scope_buf[API_PARAM_MAX + 1];
    bool operator;
    json_t *body;        /* a JSON object matching the route's fields, or NULL (no body) */
    struct api_param params[API_MAX_PARAMS];
    size_t n_params;
    int limit;           /* lists: ?limit= (default 50, 1..1000) and ?after= ("" = start) */
    char after[API_PARAM_MAX + 1];
};

/* A handler's answer: JSON (owned) or text (owned, with its type); status 0 = 500. */
struct api_reply {
    int status;
    json_t *json;
    struct evbuffer *text;
    const char *content_type;
    bool streamed; /* the handler started the reply itself (evhttp_send_reply_start) */
};

typedef void (*api_handler)(struct api_call *c, struct api_reply *r);

enum {
    API_CREATES = 1 << 0,     /* a creating POST: Idempotency-Key honoured */
    API_LIST = 1 << 1,        /* {"items", "next"} with ?limit= and ?after= */
    API_ANY_ACCOUNT = 1 << 2, /* the operator reaches every account's resources */
    API_CSV = 1 << 3,         /* the body is text/csv, read by the handler itself */
    API_OPERATOR_AS = 1 << 4, /* the operator may act on another account with ?account= */
};

struct api_field {
    const char *name;
    const char *type; /* JSON Schema type: string, integer, array, object, boolean */
    bool required;
    const char *description;
};

struct api_route {
    enum evhttp_cmd_type method;
    const char *pattern;  /* "/v1/users/{name}/tokens/{id}" */
    api_handler handler;
    const char *action;   /* IAM action needed; NULL: any authenticated caller */
    const char *resource; /* "user:{name}"; "user:*" for lists and creations */
    unsigned flags;
    int status;           /* the status of success */
    const char *summary;
    const struct api_field *fields; /* the JSON body's fields, {NULL}-terminated; NULL: none */
};

extern const struct api_route api_routes[];
extern const size_t api_n_routes;

const char *api_method_name(enum evhttp_cmd_type m);
/* Matches a raw (percent-encoded) path against a pattern, decoding the {params} into c. */
bool api_route_match(const struct api_route *r, const char *path, struct api_call *c);
/* The value of a path parameter ("" when the route has none of that name). */
const char *api_param(const struct api_call *c, const char *name);
/* The route's resource with its {params} filled in. */
void api_resource(const struct api_call *c, char *out, size_t outlen);

/* Handler helpers (reply.c). */
void api_reply_json(struct api_reply *r, int status, json_t *obj);
void api_reply_error(struct api_reply *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A JSON string from text that may not be valid UTF-8 (bytes >= 0x80 become '?'). */
json_t *api_json_text(const char *s);
/* The answer for a failed store call: 404, 409 or 500 with the given messages. */
void api_reply_store(struct api_reply *r, int iam_rc, const char *what);
/* 200 with obj (stolen) when rc is IAM_OK, else as api_reply_store. */
void api_reply_result(struct api_reply *r, int iam_rc, json_t *obj, const char *what);
/* 204 when rc is IAM_OK, else as api_reply_store. */
void api_reply_done(struct api_reply *r, int iam_rc, const char *what);

/* The text/csv body of an API_CSV route (n bytes, no NUL in them); NULL after a 400 or 500. */
const char *api_csv_body(struct api_call *c, struct api_reply *r, size_t *len);

/* The body's "name" when it is a valid account, user or policy name; NULL after a 400. */
const char *api_body_name(struct api_call *c, struct api_reply *r);


/* /v1/openapi.json from the route table. */
json_t *api_openapi(void);

/* Handlers, one file per resource. */
void api_health(struct api_call *c, struct api_reply *r);
void api_reload(struct api_call *c, struct api_reply *r);
void api_metrics(struct api_call *c, struct api_reply *r);
void api_openapi_get(struct api_call *c, struct api_reply *r);
void api_accounts_create(struct api_call *c, struct api_reply *r);
void api_accounts_list(struct api_call *c, struct api_reply *r);
void api_accounts_get(struct api_call *c, struct api_reply *r);
void api_users_list(struct api_call *c, struct api_reply *r);
void api_users_create(struct api_call *c, struct api_reply *r);
void api_users_delete(struct api_call *c, struct api_reply *r);
void api_tokens_create(struct api_call *c, struct api_reply *r);
void api_tokens_delete(struct api_call *c, struct api_reply *r);
void api_user_policies_attach(struct api_call *c, struct api_reply *r);
void api_user_policies_detach(struct api_call *c, struct api_reply *r);
void api_policies_list(struct api_call *c, struct api_reply *r);
void api_policies_create(struct api_call *c, struct api_reply *r);
void api_policies_delete(struct api_call *c, struct api_reply *r);
void api_audit_list(struct api_call *c, struct api_reply *r);
void api_numbers_import(struct api_call *c, struct api_reply *r);
void api_numbers_list(struct api_call *c, struct api_reply *r);
void api_numbers_get(struct api_call *c, struct api_reply *r);
void api_numbers_update(struct api_call *c, struct api_reply *r);
void api_numbers_release(struct api_call *c, struct api_reply *r);
void api_orders_create(struct api_call *c, struct api_reply *r);
void api_orders_list(struct api_call *c, struct api_reply *r);
void api_orders_approve(struct api_call *c, struct api_reply *r);
void api_orders_reject(struct api_call *c, struct api_reply *r);
void api_calls_create(struct api_call *c, struct api_reply *r);
void api_calls_list(struct api_call *c, struct api_reply *r);
void api_calls_get(struct api_call *c, struct api_reply *r);
void api_calls_hangup(struct api_call *c, struct api_reply *r);
void api_trunks_create(struct api_call *c, struct api_reply *r);
void api_trunks_list(struct api_call *c, struct api_reply *r);
void api_trunks_get(struct api_call *c, struct api_reply *r);
void api_trunks_update(struct api_call *c, struct api_reply *r);
void api_trunks_delete(struct api_call *c, struct api_reply *r);
void api_gateways_list(struct api_call *c, struct api_reply *r);
void api_cdrs_list(struct api_call *c, struct api_reply *r);
void api_recordings_get(struct api_call *c, struct api_reply *r);
void api_recordings_delete(struct api_call *c, struct api_reply *r);
void api_webhooks_list(struct api_call *c, struct api_reply *r);
void api_webhooks_create(struct api_call *c, struct api_reply *r);
void api_webhooks_delete(struct api_call *c, struct api_reply *r);
void api_webhooks_deliveries(struct api_call *c, struct api_reply *r);
void api_campaigns_create(struct api_call *c, struct api_reply *r);
void api_campaigns_list(struct api_call *c, struct api_reply *r);
void api_campaigns_get(struct api_call *c, struct api_reply *r);
void api_campaigns_callees(struct api_call *c, struct api_reply *r);
void api_campaigns_start(struct api_call *c, struct api_reply *r);
void api_campaigns_pause(struct api_call *c, struct api_reply *r);
void api_campaigns_resume(struct api_call *c, struct api_reply *r);
void api_campaigns_cancel(struct api_call *c, struct api_reply *r);
void api_campaigns_results(struct api_call *c, struct api_reply *r);
void api_dnc_list(struct api_call *c, struct api_reply *r);
void api_dnc_add(struct api_call *c, struct api_reply *r);
void api_dnc_delete(struct api_call *c, struct api_reply *r);
void api_recharges_create(struct api_call *c, struct api_reply *r);
void api_balance_get(struct api_call *c, struct api_reply *r);
void api_statements_get(struct api_call *c, struct api_reply *r);
void api_clock_set(struct api_call *c, struct api_reply *r);
void api_regions_import(struct api_call *c, struct api_reply *r);

#endif
