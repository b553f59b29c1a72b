/* vcsctl's HTTP client: one request to vcsd's management API, waited for, with what went
 * wrong said on stderr when no answer came. */
#ifndef VCS_CTL_HTTP_CLIENT_H
#define VCS_CTL_HTTP_CLIENT_H

#include <stdint.h>
#include <stdio.h>

#include <event2/http.h>
#include <jansson.h>

#define MAX_TOKEN 1024

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_ERROR = 2 };

struct target {
    char host[256];
    uint16_t port;
    char shown[300]; /* HOST:PORT as the user should read it in messages */
    char token[MAX_TOKEN + 1];
};

struct reply {
    struct event_base *base;
    int status; /* HTTP status; 0 when no answer came */
    int failed; /* the error callback ran */
    enum evhttp_request_error error;
    int sock_errno;
    char *body; /* NUL-terminated copy of the answer's body (of a success: "" with a sink) */
    FILE *sink; /* http_request: where a successful answer's body goes */
    int sink_failed;
};

/* Sends one request (body: JSON text or NULL) and waits for its answer. 0 with r->status and
 * r->body set (free r->body), or -1 after printing why no answer came. */
int http_call(const struct target *t, enum evhttp_cmd_type method, const char *path,
              const char *body, int timeout_s, struct reply *r);

/* As http_call, with more request headers (extra may be NULL; an Accept there replaces
 * application/json) and, when sink is not NULL, a successful answer's body written to sink as
 * it arrives instead of being kept (r->sink_failed says whether a write failed). */
int http_request(const struct target *t, enum evhttp_cmd_type method, const char *path,
                 const char *body, const struct evkeyvalq *extra, FILE *sink, int timeout_s,
                 struct reply *r);

/* The message of an API error body, or NULL when the body is not one. */
const char *api_error_message(json_t *j, const char **code);
/* Says on stderr what the server answered instead of success. */
void report_http_error(const struct target *t, int status, json_t *j);

#endif
