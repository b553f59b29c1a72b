/* The management API (SPEC 7) on libevent's evhttp; see http_api.h.
 * One generic callback routes every request: authentication first (so that nothing, not even
 * which paths exist, is revealed without a valid token), then path (404), then method (405 with
 * Allow), then the body (400 unless empty or a JSON object), then the endpoint. Every answer this
 * module writes is JSON built with jansson. Requests that libevent itself rejects before routing
 * (request line or headers unparsable, headers over API_MAX_HEADERS, body over API_MAX_BODY: 413)
 * get libevent's own short HTML error page. */
#include "api/http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/api_body.h"
#include "core/log.h"
#include "store/store.h"

/* Automake passes PACKAGE_VERSION from configure.ac; this covers compiling the file alone. */
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define API_MAX_BODY (1024 * 1024)
#define API_MAX_HEADERS (16 * 1024)
/* Idle and slow clients are dropped after this; answers themselves are produced synchronously. */
#define API_TIMEOUT_S 60
/* Real tokens are short; a longer one is rejected without a database lookup. */
#define API_MAX_TOKEN 256
#define API_ACCOUNT_LEN 64
/* Reloading the platform's dialplans affects every customer, so it is the operator's alone. */
#define API_OPERATOR_ACCOUNT "admin"

struct api_server {
    struct evhttp *http;
    struct store *st;
    struct api_ops ops;
};

/* What an endpoint handler is given once the request is authenticated and its body parsed. */
struct api_call {
    struct api_server *api;
    struct evhttp_request *req;
    const char *account;
    json_t *body; /* a JSON object, or NULL when the request had no body */
};

typedef void (*api_handler)(struct api_call *c);

struct api_route {
    const char *path;
    enum evhttp_cmd_type method;
    api_handler handler;
};

static void handle_health(struct api_call *c);
static void handle_reload(struct api_call *c);
static void handle_metrics(struct api_call *c);

static const struct api_route routes[] = {
    { "/v1/health", EVHTTP_REQ_GET, handle_health },
    { "/v1/reload", EVHTTP_REQ_POST, handle_reload },
    { "/metrics", EVHTTP_REQ_GET, handle_metrics },
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

static const struct {
    enum evhttp_cmd_type method;
    const char *name;
} method_names[] = {
    { EVHTTP_REQ_GET, "GET" },         { EVHTTP_REQ_HEAD, "HEAD" },
    { EVHTTP_REQ_POST, "POST" },       { EVHTTP_REQ_PUT, "PUT" },
    { EVHTTP_REQ_PATCH, "PATCH" },     { EVHTTP_REQ_DELETE, "DELETE" },
    { EVHTTP_REQ_OPTIONS, "OPTIONS" }, { EVHTTP_REQ_TRACE, "TRACE" },
    { EVHTTP_REQ_CONNECT, "CONNECT" },
};
#define N_METHODS (sizeof method_names / sizeof method_names[0])

/* A JSON string from text that may not be valid UTF-8 (script errors quote file contents, 404s
 * quote the client's path): jansson refuses such text, so bytes outside ASCII become '?'. */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j;
}

/* Sends obj (reference stolen) as the whole answer. */
static void send_json(struct evhttp_request *req, int status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (text) {
        evbuffer_add(out, text, strlen(text));
        free(text);
    } else {
        status = 500;
        evbuffer_add_printf(out,
                            "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
    }
    evbuffer_add(out, "\n", 1); /* so that curl output ends its line */
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* libevent only knows the phrases of RFC 2616, and would call 422 "Client Error". */
    evhttp_send_reply(req, status, status == 422 ? "Unprocessable Entity" : NULL, NULL);
}

static void send_error(struct evhttp_request *req, int status, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void send_error(struct evhttp_request *req, int status, const char *code,
                       const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    send_json(req, status, json_pack("{s:{s:s,s:o}}", "error", "code", code, "message",
                                     json_text(msg)));
}

static const char *peer_address(struct evhttp_request *req)
{
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
    return addr ? addr : "?";
}

/* 0 with the account filled, or -1 with *why set to the reason given to the client. */
static int authenticate(struct api_server *api, struct evhttp_request *req, char *account,
                        size_t accountlen, const char **why)
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
    if (len == 0 || len > API_MAX_TOKEN) {
        *why = "invalid token";
        return -1;
    }
    memcpy(token, tok, len);
    token[len] = '\0';
    if (store_auth_token(api->st, token, account, accountlen) != 0) {
        *why = "invalid token";
        return -1;
    }
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

/* HEAD is served by the GET handler; libevent leaves the body out of the answer. */
static int route_accepts(const struct api_route *r, enum evhttp_cmd_type m)
{
    return r->method == m || (r->method == EVHTTP_REQ_GET && m == EVHTTP_REQ_HEAD);
}

static void send_method_not_allowed(struct evhttp_request *req, const char *path,
                                    enum evhttp_cmd_type m)
{
    char allow[128] = "";
    const char *used = "?";
    for (size_t i = 0; i < N_METHODS; i++) {
        if (method_names[i].method == m)
            used = method_names[i].name;
        for (size_t k = 0; k < N_ROUTES; k++) {
            if (strcmp(routes[k].path, path) == 0 &&
                route_accepts(&routes[k], method_names[i].method)) {
                if (allow[0])
                    strncat(allow, ", ", sizeof allow - strlen(allow) - 1);
                strncat(allow, method_names[i].name, sizeof allow - strlen(allow) - 1);
                break;
            }
        }
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
    send_error(req, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
               used, path, allow);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct api_server *api = arg;
    char account[API_ACCOUNT_LEN];
    const char *why = NULL;
    if (authenticate(api, req, account, sizeof account, &why) != 0) {
        log_info("api: unauthorized request from %s: %s", peer_address(req), why);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"vcs\"");
        send_error(req, 401, "unauthorized", "%s", why);
        return;
    }

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    const struct api_route *route = NULL;
    int path_known = 0;
    for (size_t i = 0; i < N_ROUTES && !route; i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        path_known = 1;
        if (route_accepts(&routes[i], m))
            route = &routes[i];
    }
    if (!path_known) {
        send_error(req, 404, "not_found", "no such endpoint: %s", path);
        return;
    }
    if (!route) {
        send_method_not_allowed(req, path, m);
        return;
    }

    struct api_call c = { .api = api, .req = req, .account = account, .body = NULL };
    char err[512];
    if (parse_body(req, &c.body, err, sizeof err) != 0) {
        send_error(req, 400, "bad_request", "%s", err);
        return;
    }
    route->handler(&c);
    json_decref(c.body);
}

static void handle_health(struct api_call *c)
{
    struct api_health h = { 0 };
    c->api->ops.health(c->api->ops.ctx, &h);
    json_t *o = json_pack("{s:s,s:s,s:I,s:i,s:b}", "status", h.draining ? "draining" : "ok",
                          "version", PACKAGE_VERSION, "uptime_s", (json_int_t)h.uptime_s,
                          "calls", h.calls, "draining", h.draining);
    /* 503 while draining lets an HTTP health check take the node out, like OPTIONS does. */
    send_json(c->req, h.draining ? 503 : 200, o);
}

static void handle_reload(struct api_call *c)
{
    if (strcmp(c->account, API_OPERATOR_ACCOUNT) != 0) {
        send_error(c->req, 403, "forbidden", "reload is reserved to the operator account");
        return;
    }
    struct api_reload_result res = { 0 };
    char err[1024] = "";
    if (c->api->ops.reload(c->api->ops.ctx, &res, err, sizeof err) != 0) {
        if (!err[0])
            snprintf(err, sizeof err, "reload failed");
        log_warn("api: reload by %s failed: %s", c->account, err);
        send_error(c->req, 422, "script_error", "%s", err);
        return;
    }
    json_t *scripts = json_array();
    for (size_t i = 0; scripts && i < res.n_scripts; i++)
        json_array_append_new(scripts, json_text(res.scripts[i]));
    log_info("api: reload by %s ok: version %ld, %zu scripts", c->account, res.version,
             res.n_scripts);
    send_json(c->req, 200,
              json_pack("{s:I,s:o}", "version", (json_int_t)res.version, "scripts", scripts));
}

static void handle_metrics(struct api_call *c)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(c->req, 500, NULL);
        return;
    }
    if (c->api->ops.metrics)
        c->api->ops.metrics(c->api->ops.ctx, out);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(c->req, 200, "OK", out);
    evbuffer_free(out);
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
    api->http = evhttp_new(base);
    if (!api->http) {
        snprintf(err, errlen, "api_start: cannot create the HTTP server");
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
    free(api);
}
