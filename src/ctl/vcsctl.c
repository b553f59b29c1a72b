/* vcsctl: drives a running vcsd through its management API (SPEC 3 and 7).
 * The server is found with --http HOST:PORT, else $VCS_HTTP, else 127.0.0.1:8080; the bearer
 * token is read from DIR/admin.token when --data DIR is given, else taken from $VCS_TOKEN, else
 * read from ./var/admin.token. Exit status: 0 success, 1 the server answered but said no (reload
 * rejected by a script error, server unhealthy), 2 anything else (usage, token, connection, HTTP
 * errors), so that scripts can tell "fix your dialplan" from "vcsctl could not do its job". */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <jansson.h>

#define DEFAULT_HTTP "127.0.0.1:8080"
#define DEFAULT_DATA "./var"
#define TOKEN_FILE "admin.token"
#define MAX_TOKEN 1024
/* A reload compiles every script on the server before it answers. */
#define RELOAD_TIMEOUT_S 30
#define HEALTH_TIMEOUT_S 10

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
    char *body; /* NUL-terminated copy of the answer's body */
};

static void usage(FILE *f)
{
    fputs("usage: vcsctl [--http HOST:PORT] [--data DIR] COMMAND\n"
          "\n"
          "Drives a running vcsd through its management API.\n"
          "\n"
          "commands:\n"
          "  reload   recompile every dialplan and routes.lua and switch new calls to them;\n"
          "           prints \"reload ok: version N (scripts)\". If any script fails to compile,\n"
          "           nothing changes, the error is printed and the exit status is 1.\n"
          "  health   print the server's health (JSON); exit status 0 when it is up and not\n"
          "           draining, 1 otherwise.\n"
          "  help     show this text.\n"
          "\n"
          "options (they override the environment):\n"
          "  --http HOST:PORT  management API address ($VCS_HTTP, default " DEFAULT_HTTP ")\n"
          "  --data DIR        data directory: the token is read from DIR/" TOKEN_FILE "\n"
          "                    (without --data: $VCS_TOKEN, else " DEFAULT_DATA "/" TOKEN_FILE ")\n"
          "\n"
          "exit status: 0 success, 1 reload rejected or server unhealthy, 2 other errors\n"
          "(usage, token, connection, HTTP errors).\n",
          f);
}

static size_t trim(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                       s[len - 1] == '\n'))
        s[--len] = '\0';
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, len - lead + 1);
    return len - lead;
}

/* Unlike config_parse_hostport (numeric addresses, for listening), the server may be named:
 * "node1:8080", "127.0.0.1:8080", "[::1]:8080". */
static int split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *h = s, *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -1; /* an IPv6 address must be bracketed */
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen || !isdigit((unsigned char)colon[1]))
        return -1;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || p == 0 || p > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

static int set_address(struct target *t, const char *spec, const char *from)
{
    if (split_hostport(spec, t->host, sizeof t->host, &t->port) != 0) {
        fprintf(stderr, "vcsctl: invalid address '%s' (%s): expected HOST:PORT (IPv6 in brackets: "
                        "[::1]:8080)\n", spec, from);
        return -1;
    }
    int v6 = strchr(t->host, ':') != NULL;
    snprintf(t->shown, sizeof t->shown, "%s%s%s:%u", v6 ? "[" : "", t->host, v6 ? "]" : "",
             (unsigned)t->port);
    return 0;
}

static int read_token_file(struct target *t, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, TOKEN_FILE);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vcsctl: cannot read the API token from %s: %s (give --data DIR, or "
                        "set VCS_TOKEN)\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(t->token, 1, MAX_TOKEN, f);
    int bad = ferror(f) || !feof(f) || n == MAX_TOKEN;
    fclose(f);
    t->token[n] = '\0';
    if (bad || memchr(t->token, '\0', n) || trim(t->token) == 0) {
        fprintf(stderr, "vcsctl: %s does not hold an API token\n", path);
        return -1;
    }
    return 0;
}

static int set_token_from_env(struct target *t, const char *value)
{
    if (strlen(value) > MAX_TOKEN) {
        fprintf(stderr, "vcsctl: VCS_TOKEN is too long\n");
        return -1;
    }
    snprintf(t->token, sizeof t->token, "%s", value);
    if (trim(t->token) == 0) {
        fprintf(stderr, "vcsctl: VCS_TOKEN is empty\n");
        return -1;
    }
    return 0;
}

static void on_request_error(enum evhttp_request_error error, void *arg)
{
    struct reply *r = arg;
    r->failed = 1;
    r->error = error;
    r->sock_errno = EVUTIL_SOCKET_ERROR();
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;
    /* libevent calls this with req NULL (or a code of 0) when the request failed. */
    if (req && evhttp_request_get_response_code(req) > 0) {
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
static int http_call(const struct target *t, enum evhttp_cmd_type method, const char *path,
                     int timeout_s, struct reply *r)
{
    memset(r, 0, sizeof *r);
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
    char auth[MAX_TOKEN + 16];
    snprintf(auth, sizeof auth, "Bearer %s", t->token);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (evhttp_add_header(h, "Authorization", auth) != 0) {
        evhttp_request_free(req);
        fprintf(stderr, "vcsctl: the API token contains characters not allowed in a header\n");
        goto out;
    }
    evhttp_add_header(h, "Host", t->shown);
    evhttp_add_header(h, "Accept", "application/json");
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
static const char *api_error_message(json_t *j, const char **code)
{
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    *code = json_string_value(json_object_get(e, "code"));
    return msg;
}

/* For answers the command has no use for: says what the server said. */
static void report_http_error(const struct target *t, int status, json_t *j)
{
    const char *code = NULL;
    const char *msg = api_error_message(j, &code);
    if (msg)
        fprintf(stderr, "vcsctl: %s answered HTTP %d (%s): %s\n", t->shown, status,
                code ? code : "error", msg);
    else
        fprintf(stderr, "vcsctl: %s answered HTTP %d\n", t->shown, status);
}

static int cmd_reload(const struct target *t)
{
    struct reply r;
    if (http_call(t, EVHTTP_REQ_POST, "/v1/reload", RELOAD_TIMEOUT_S, &r) != 0)
        return EXIT_ERROR;
    json_t *j = json_loads(r.body, 0, NULL);
    int rc = EXIT_ERROR;
    const char *code = NULL;
    const char *msg = api_error_message(j, &code);
    if (r.status == 200) {
        json_t *scripts = json_object_get(j, "scripts");
        json_t *version = json_object_get(j, "version");
        if (!json_is_integer(version) || !json_is_array(scripts)) {
            fprintf(stderr, "vcsctl: unexpected answer from %s: %s\n", t->shown, r.body);
        } else {
            printf("reload ok: version %" JSON_INTEGER_FORMAT " (", json_integer_value(version));
            size_t i;
            json_t *s;
            json_array_foreach(scripts, i, s)
                printf("%s%s", i ? ", " : "", json_string_value(s) ? json_string_value(s) : "?");
            printf("%s)\n", json_array_size(scripts) ? "" : "no scripts");
            rc = EXIT_OK;
        }
    } else if (r.status == 422 && msg) {
        fprintf(stderr, "reload failed: %s\n", msg);
        rc = EXIT_REFUSED;
    } else {
        report_http_error(t, r.status, j);
    }
    json_decref(j);
    free(r.body);
    return rc;
}

static int cmd_health(const struct target *t)
{
    struct reply r;
    if (http_call(t, EVHTTP_REQ_GET, "/v1/health", HEALTH_TIMEOUT_S, &r) != 0)
        return EXIT_ERROR;
    json_t *j = json_loads(r.body, 0, NULL);
    int rc;
    if ((r.status == 200 || r.status == 503) && json_is_string(json_object_get(j, "status"))) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        rc = r.status == 200 ? EXIT_OK : EXIT_REFUSED;
    } else {
        report_http_error(t, r.status, j);
        rc = EXIT_REFUSED;
    }
    json_decref(j);
    free(r.body);
    return rc;
}

/* Takes an option's value, from "--opt=value" or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    if (argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "vcsctl: %s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

static int is_option(const char *arg, const char *name)
{
    size_t len = strlen(name);
    return strncmp(arg, name, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

int main(int argc, char **argv)
{
    const char *http = NULL, *data = NULL, *command = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_option(argv[i], "--http")) {
            if (!(http = option_value(argc, argv, &i, "--http")))
                return EXIT_ERROR;
        } else if (is_option(argv[i], "--data")) {
            if (!(data = option_value(argc, argv, &i, "--data")))
                return EXIT_ERROR;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "vcsctl: unknown option %s\n", argv[i]);
            usage(stderr);
            return EXIT_ERROR;
        } else if (command) {
            fprintf(stderr, "vcsctl: unexpected argument %s\n", argv[i]);
            usage(stderr);
            return EXIT_ERROR;
        } else {
            command = argv[i];
        }
    }
    if (!command) {
        usage(stderr);
        return EXIT_ERROR;
    }
    if (strcmp(command, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    int (*run)(const struct target *) = NULL;
    if (strcmp(command, "reload") == 0)
        run = cmd_reload;
    else if (strcmp(command, "health") == 0)
        run = cmd_health;
    if (!run) {
        fprintf(stderr, "vcsctl: unknown command '%s'\n", command);
        usage(stderr);
        return EXIT_ERROR;
    }

    static struct target t;
    const char *env_http = getenv("VCS_HTTP");
    const char *env_token = getenv("VCS_TOKEN");
    const char *addr = http, *addr_from = "--http";
    if (!addr && env_http && *env_http) {
        addr = env_http;
        addr_from = "VCS_HTTP";
    }
    if (!addr) {
        addr = DEFAULT_HTTP;
        addr_from = "default";
    }
    if (set_address(&t, addr, addr_from) != 0)
        return EXIT_ERROR;
    int token_rc;
    if (data)
        token_rc = read_token_file(&t, data);
    else if (env_token && *env_token)
        token_rc = set_token_from_env(&t, env_token);
    else
        token_rc = read_token_file(&t, DEFAULT_DATA);
    if (token_rc != 0)
        return EXIT_ERROR;
    return run(&t);
}
