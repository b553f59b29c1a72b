/* vcsctl's platform commands (see platform_cmds.h). */
#include "ctl/platform_cmds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "ctl/media_cmds.h"
#include "ctl/campaign_status.h"
#include "ctl/table.h"

#define CALL_TIMEOUT_S 30
#define PATH_MAX_LEN 1024
/* Bounds a whole listing: 1000 pages of 1000 items. */
#define MAX_PAGES 1000

/* An option that sets a body field (type 's' string, 'p' a secret string, "-" reading it from
 * stdin, 'i' integer, 'a' comma-separated list of strings, 'j' a JSON object) or a query
 * parameter ('q'). */
struct ctl_opt {
    const char *flag, *field;
    char type;
};

struct ctl_cmd {
    const char *group, *verb, *synopsis;
    enum evhttp_cmd_type method;
    const char *path;              /* each %s takes the next positional argument, encoded */
    const char *const *body_args;  /* body fields of the remaining arguments ("@f": JSON file;
                                    * "<": the file itself is the body, as text/csv) */
    const struct ctl_opt *opts;
    const char *const *columns;    /* lists: the table's columns */
    const char *const *lines;      /* an object whose arrays of lines are tables of these */
};

static const char *const account_cols[] = { "name", "balance_fen", "rate_fen_per_minute",
                                            "rent_fen_per_month", "max_calls", "created_at",
                                            NULL };
static const char *const user_cols[] = { "name", "main", "policies", "tokens", "created_at",
                                         NULL };
static const char *const policy_cols[] = { "name", "system", "statements", NULL };
static const char *const number_cols[] = { "number", "state", "region", "type", "account",
                                           "script", "trunk", "max_concurrent", NULL };
static const char *const order_cols[] = { "id", "account", "state", "numbers", "reason",
                                          "created_at", NULL };
static const char *const csv_arg[] = { "<", NULL };
static const struct ctl_opt number_search_opts[] = {
    { "--available", "available", 'q' }, { "--region", "region", 'q' },
    { "--type", "type", 'q' },           { "--limit", "limit", 'q' },
    { "--after", "after", 'q' },         { NULL, NULL, 0 },
};
static const struct ctl_opt bind_opts[] = {
    { "--script", "script", 's' },
    { "--trunk", "trunk", 's' },
    { "--max-concurrent", "max_concurrent", 'i' },
    { NULL, NULL, 0 },
};
static const struct ctl_opt order_opts[] = {
    { "--numbers", "numbers", 'a' }, { "--region", "region", 's' },
    { "--type", "type", 's' },       { "--count", "count", 'i' },
    { NULL, NULL, 0 },
};
static const char *const campaign_cols[] = { "id", "account", "name", "state", "created_at",
                                             "started_at", "ended_at", NULL };
static const char *const result_cols[] = { "number", "attempts", "result", "last_call_id",
                                           "answered_at", "billsec", "vars", NULL };
static const char *const dnc_cols[] = { "number", "created_at", NULL };
static const char *const whole_body[] = { "@", NULL };
static const struct ctl_opt dnc_opts[] = { { "--numbers", "numbers", 'a' }, { NULL, NULL, 0 } };
static const struct ctl_opt reject_opts[] = { { "--reason", "reason", 's' }, { NULL, NULL, 0 } };
static const char *const audit_cols[] = { "id", "time", "account", "user", "action", "resource",
                                          "allowed", "status", "method", "path", NULL };
static const char *const cdr_cols[] = { "id", "call_id", "account", "direction", "from_number",
                                        "to_number", "start_time", "billsec", "hangup_cause",
                                        NULL };
static const struct ctl_opt cdr_opts[] = {
    { "--since", "since", 'q' },   { "--until", "until", 'q' },
    { "--number", "number", 'q' }, { "--cause", "cause", 'q' },
    { "--campaign", "campaign", 'q' }, { "--direction", "direction", 'q' },
    { "--limit", "limit", 'q' },   { "--after", "after", 'q' },
    { NULL, NULL, 0 },
};
static const char *const webhook_cols[] = { "id", "account", "url", "events", "created_at",
                                            NULL };
static const char *const delivery_cols[] = { "id", "event", "state", "attempts", "last_status",
                                             "last_error", "created_at", "next_attempt_at",
                                             NULL };
static const char *const url_arg[] = { "url", NULL };
static const struct ctl_opt webhook_opts[] = { { "--events", "events", 'a' },
                                               { NULL, NULL, 0 } };
static const char *const name_arg[] = { "name", NULL };
static const char *const amount_arg[] = { "#amount_fen", NULL };
static const struct ctl_opt note_opts[] = { { "--note", "note", 's' }, { NULL, NULL, 0 } };
static const struct ctl_opt month_opts[] = { { "--month", "month", 'q' }, { NULL, NULL, 0 } };
static const char *const statement_lines[] = { "time", "amount_fen", "balance_fen", "ref", "note",
                                               NULL };
static const char *const policy_arg[] = { "policy", NULL };
static const char *const policy_doc_args[] = { "name", "@statements", NULL };
static const struct ctl_opt list_opts[] = { { "--limit", "limit", 'q' },
                                            { "--after", "after", 'q' }, { NULL, NULL, 0 } };
static const struct ctl_opt account_opts[] = {
    { "--rate-fen-per-minute", "rate_fen_per_minute", 'i' },
    { "--rent-fen-per-month", "rent_fen_per_month", 'i' },
    { "--max-calls", "max_calls", 'i' },
    { "--low-balance-fen", "low_balance_fen", 'i' },
    { NULL, NULL, 0 },
};
static const char *const call_cols[] = { "id", "direction", "from", "to", "script", "state",
                                         "start_time", "answer_time", "parent_call_id", NULL };
static const char *const originate_args[] = { "to", "from", "script", NULL };
static const struct ctl_opt originate_opts[] = {
    { "--vars", "vars", 'j' }, { "--timeout-s", "timeout_s", 'i' },
    { "--gateway", "gateway", 's' }, { NULL, NULL, 0 },
};
static const char *const trunk_cols[] = { "name", "account", "allow", "username", "max_calls",
                                          "address", "registered", NULL };
static const char *const gateway_cols[] = { "name", "address", "state", "calls", "max_channels",
                                            "registered", "last_probe_ms", NULL };
/* The password travels in the body only; it is never printed back. */
static const struct ctl_opt trunk_opts[] = {
    { "--allow", "allow", 'a' },         { "--username", "username", 's' },
    { "--password", "password", 'p' },   { "--max-calls", "max_calls", 'i' },
    { "--address", "address", 's' },     { NULL, NULL, 0 },
};
static const struct ctl_opt token_opts[] = { { "--expires-at", "expires_at", 's' },
                                             { NULL, NULL, 0 } };

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define DEL EVHTTP_REQ_DELETE
#define PATCH EVHTTP_REQ_PATCH

static const struct ctl_cmd cmds[] = {
    { "accounts", "list", "[--limit N] [--after CURSOR]", GET, "/v1/accounts", NULL, list_opts,
      account_cols, NULL },
    { "accounts", "get", "NAME", GET, "/v1/accounts/%s", NULL, NULL, NULL, NULL },
    { "accounts", "create",
      "NAME [--rate-fen-per-minute N] [--rent-fen-per-month N] [--max-calls N]"
      " [--low-balance-fen N]", POST, "/v1/accounts", name_arg, account_opts, NULL, NULL },
    { "users", "list", "[--limit N] [--after CURSOR]", GET, "/v1/users", NULL, list_opts,
      user_cols, NULL },
    { "users", "create", "NAME", POST, "/v1/users", name_arg, NULL, NULL, NULL },
    { "users", "delete", "NAME", DEL, "/v1/users/%s", NULL, NULL, NULL, NULL },
    { "users", "attach", "USER POLICY", POST, "/v1/users/%s/policies", policy_arg, NULL, NULL, NULL },
    { "users", "detach", "USER POLICY", DEL, "/v1/users/%s/policies/%s", NULL, NULL, NULL, NULL },
    { "tokens", "create", "USER [--expires-at 2030-01-31T12:00:00Z]", POST,
      "/v1/users/%s/tokens", NULL, token_opts, NULL, NULL },
    { "tokens", "revoke", "USER ID", DEL, "/v1/users/%s/tokens/%s", NULL, NULL, NULL, NULL },
    { "policies", "list", "[--limit N] [--after CURSOR]", GET, "/v1/policies", NULL, list_opts,
      policy_cols, NULL },
    { "policies", "create", "NAME FILE   (FILE: the statements as JSON, - for stdin)", POST,
      "/v1/policies", policy_doc_args, NULL, NULL, NULL },
    { "policies", "delete", "NAME", DEL, "/v1/policies/%s", NULL, NULL, NULL, NULL },
    { "audit", "list", "[--limit N] [--after CURSOR]", GET, "/v1/audit", NULL, list_opts,
      audit_cols, NULL },
    { "numbers", "list",
      "[--available true --region R --type fixed|mobile] [--limit N] [--after CURSOR]", GET,
      "/v1/numbers", NULL, number_search_opts, number_cols, NULL },
    { "numbers", "get", "NUMBER", GET, "/v1/numbers/%s", NULL, NULL, NULL, NULL },
    { "numbers", "import", "FILE   (CSV number,region,type,max_concurrent; - for stdin)", POST,
      "/v1/numbers/import", csv_arg, NULL, NULL, NULL },
    { "numbers", "bind", "NUMBER [--script NAME] [--trunk NAME] [--max-concurrent N]", PATCH,
      "/v1/numbers/%s", NULL, bind_opts, NULL, NULL },
    { "numbers", "release", "NUMBER", POST, "/v1/numbers/%s/release", NULL, NULL, NULL, NULL },
    { "orders", "list", "[--limit N] [--after CURSOR]", GET, "/v1/orders", NULL, list_opts,
      order_cols, NULL },
    { "orders", "create", "--numbers N1,N2 | --region R --type fixed|mobile --count N", POST,
      "/v1/orders", NULL, order_opts, NULL, NULL },
    { "orders", "approve", "ID", POST, "/v1/orders/%s/approve", NULL, NULL, NULL, NULL },
    { "orders", "reject", "ID [--reason TEXT]", POST, "/v1/orders/%s/reject", NULL, reject_opts,
      NULL, NULL },
    { "calls", "list", "[--limit N] [--after CURSOR]", GET, "/v1/calls", NULL, list_opts,
      call_cols, NULL },
    { "calls", "get", "ID", GET, "/v1/calls/%s", NULL, NULL, NULL, NULL },
    { "calls", "originate",
      "TO FROM SCRIPT [--vars '{\"name\": \"value\"}'] [--timeout-s N] [--gateway NAME]", POST,
      "/v1/calls", originate_args, originate_opts, NULL, NULL },
    { "calls", "hangup", "ID", DEL, "/v1/calls/%s", NULL, NULL, NULL, NULL },
    { "trunks", "list", "[--limit N] [--after CURSOR]", GET, "/v1/trunks", NULL, list_opts,
      trunk_cols, NULL },
    { "trunks", "show", "NAME", GET, "/v1/trunks/%s", NULL, NULL, NULL, NULL },
    { "trunks", "create",
      "NAME [--allow CIDR,...] [--username U --password P|-] [--max-calls N] [--address IP:PORT]",
      POST, "/v1/trunks", name_arg, trunk_opts, NULL, NULL },
    { "trunks", "update",
      "NAME [--allow CIDR,...] [--username U --password P|-] [--max-calls N] [--address IP:PORT]",
      PATCH, "/v1/trunks/%s", NULL, trunk_opts, NULL, NULL },
    { "trunks", "delete", "NAME", DEL, "/v1/trunks/%s", NULL, NULL, NULL, NULL },
    { "gateways", "list", "   (the operator's: state, calls, registration of each gateway)", GET,
      "/v1/gateways", NULL, list_opts, gateway_cols, NULL },
    { "cdrs", "list",
      "[--since T] [--until T] [--number N] [--cause C] [--campaign ID] [--direction D]"
      " [--limit N] [--after CURSOR]", GET, "/v1/cdrs", NULL, cdr_opts, cdr_cols, NULL },
    { "recordings", "delete", "CALL_ID", DEL, "/v1/recordings/%s", NULL, NULL, NULL, NULL },
    { "webhooks", "list", "[--limit N] [--after CURSOR]", GET, "/v1/webhooks", NULL, list_opts,
      webhook_cols, NULL },
    { "webhooks", "create", "URL --events call.completed,recording.ready,...|*", POST,
      "/v1/webhooks", url_arg, webhook_opts, NULL, NULL },
    { "webhooks", "delete", "ID", DEL, "/v1/webhooks/%s", NULL, NULL, NULL, NULL },
    { "webhooks", "deliveries", "ID [--limit N] [--after CURSOR]", GET,
      "/v1/webhooks/%s/deliveries", NULL, list_opts, delivery_cols, NULL },
    { "balance", "", "ACCOUNT", GET, "/v1/accounts/%s/balance", NULL, NULL, NULL, NULL },
    { "recharge", "", "ACCOUNT AMOUNT_FEN [--note TEXT]", POST, "/v1/accounts/%s/recharges",
      amount_arg, note_opts, NULL, NULL },
    { "statement", "", "ACCOUNT [--month YYYY-MM]   (default: this month)", GET,
      "/v1/accounts/%s/statements", NULL, month_opts, NULL, statement_lines },
    { "regions", "import", "FILE   (CSV number_prefix,region; - for stdin)", POST,
      "/v1/regions/import", csv_arg, NULL, NULL, NULL },
    { "campaign", "list", "[--limit N] [--after CURSOR]", GET, "/v1/campaigns", NULL, list_opts,
      campaign_cols, NULL },
    { "campaign", "create", "FILE   (the campaign as JSON, docs/management-api.md; - for stdin)",
      POST, "/v1/campaigns", whole_body, NULL, NULL, NULL },
    { "campaign", "upload", "ID FILE   (CSV number[,var...]; - for stdin)", POST,
      "/v1/campaigns/%s/callees", csv_arg, NULL, NULL, NULL },
    { "campaign", "start", "ID", POST, "/v1/campaigns/%s/start", NULL, NULL, NULL, NULL },
    { "campaign", "pause", "ID", POST, "/v1/campaigns/%s/pause", NULL, NULL, NULL, NULL },
    { "campaign", "resume", "ID", POST, "/v1/campaigns/%s/resume", NULL, NULL, NULL, NULL },
    { "campaign", "cancel", "ID", POST, "/v1/campaigns/%s/cancel", NULL, NULL, NULL, NULL },
    { "campaign", "status", "ID   (follows a running campaign on a terminal)", GET,
      "/v1/campaigns/%s", NULL, NULL, NULL, NULL },
    { "campaign", "results", "ID [--limit N] [--after CURSOR]", GET, "/v1/campaigns/%s/results",
      NULL, list_opts, result_cols, NULL },
    { "dnc", "list", "[--limit N] [--after CURSOR]", GET, "/v1/dnc", NULL, list_opts, dnc_cols, NULL },
    { "dnc", "add", "--numbers N1,N2", POST, "/v1/dnc", NULL, dnc_opts, NULL, NULL },
    { "dnc", "delete", "NUMBER", DEL, "/v1/dnc/%s", NULL, NULL, NULL, NULL },
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

bool ctl_platform_group(const char *name)
{
    for (size_t i = 0; i < N_CMDS; i++) {
        if (strcmp(cmds[i].group, name) == 0)
            return true;
    }
    return false;
}

void ctl_platform_usage(FILE *f)
{
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(f, "  %s%s%s %s\n", cmds[i].group, cmds[i].verb[0] ? " " : "", cmds[i].verb,
                cmds[i].synopsis);
    ctl_media_usage(f);
}

static int usage_error(const struct ctl_cmd *c, const char *fmt, const char *what)
{
    fprintf(stderr, "vcsctl: ");
    fprintf(stderr, fmt, what);
    if (c)
        fprintf(stderr, "\nusage: vcsctl %s%s%s %s\n", c->group, c->verb[0] ? " " : "", c->verb,
                c->synopsis);
    else
        fputc('\n', stderr);
    return EXIT_ERROR;
}

/* The whole file (or stdin) as text, at most 1 MiB like the server takes. */
static char *read_text_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vcsctl: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1024 * 1024;
    char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    int bad = !buf || ferror(f) || n > cap;
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "vcsctl: %s: %s\n", path, buf ? "unreadable or over 1 MiB" :
                                                          "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static json_t *read_json_file(const char *path)
{
    json_error_t je;
    json_t *j = strcmp(path, "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(path, 0, &je);
    if (!j)
        fprintf(stderr, "vcsctl: %s: %s (line %d)\n", path, je.text, je.line);
    return j;
}

/* Appends an encoded argument in place of the next %s of the path format. */
static int build_path(const struct ctl_cmd *c, char **args, size_t *used, char *out)
{
    size_t n = 0;
    for (const char *p = c->path; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            char *enc = evhttp_uriencode(args[(*used)++], -1, 0);
            if (!enc)
                return -1;
            n += (size_t)snprintf(out + n, PATH_MAX_LEN - n, "%s", enc);
            free(enc);
            p++;
        } else if (n + 1 < PATH_MAX_LEN) {
            out[n++] = *p;
        }
        if (n >= PATH_MAX_LEN)
            return -1;
    }
    out[n] = '\0';
    return 0;
}

static size_t count_format(const char *path)
{
    size_t n = 0;
    for (const char *p = strstr(path, "%s"); p; p = strstr(p + 2, "%s"))
        n++;
    return n;
}

/* Prints a successful answer; a token is a secret shown once, which people are told. */
static void print_answer(const struct ctl_cmd *c, int status, json_t *j, bool json)
{
    if (json) {
        if (j)
            json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        else
            fputs("{}", stdout);
        putchar('\n');
        return;
    }
    if (status == 204) {
        printf("%s %s: done\n", c->group, c->verb);
        return;
    }
    if (c->columns) {
        table_print(stdout, json_object_get(j, "items"), c->columns);
        return;
    }
    if (c->lines) { /* the summary, then each list of lines as a table */
        json_t *summary = json_object(), *v;
        const char *key;
        json_object_foreach(j, key, v) {
            if (!json_is_array(v))
                json_object_set(summary, key, v);
        }
        object_print(stdout, summary);
        json_decref(summary);
        json_object_foreach(j, key, v) {
            if (json_is_array(v)) {
                printf("\n%s:\n", key);
                table_print(stdout, v, c->lines);
            }
        }
        return;
    }
    object_print(stdout, j);
    if (json_is_string(json_object_get(j, "token")))
        fprintf(stderr, "vcsctl: keep the token now: it is shown only once\n");
    if (json_is_string(json_object_get(j, "secret")))
        fprintf(stderr, "vcsctl: keep the secret now: it is shown only once\n");
}

/* One request; 0 with *j (may be NULL for 204) and *status, 1 after an API error, 2. */
static int request(const struct target *t, const struct ctl_cmd *c, const char *path,
                   const char *body, json_t **j, int *status)
{
    struct reply r;
    *j = NULL;
    if (http_call(t, c->method, path, body, CALL_TIMEOUT_S, &r) != 0)
        return EXIT_ERROR;
    *status = r.status;
    *j = r.body[0] ? json_loads(r.body, 0, NULL) : NULL;
    int rc = EXIT_OK;
    if (r.status < 200 || r.status > 299) {
        report_http_error(t, r.status, *j);
        json_decref(*j);
        *j = NULL;
        rc = EXIT_REFUSED;
    } else if (r.status != 204 && !*j) {
        fprintf(stderr, "vcsctl: unexpected answer from %s: %.200s\n", t->shown, r.body);
        rc = EXIT_ERROR;
    }
    free(r.body);
    return rc;
}

/* A list: every page unless the user asked for one (--limit or --after). */
static int run_list(const struct target *t, const struct ctl_cmd *c, const char *path,
                    const char *query, bool json)
{
    bool one_page = strstr(query, "&limit=") || strstr(query, "&after=");
    json_t *all = json_array();
    char *cursor = NULL;
    int rc = EXIT_OK, status = 0;
    json_t *last = NULL;
    for (int page = 0; all && page < MAX_PAGES; page++) {
        char url[PATH_MAX_LEN * 2];
        char *enc = cursor ? evhttp_uriencode(cursor, -1, 0) : NULL;
        if (one_page)
            snprintf(url, sizeof url, "%s?%s", path, query + 1);
        else
            snprintf(url, sizeof url, "%s?limit=1000%s%s%s", path, enc ? "&after=" : "",
                     enc ? enc : "", query);
        free(enc);
        json_decref(last);
        if ((rc = request(t, c, url, NULL, &last, &status)) != EXIT_OK)
            break;
        json_array_extend(all, json_object_get(last, "items"));
        free(cursor);
        const char *next = json_string_value(json_object_get(last, "next"));
        cursor = next ? strdup(next) : NULL;
        if (one_page || !cursor)
            break;
    }
    if (rc == EXIT_OK && all) {
        json_t *out = json_pack("{s:O,s:s?}", "items", all, "next", one_page ? cursor : NULL);
        print_answer(c, status, out, json);
        if (one_page && cursor && !json)
            fprintf(stderr, "next: %s\n", cursor);
        json_decref(out);
    }
    json_decref(last);
    json_decref(all);
    free(cursor);
    return rc;
}

/* Options of the command into the body or the query string; -1 after a usage message. */
static int take_option(const struct ctl_cmd *c, const char *flag, const char *value,
                       json_t *body, char *query, size_t qlen)
{
    for (const struct ctl_opt *o = c->opts; o && o->flag; o++) {
        if (strcmp(o->flag, flag) != 0)
            continue;
        if (o->type == 'i') {
            char *end;
            errno = 0;
            long long v = strtoll(value, &end, 10);
            if (!*value || *end || errno) {
                usage_error(c, "%s needs an integer", flag);
                return -1;
            }
            json_object_set_new(body, o->field, json_integer(v));
        } else if (o->type == 's') {
            json_object_set_new(body, o->field, json_string(value));
        } else if (o->type == 'p') {
            /* A secret: "-" reads it from the first line of stdin, so that it need not show
             * in the process list or the shell's history. */
            char line[512];
            if (strcmp(value, "-") == 0) {
                if (!fgets(line, sizeof line, stdin)) {
                    usage_error(c, "%s -: nothing on stdin", flag);
                    return -1;
                }
                line[strcspn(line, "\r\n")] = '\0';
                value = line;
            }
            json_object_set_new(body, o->field, json_string(value));
        } else if (o->type == 'j') {
            json_t *obj = json_loads(value, 0, NULL);
            if (!json_is_object(obj)) {
                json_decref(obj);
                usage_error(c, "%s needs a JSON object", flag);
                return -1;
            }
            json_object_set_new(body, o->field, obj);
        } else if (o->type == 'a') {
            json_t *list = json_array();
            char *copy = strdup(value), *save = NULL;
            for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p;
                 p = strtok_r(NULL, ",", &save))
                json_array_append_new(list, json_string(p));
            free(copy);
            json_object_set_new(body, o->field, list);
        } else {
            char *enc = evhttp_uriencode(value, -1, 0);
            size_t n = strlen(query);
            snprintf(query + n, qlen - n, "&%s=%s", o->field, enc ? enc : "");
            free(enc);
        }
        return 0;
    }
    usage_error(c, "unknown option %s", flag);
    return -1;
}

int ctl_platform_run(const struct target *t, int argc, char **argv, bool json)
{
    if (ctl_media_wants(argc, argv))
        return ctl_media_run(t, argc, argv);
    /* "vcsctl audit --limit 5": a group alone, or followed by options, lists. */
    bool has_verb = argc > 1 && strncmp(argv[1], "--", 2) != 0;
    const char *verb = has_verb ? argv[1] : "list";
    const struct ctl_cmd *c = NULL;
    for (size_t i = 0; i < N_CMDS && !c; i++) {
        if (strcmp(cmds[i].group, argv[0]) != 0)
            continue;
        if (!cmds[i].verb[0]) { /* "vcsctl balance acme": the group is the command */
            c = &cmds[i];
            has_verb = false;
        } else if (strcmp(cmds[i].verb, verb) == 0) {
            c = &cmds[i];
        }
    }
    if (!c)
        return usage_error(NULL, "unknown command: vcsctl %s (see vcsctl help)",
                           has_verb ? argv[1] : argv[0]);
    json_t *body = json_object();
    char query[512] = "";
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    size_t npos = 0;
    int rc = EXIT_OK;
    for (int i = has_verb ? 2 : 1; i < argc && rc == EXIT_OK; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            char *eq = strchr(argv[i], '=');
            char flag[64];
            const char *value;
            if (eq) {
                snprintf(flag, sizeof flag, "%.*s", (int)(eq - argv[i]), argv[i]);
                value = eq + 1;
            } else if (i + 1 < argc) {
                snprintf(flag, sizeof flag, "%s", argv[i]);
                value = argv[++i];
            } else {
                rc = usage_error(c, "%s needs a value", argv[i]);
                break;
            }
            if (strcmp(flag, "--account") == 0) {
                /* The operator acting on another account (the server refuses anyone else). */
                char *enc = evhttp_uriencode(value, -1, 0);
                size_t n = strlen(query);
                snprintf(query + n, sizeof query - n, "&account=%s", enc ? enc : "");
                free(enc);
            } else if (take_option(c, flag, value, body, query, sizeof query) != 0) {
                rc = EXIT_ERROR;
            }
        } else if (pos) {
            pos[npos++] = argv[i];
        }
    }
    size_t in_path = count_format(c->path), in_body = 0;
    for (const char *const *b = c->body_args; b && *b; b++)
        in_body++;
    if (rc == EXIT_OK && (!pos || npos != in_path + in_body))
        rc = usage_error(c, "%s", "wrong number of arguments");
    char path[PATH_MAX_LEN];
    size_t used = 0;
    if (rc == EXIT_OK && build_path(c, pos, &used, path) != 0)
        rc = usage_error(c, "%s", "an argument is too long");
    char *raw = NULL; /* a text body given as a file */
    for (size_t k = 0; rc == EXIT_OK && k < in_body; k++) {
        const char *field = c->body_args[k];
        if (field[0] == '<') {
            if (!(raw = read_text_file(pos[used + k])))
                rc = EXIT_ERROR;
            continue;
        }
        json_t *v;
        if (field[0] == '#') { /* an integer */
            char *end;
            errno = 0;
            long long n = strtoll(pos[used + k], &end, 10);
            if (!pos[used + k][0] || *end || errno) {
                rc = usage_error(c, "%s must be an integer", field + 1);
                continue;
            }
            v = json_integer(n);
        } else {
            v = field[0] == '@' ? read_json_file(pos[used + k]) : json_string(pos[used + k]);
        }
        if (!v)
            rc = EXIT_ERROR;
        else if (strcmp(field, "@") == 0 && !json_is_object(v))
            rc = usage_error(c, "%s must hold a JSON object", pos[used + k]);
        else if (strcmp(field, "@") == 0) /* the file is the whole body */
            json_object_update(body, v);
        else
            json_object_set_new(body, strchr("@#", field[0]) ? field + 1 : field, v);
        if (v && strcmp(field, "@") == 0)
            json_decref(v);
    }
    if (rc == EXIT_OK && strcmp(c->group, "campaign") == 0 && strcmp(c->verb, "status") == 0) {
        rc = ctl_campaign_status(t, pos[0], json);
    } else if (rc == EXIT_OK) {
        if (c->columns) {
            rc = run_list(t, c, path, query, json);
        } else {
            bool has_body = c->method == EVHTTP_REQ_POST || c->method == EVHTTP_REQ_PATCH;
            char *text = raw ? raw : has_body ? json_dumps(body, JSON_COMPACT) : NULL;
            raw = NULL;
            json_t *j = NULL;
            int status = 0;
            char url[PATH_MAX_LEN + sizeof query];
            snprintf(url, sizeof url, "%s%s%s", path, query[0] ? "?" : "",
                     query[0] ? query + 1 : "");
            rc = request(t, c, url, text, &j, &status);
            if (rc == EXIT_OK)
                print_answer(c, status, j, json);
            json_decref(j);
            free(text);
        }
    }
    free(raw);
    free(pos);
    json_decref(body);
    return rc;
}
