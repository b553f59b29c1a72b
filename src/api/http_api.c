/* The management API's server and dispatcher on libevent's evhttp; see http_api.h.
 * Every request goes the same way: authentication (401, so that nothing, not even which paths
 * exist, is revealed without a valid token), route (404, or 405 with Allow), authorization
 * from the route's action and resource (403, audited), list parameters and body checked
 * against the route's declared fields (400, nothing written), Idempotency-Key of creating
 * POSTs, the handler, then the audit entry of every write. Requests that libevent itself
 * rejects before routing (request line or headers unparsable, headers over API_MAX_HEADERS,
 * body over API_MAX_BODY: 413) get libevent's own short HTML error page. */
#include "api/http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/api_body.h"
#include "api/api_internal.h"
#include "core/digest.h"
#include "core/log.h"
#include "iam/policy_doc.h"
#include "numbers/region_dir.h"
#include "store/iam.h"
#include "store/regions_db.h"
#include "store/store.h"

#define API_MAX_BODY (1024 * 1024)
#define API_MAX_HEADERS (16 * 1024)
/* Idle and slow clients are dropped after this; answers themselves are produced synchronously. */
#define API_TIMEOUT_S 60
/* Real tokens are short; a longer one is rejected without a database lookup. */
#define API_MAX_TOKEN 256
#define API_NAME_LEN 64
#define API_MAX_IDEM_KEY 128

static void send_reply(struct evhttp_request *req, struct api_reply *r)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    int status = r->status ? r->status : 500;
    if (r->text) {
        evhttp_add_header(h, "Content-Type", r->content_type);
        evbuffer_add_buffer(out, r->text);
    } else if (status != 204) {
        char *text = r->json ? json_dumps(r->json, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (text) {
            evbuffer_add(out, text, strlen(text));
            free(text);
        } else {
            status = 500;
            evbuffer_add_printf(out, "{\"error\":{\"code\":\"internal\","
                                     "\"message\":\"out of memory\"}}");
        }
        evbuffer_add(out, "\n", 1); /* so that curl output ends its line */
        evhttp_add_header(h, "Content-Type", "application/json");
    }
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* libevent only knows the phrases of RFC 2616, and would call 422 "Client Error". */
    evhttp_send_reply(req, status, status == 422 ? "Unprocessable Entity" : NULL, NULL);
}

static void reply_free(struct api_reply *r)
{
    json_decref(r->json);
    if (r->text)
        evbuffer_free(r->text);
}

static void send_error_now(struct evhttp_request *req, int status, const char *code,
                           const char *msg)
{
    struct api_reply r = { 0 };
    api_reply_error(&r, status, code, "%s", msg);
    send_reply(req, &r);
    reply_free(&r);
}

static const char *peer_address(struct evhttp_request *req)
{
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
    return addr ? addr : "?";
}

/* 0 with account and user filled, or -1 with *why set to the reason given to the client.
 * "vcs_" tokens are the platform's (store/iam.h); the operator's admin.token is the store's. */
static int authenticate(struct api_server *api, struct evhttp_request *req, char *account,
                        char *user, const char **why)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h) {
        *why = "missing Authorization: Bearer <token> header";
        return -1;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        *why = "Authorization header must be \"Bearer <token>\"";
        return -1;
    }
    const char *tok = h + 6;
    while (*tok == ' ' || *tok == '\t')
        tok++;
    size_t len = strlen(tok);
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    char token[API_MAX_TOKEN + 1];
    *why = "invalid token";
    if (len == 0 || len > API_MAX_TOKEN)
        return -1;
    memcpy(token, tok, len);
    token[len] = '\0';
    if (strncmp(token, "vcs_", 4) == 0)
        return iam_token_auth(api->iam, token, account, API_NAME_LEN, user, API_NAME_LEN) ==
                       IAM_OK ? 0 : -1;
    if (store_auth_token(api->st, token, account, API_NAME_LEN) != 0)
        return -1;
    memcpy(user, account, strlen(account) + 1); /* such tokens are the main user's */
    return 0;
}

/* The policies of a sub-user, parsed for the matcher; NULL docs when it has none. */
struct principal {
    struct iam_principal p;
    struct iam_doc **docs;
    const struct iam_policy **policies;
};

static void principal_free(struct principal *pr)
{
    for (size_t i = 0; pr->docs && i < pr->p.n_policies; i++)
        iam_doc_free(pr->docs[i]);
    free(pr->docs);
    free(pr->policies);
}

static int principal_load(struct api_server *api, const struct api_call *c, struct principal *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->p.main = strcmp(c->user, c->account) == 0;
    pr->p.operator = pr->p.main && strcmp(c->account, API_OPERATOR_ACCOUNT) == 0;
    if (pr->p.main)
        return 0;
    json_t *list = NULL;
    if (iam_user_policy_docs(api->iam, c->account, c->user, &list) != IAM_OK)
        return -1;
    size_t n = json_array_size(list);
    pr->docs = calloc(n ? n : 1, sizeof *pr->docs);
    pr->policies = calloc(n ? n : 1, sizeof *pr->policies);
    if (!pr->docs || !pr->policies) {
        json_decref(list);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(list, i);
        const char *name = json_string_value(json_object_get(item, "name"));
        char err[256];
        struct iam_doc *d = iam_doc_parse(name, json_object_get(item, "statements"), err,
                                          sizeof err);
        if (!d) {
            /* Stored documents were checked on creation: this one grants nothing. */
            log_error("api: policy %s of %s/%s unreadable: %s", name ? name : "?", c->account,
                      c->user, err);
            continue;
        }
        pr->docs[pr->p.n_policies] = d;
        pr->policies[pr->p.n_policies++] = iam_doc_policy(d);
    }
    pr->p.policies = pr->policies;
    json_decref(list);
    return 0;
}

/* 0 with *out an object or NULL (empty body), or -1 with err filled. */
static int parse_body(struct evhttp_request *req, json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n == 0)
        return 0;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
    if (!p) {
        snprintf(err, errlen, "out of memory reading the body");
        return -1;
    }
    return api_body_parse(p, n, out, err, errlen);
}

static bool type_is(json_t *v, const char *type)
{
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    return json_is_object(v);
}

/* The body against the route's declared fields: unknown, missing or mistyped ones are 400. */
static int check_fields(const struct api_route *r, json_t *body, char *err, size_t errlen)
{
    const struct api_field *fields = r->fields;
    if (!body)
        body = json_object();
    else
        json_incref(body);
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        const struct api_field *f = fields;
        while (f && f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f || !f->name) {
            snprintf(err, errlen, "unknown field \"%.64s\"%s", key,
                     fields && fields->name ? "" : ": this endpoint takes no body");
            rc = -1;
            break;
        }
        if (!type_is(v, f->type)) {
            snprintf(err, errlen, "field \"%s\" must be of type %s", f->name, f->type);
            rc = -1;
            break;
        }
    }
    for (const struct api_field *f = fields; rc == 0 && f && f->name; f++) {
        if (f->required && !json_object_get(body, f->name)) {
            snprintf(err, errlen, "field \"%s\" is required", f->name);
            rc = -1;
        }
    }
    json_decref(body);
    return rc;
}

static int parse_list_query(struct evhttp_request *req, struct api_call *c, char *err,
                            size_t errlen)
{
    c->limit = API_LIMIT_DEFAULT;
    c->after[0] = '\0';
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    if (q && evhttp_parse_query_str(q, &args) != 0) {
        snprintf(err, errlen, "the query string cannot be parsed");
        return -1;
    }
    int rc = 0;
    const char *limit = evhttp_find_header(&args, "limit");
    const char *after = evhttp_find_header(&args, "after");
    if (limit) {
        char *end = NULL;
        long v = strtol(limit, &end, 10);
        if (!*limit || *end || v < 1 || v > API_LIMIT_MAX) {
            snprintf(err, errlen, "limit must be an integer from 1 to %d", API_LIMIT_MAX);
            rc = -1;
        }
        c->limit = (int)v;
    }
    if (rc == 0 && after) {
        if (strlen(after) > API_PARAM_MAX) {
            snprintf(err, errlen, "after: not a cursor this server gave");
            rc = -1;
        } else {
            snprintf(c->after, sizeof c->after, "%s", after);
        }
    }
    evhttp_clear_headers(&args);
    return rc;
}

/* HEAD is served by the GET handler; libevent leaves the body out of the answer. */
static int route_accepts(const struct api_route *r, enum evhttp_cmd_type m)
{
    return r->method == m || (r->method == EVHTTP_REQ_GET && m == EVHTTP_REQ_HEAD);
}

static void send_method_not_allowed(struct evhttp_request *req, const char *path,
                                    enum evhttp_cmd_type m)
{
    char allow[128] = "";
    static const enum evhttp_cmd_type all[] = { EVHTTP_REQ_GET, EVHTTP_REQ_HEAD,
                                                EVHTTP_REQ_POST, EVHTTP_REQ_PATCH,
                                                EVHTTP_REQ_DELETE };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        for (size_t k = 0; k < api_n_routes; k++) {
            struct api_call scratch;
            if (route_accepts(&api_routes[k], all[i]) &&
                api_route_match(&api_routes[k], path, &scratch)) {
                if (allow[0])
                    strncat(allow, ", ", sizeof allow - strlen(allow) - 1);
                strncat(allow, api_method_name(all[i]), sizeof allow - strlen(allow) - 1);
                break;
            }
        }
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    struct api_reply r = { 0 };
    api_reply_error(&r, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                    api_method_name(m), path, allow);
    send_reply(req, &r);
    reply_free(&r);
}

static bool is_write(enum evhttp_cmd_type m)
{
    return m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD;
}

static void audit(struct api_call *c, const char *resource, int allowed, int status)
{
    struct iam_audit_entry e = {
        .account = c->account, .user = c->user,
        .action = c->route->action ? c->route->action : "-", .resource = resource,
        .method = api_method_name(evhttp_request_get_command(c->req)),
        .path = evhttp_request_get_uri(c->req), .allowed = allowed, .status = status,
    };
    iam_audit_add(c->api->iam, &e);
}

/* Idempotency-Key (SPEC 7): 1 when the answer was given from the first request with this key,
 * 0 to go on (*hash filled when the answer is to be kept), -1 after an error answer. */
static int idempotency_check(struct api_call *c, const char *key, char hash[65],
                             struct api_reply *r)
{
    hash[0] = '\0';
    if (!key)
        return 0;
    size_t klen = strlen(key);
    for (const char *p = key; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            klen = 0;
    }
    if (klen == 0 || klen > API_MAX_IDEM_KEY) {
        api_reply_error(r, 400, "bad_request",
                        "Idempotency-Key must be 1 to %d printable characters", API_MAX_IDEM_KEY);
        return -1;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t n = evbuffer_get_length(in);
    const char *body = n ? (const char *)evbuffer_pullup(in, (ev_ssize_t)n) : "";
    struct evbuffer *msg = evbuffer_new();
    /* The whole URI: ?account= names what the request acts on. */
    int ok = msg && evbuffer_add_printf(msg, "%s %s\n", api_method_name(c->route->method),
                                        evhttp_request_get_uri(c->req)) >= 0 &&
             evbuffer_add(msg, body, n) == 0;
    size_t mlen = msg ? evbuffer_get_length(msg) : 0;
    ok = ok && sha256_hex(evbuffer_pullup(msg, (ev_ssize_t)mlen), mlen, hash) == 0;
    if (msg)
        evbuffer_free(msg);
    if (!ok) {
        api_reply_error(r, 500, "internal", "cannot hash the request");
        return -1;
    }
    char first[65];
    int status = 0;
    char *response = NULL;
    enum iam_rc rc = iam_idem_get(c->api->iam, c->account, key, first, &status, &response);
    if (rc == IAM_NOT_FOUND)
        return 0;
    if (rc != IAM_OK) {
        api_reply_error(r, 500, "internal", "cannot read idempotency keys");
        return -1;
    }
    if (strcmp(first, hash) != 0) {
        free(response);
        hash[0] = '\0';
        api_reply_error(r, 422, "idempotency_mismatch",
                        "Idempotency-Key %s was used within 24 h for another request", key);
        return -1;
    }
    api_reply_json(r, status, json_loads(response, 0, NULL));
    free(response);
    hash[0] = '\0';
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Idempotent-Replayed", "true");
    return 1;
}

/* Secrets are never kept here: a replayed answer has its token or secret field null. */
static void idempotency_keep(struct api_call *c, const char *key, const char *hash,
                             const struct api_reply *r)
{
    json_t *kept = json_deep_copy(r->json);
    if (json_object_get(kept, "token"))
        json_object_set_new(kept, "token", json_null());
    if (json_object_get(kept, "secret"))
        json_object_set_new(kept, "secret", json_null());
    char *text = kept ? json_dumps(kept, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        iam_idem_put(c->api->iam, c->account, key, hash, r->status, text);
    free(text);
    json_decref(kept);
}

static const struct api_route *find_route(const char *path, enum evhttp_cmd_type m,
                                          struct api_call *c, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < api_n_routes; i++) {
        if (!api_route_match(&api_routes[i], path, c))
            continue;
        *path_known = true;
        if (route_accepts(&api_routes[i], m))
            return &api_routes[i];
    }
    return NULL;
}

/* The account the request acts on (c->scope); -1 after an error answer. */
static int resolve_scope(struct api_call *c, struct api_reply *r)
{
    c->scope = c->account;
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req));
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    if (q && evhttp_parse_query_str(q, &args) != 0) {
        api_reply_error(r, 400, "bad_request", "the query string cannot be parsed");
        return -1;
    }
    const char *named = evhttp_find_header(&args, "account");
    int rc = 0;
    json_t *a = NULL;
    if (!named) {
        /* the caller's own */
    } else if (!c->operator || !(c->route->flags & API_OPERATOR_AS)) {
        api_reply_error(r, 400, "bad_request", "?account= is the operator's, on %s",
                        c->route->flags & API_OPERATOR_AS ? "this endpoint" : "other endpoints");
        rc = -1;
    } else if (strlen(named) > API_PARAM_MAX ||
               iam_account_get(c->api->iam, named, &a) != IAM_OK) {
        api_reply_error(r, 404, "not_found", "no such account");
        rc = -1;
    } else {
        snprintf(c->scope_buf, sizeof c->scope_buf, "%s", named);
        c->scope = c->scope_buf;
    }
    json_decref(a);
    evhttp_clear_headers(&args);
    return rc;
}

/* Everything after routing; the answer goes into r. */
static void serve(struct api_call *c, struct api_reply *r)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(c->req);
    char resource[256];
    api_resource(c, resource, sizeof resource);
    struct principal pr;
    if (principal_load(c->api, c, &pr) != 0) {
        api_reply_error(r, 500, "internal", "cannot read the caller's policies");
        principal_free(&pr);
        return;
    }
    c->operator = pr.p.operator;
    bool allowed = iam_allowed(&pr.p, c->route->action, resource);
    principal_free(&pr);
    if (!allowed) {
        api_reply_error(r, 403, "forbidden", "%s on %s is not allowed for %s/%s",
                        c->route->action, resource, c->account, c->user);
        log_info("api: %s/%s denied %s on %s", c->account, c->user, c->route->action, resource);
        audit(c, resource, 0, 403);
        return;
    }
    char err[512];
    const char *key = c->route->flags & API_CREATES
                          ? evhttp_find_header(evhttp_request_get_input_headers(c->req),
                                               "Idempotency-Key")
                          : NULL;
    char hash[65] = "";
    int idem = 0;
    bool bad_list = (c->route->flags & API_LIST) &&
                    parse_list_query(c->req, c, err, sizeof err) != 0;
    bool bad_body = !bad_list && !(c->route->flags & API_CSV) &&
                    (parse_body(c->req, &c->body, err, sizeof err) != 0 ||
                     check_fields(c->route, c->body, err, sizeof err) != 0);
    if (bad_list || bad_body)
        api_reply_error(r, 400, "bad_request", "%s", err);
    else if (resolve_scope(c, r) == 0 && (idem = idempotency_check(c, key, hash, r)) == 0)
        c->route->handler(c, r);
    if (is_write(m) && idem != 1)
        audit(c, resource, 1, r->status ? r->status : 500);
    if (is_write(m) && r->status >= 200 && r->status < 300 && c->api->ops.after_write)
        c->api->ops.after_write(c->api->ops.ctx);
    if (hash[0] && r->status >= 200 && r->status < 300)
        idempotency_keep(c, key, hash, r);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct api_server *api = arg;
    char account[API_NAME_LEN], user[API_NAME_LEN];
    const char *why = NULL;
    if (authenticate(api, req, account, user, &why) != 0) {
        log_info("api: unauthorized request from %s: %s", peer_address(req), why);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"vcs\"");
        send_error_now(req, 401, "unauthorized", why);
        return;
    }

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    struct api_call c = { .api = api, .req = req, .account = account, .user = user,
                          .scope = account };
    bool path_known;
    c.route = find_route(path, m, &c, &path_known);
    if (!path_known) {
        char msg[256];
        snprintf(msg, sizeof msg, "no such endpoint: %.200s", path);
        send_error_now(req, 404, "not_found", msg);
        return;
    }
    if (!c.route) {
        send_method_not_allowed(req, path, m);
        return;
    }
    struct api_reply r = { 0 };
    serve(&c, &r);
    json_decref(c.body);
    if (!r.streamed)
        send_reply(req, &r);
    reply_free(&r);
}

static uint16_t bound_port(struct evhttp_bound_socket *bs)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

struct api_server *api_start(struct event_base *base, const char *host, uint16_t port,
                             struct store *st, const struct api_ops *ops, char *err, size_t errlen)
{
    if (!base || !host || !st || !ops || !ops->health || !ops->reload) {
        snprintf(err, errlen, "api_start: missing event base, host, store or operations");
        return NULL;
    }
    struct api_server *api = calloc(1, sizeof *api);
    if (!api) {
        snprintf(err, errlen, "api_start: out of memory");
        return NULL;
    }
    api->st = st;
    api->ops = *ops;
    api->iam = iam_store_open(store_data_dir(st), err, errlen);
    if (api->iam && ops->regions) /* the table in use starts as the database's */
        region_dir_set(ops->regions, regions_load(iam_store_db(api->iam)));
    api->http = api->iam ? evhttp_new(base) : NULL;
    if (!api->http) {
        if (api->iam)
            snprintf(err, errlen, "api_start: cannot create the HTTP server");
        iam_store_close(api->iam);
        free(api);
        return NULL;
    }
    evhttp_set_max_body_size(api->http, API_MAX_BODY);
    evhttp_set_max_headers_size(api->http, API_MAX_HEADERS);
    evhttp_set_timeout(api->http, API_TIMEOUT_S);
    /* Every method reaches on_request, so that even unusual ones get a JSON 405 with Allow. */
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                              EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    /* Read and discard an oversized body before answering 413, so the client sees the 413
     * instead of a connection reset; the timeout still bounds how long that can take. */
    evhttp_set_flags(api->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(api->http, on_request, api);

    errno = 0;
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(api->http, host, port);
    if (!bs) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s:%u: %s", host, (unsigned)port,
                 e ? strerror(e) : "address not resolvable");
        evhttp_free(api->http);
        iam_store_close(api->iam);
        free(api);
        return NULL;
    }
    int v6 = strchr(host, ':') != NULL;
    log_info("api: listening on http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "",
             (unsigned)bound_port(bs));
    return api;
}

void api_stop(struct api_server *api)
{
    if (!api)
        return;
    evhttp_free(api->http);
    iam_store_close(api->iam);
    free(api);
}
