/* vcsctl's HTTP client (see http_client.h). */
#include "ctl/http_client.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

static void on_request_error(enum evhttp_request_error error, void *arg)
{
    struct reply *r = arg;
    r->failed = 1;
    r->error = error;
    r->sock_errno = EVUTIL_SOCKET_ERROR();
}

static bool success(struct evhttp_request *req)
{
    int code = evhttp_request_get_response_code(req);
    return code >= 200 && code <= 299;
}

static int drain_to(struct evbuffer *in, FILE *out)
{
    char buf[16384];
    int n;
    while ((n = evbuffer_remove(in, buf, sizeof buf)) > 0) {
        if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
            return -1;
    }
    return 0;
}

/* A successful answer's body goes to r->sink as it arrives: bounded memory for any size. */
static void on_chunk(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    if (!success(req))
        return; /* an error's short JSON body, read whole by on_response */
    if (!r->sink_failed && drain_to(in, r->sink) != 0)
        r->sink_failed = 1;
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;
    /* libevent calls this with req NULL (or a code of 0) when the request failed. */
    if (req && evhttp_request_get_response_code(req) > 0) {
        if (r->sink && success(req))
            on_chunk(req, arg);
        r->status = evhttp_request_get_response_code(req);
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        r->body = malloc(n + 1);
        if (r->body) {
            evbuffer_remove(in, r->body, n);
            r->body[n] = '\0';
        }
    }
    event_base_loopbreak(r->base);
}

static const char *request_error_text(const struct reply *r)
{
    /* libevent 2.1 reports a failed connect through on_response alone, and by then errno no
     * longer holds the reason (it reads ENOTCONN). */
    if (!r->failed)
        return "could not connect (is vcsd running, with this --http address?)";
    switch (r->error) {
    case EVREQ_HTTP_TIMEOUT:
        return "timed out";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid answer";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "answer too long";
    case EVREQ_HTTP_BUFFER_ERROR:
        if (r->sock_errno)
            return evutil_socket_error_to_string(r->sock_errno);
        break;
    case EVREQ_HTTP_EOF:
    case EVREQ_HTTP_REQUEST_CANCEL:
        break;
    }
    return "connection closed before an answer";
}

/* Sends one request and waits for its answer. 0 with r->status and r->body set, or -1 after
 * printing why no answer came. */
int http_call(const struct target *t, enum evhttp_cmd_type method, const char *path,
              const char *body, int timeout_s, struct reply *r)
{
    return http_request(t, method, path, body, NULL, NULL, timeout_s, r);
}

int http_request(const struct target *t, enum evhttp_cmd_type method, const char *path,
                 const char *body, const struct evkeyvalq *extra, FILE *sink, int timeout_s,
                 struct reply *r)
{
    memset(r, 0, sizeof *r);
    r->sink = sink;
    /* libevent would report an unknown host as a closed connection; say what went wrong. */
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int gai = getaddrinfo(t->host, NULL, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "vcsctl: cannot resolve %s: %s\n", t->host, gai_strerror(gai));
        return -1;
    }
    freeaddrinfo(ai);
    r->base = event_base_new();
    if (!r->base) {
        fprintf(stderr, "vcsctl: cannot create an event loop\n");
        return -1;
    }
    int rc = -1;
    struct evhttp_connection *conn = evhttp_connection_base_new(r->base, NULL, t->host, t->port);
    struct evhttp_request *req = conn ? evhttp_request_new(on_response, r) : NULL;
    if (!req) {
        fprintf(stderr, "vcsctl: cannot set up a connection to %s\n", t->shown);
        goto out;
    }
    evhttp_connection_set_timeout(conn, timeout_s);
    evhttp_request_set_error_cb(req, on_request_error);
    if (sink)
        evhttp_request_set_chunked_cb(req, on_chunk);
    char auth[MAX_TOKEN + 16];
    snprintf(auth, sizeof auth, "Bearer %s", t->token);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(h, "Authorization", auth) != 0) {
        evhttp_request_free(req);
        fprintf(stderr, "vcsctl: the API token contains characters not allowed in a header\n");
        goto out;
    }
    evhttp_add_header(h, "Host", t->shown);
    const struct evkeyval *kv;
    for (kv = extra ? TAILQ_FIRST(extra) : NULL; kv; kv = TAILQ_NEXT(kv, next))
        evhttp_add_header(h, kv->key, kv->value);
    if (!evhttp_find_header(h, "Accept"))
        evhttp_add_header(h, "Accept", "application/json");
    if (body) {
        /* libevent adds Content-Length to POST and PUT only; a PATCH needs it too. */
        char len[32];
        snprintf(len, sizeof len, "%zu", strlen(body));
        evhttp_add_header(h, "Content-Length", len);
        evhttp_add_header(h, "Content-Type", body[0] == '{' ? "application/json" : "text/csv");
        evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    }
    /* evhttp_make_request frees req itself when it fails. */
    if (evhttp_make_request(conn, req, method, path) != 0) {
        fprintf(stderr, "vcsctl: cannot send the request to %s\n", t->shown);
        goto out;
    }
    event_base_dispatch(r->base);
    if (r->status == 0) {
        fprintf(stderr, "vcsctl: cannot reach vcsd at %s: %s\n", t->shown, request_error_text(r));
        goto out;
    }
    if (!r->body) {
        fprintf(stderr, "vcsctl: out of memory\n");
        goto out;
    }
    rc = 0;
out:
    if (conn)
        evhttp_connection_free(conn);
    event_base_free(r->base);
    return rc;
}

/* The message of an API error body, or NULL when the body is not one. */
const char *api_error_message(json_t *j, const char **code)
{
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    *code = json_string_value(json_object_get(e, "code"));
    return msg;
}

/* For answers the command has no use for: says what the server said. */
void report_http_error(const struct target *t, int status, json_t *j)
{
    const char *code = NULL;
    const char *msg = api_error_message(j, &code);
    if (msg)
        fprintf(stderr, "vcsctl: %s answered HTTP %d (%s): %s\n", t->shown, status,
                code ? code : "error", msg);
    else
        fprintf(stderr, "vcsctl: %s answered HTTP %d\n", t->shown, status);
}

