/* vcsctl: drives a running vcsd through its management API (SPEC 3 and 7).
 * The server is found with --http HOST:PORT, else $VCS_HTTP, else 127.0.0.1:8080; the bearer
 * token is read from DIR/admin.token when --data DIR is given, else taken from $VCS_TOKEN, else
 * read from ./var/admin.token. Exit status: 0 success, 1 the server answered with an error
 * (reload rejected by a script error, server unhealthy, 403, 404, ...), 2 anything else (usage,
 * token, connection), so that scripts can tell "the server said no" from "vcsctl could not do
 * its job". The platform commands live in platform_cmds.c. */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
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

#include "ctl/http_client.h"
#include "ctl/platform_cmds.h"

#define DEFAULT_HTTP "127.0.0.1:8080"
#define DEFAULT_DATA "./var"
#define TOKEN_FILE "admin.token"
/* A reload compiles every script on the server before it answers. */
#define RELOAD_TIMEOUT_S 30
#define HEALTH_TIMEOUT_S 10

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
          "platform commands (SPEC 8; a customer acts with its own token in $VCS_TOKEN):\n",
          f);
    ctl_platform_usage(f);
    fputs("  --json   with any of them: print the API's JSON instead of a table.\n"
          "  --account NAME  the operator acting on another account (users, tokens, policies,\n"
          "           orders create).\n"
          "\n"
          "options (they override the environment):\n"
          "  --http HOST:PORT  management API address ($VCS_HTTP, default " DEFAULT_HTTP ")\n"
          "  --data DIR        data directory: the token is read from DIR/" TOKEN_FILE "\n"
          "                    (without --data: $VCS_TOKEN, else " DEFAULT_DATA "/" TOKEN_FILE ")\n"
          "\n"
          "exit status: 0 success, 1 the server answered with an error (reload rejected,\n"
          "server unhealthy, 403, 404, ...; its message on stderr), 2 vcsctl could not do its\n"
          "job (usage, token, connection).\n",
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

static int cmd_reload(const struct target *t)
{
    struct reply r;
    if (http_call(t, EVHTTP_REQ_POST, "/v1/reload", NULL, RELOAD_TIMEOUT_S, &r) != 0)
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
        rc = EXIT_REFUSED;
    }
    json_decref(j);
    free(r.body);
    return rc;
}

static int cmd_health(const struct target *t)
{
    struct reply r;
    if (http_call(t, EVHTTP_REQ_GET, "/v1/health", NULL, HEALTH_TIMEOUT_S, &r) != 0)
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
    bool json = false;
    /* A platform command's own arguments and options, in order (the group first), gathered
     * in place at the front of argv: never more of them than arguments already read. */
    char **cmd_args = argv;
    int n_cmd_args = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (is_option(argv[i], "--http")) {
            if (!(http = option_value(argc, argv, &i, "--http")))
                return EXIT_ERROR;
        } else if (is_option(argv[i], "--data")) {
            if (!(data = option_value(argc, argv, &i, "--data")))
                return EXIT_ERROR;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EXIT_OK;
        } else if (command && ctl_platform_group(command)) {
            cmd_args[n_cmd_args++] = argv[i];
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
            cmd_args[n_cmd_args++] = argv[i];
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
    if (!run && !ctl_platform_group(command)) {
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
    return run ? run(&t) : ctl_platform_run(&t, n_cmd_args, cmd_args, json);
}
