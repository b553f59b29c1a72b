/* Campaigns (SPEC 9): create with every setting checked, callee upload (text/csv), the state
 * machine, progress and results (JSON, or CSV with Accept: text/csv). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "api/api_internal.h"
#include "campaign/tz.h"
#include "campaign/window.h"
#include "store/campaigns.h"
#include "store/inventory.h"
#include "store/mgmt_sql.h"

#define NAME_MAX_LEN 64
#define SCRIPT_MAX_LEN 64
#define RESULTS_CSV_MAX 10000000

/* The operator sees every account's campaigns. */
static const char *owner(const struct api_call *c)
{
    return c->operator ? NULL : c->account;
}

/* An integer field of obj in lo..hi (dflt when absent); -1 after a 400. */
static int int_field(struct api_reply *r, json_t *obj, const char *where, const char *k,
                     json_int_t lo, json_int_t hi, json_int_t dflt, json_int_t *v)
{
    json_t *x = json_object_get(obj, k);
    *v = dflt;
    if (!x)
        return 0;
    if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi) {
        api_reply_error(r, 400, "bad_request", "%s%s must be an integer from %lld to %lld",
                        where, k, (long long)lo, (long long)hi);
        return -1;
    }
    *v = json_integer_value(x);
    return 0;
}

/* Only the keys named (NULL-terminated) may appear in obj; -1 after a 400. */
static int only_keys(struct api_reply *r, json_t *obj, const char *where, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i]) {
            api_reply_error(r, 400, "bad_request", "%s: unknown field %s", where, k);
            return -1;
        }
    }
    return 0;
}

static json_t *check_window(struct api_reply *r, json_t *w)
{
    static const char *const keys[] = { "tz", "days", "start", "end", NULL };
    if (!json_is_object(w)) {
        api_reply_error(r, 400, "bad_request", "window must be {tz, days, start, end}");
        return NULL;
    }
    if (only_keys(r, w, "window", keys) != 0)
        return NULL;
    const char *tzname = json_string_value(json_object_get(w, "tz"));
    const char *days = json_string_value(json_object_get(w, "days"));
    const char *start = json_string_value(json_object_get(w, "start"));
    const char *end = json_string_value(json_object_get(w, "end"));
    char err[160];
    struct tz *z = tzname ? tz_load(tzname, err, sizeof err) : NULL;
    if (!z) {
        api_reply_error(r, 400, "bad_request", "window.tz must be an IANA time zone name%s%s",
                        tzname ? ": " : "", tzname ? err : "");
        return NULL;
    }
    tz_free(z);
    uint8_t mask;
    unsigned s, e;
    if (!days || window_parse_days(days, &mask) != 0 || !mask) {
        api_reply_error(r, 400, "bad_request",
                        "window.days must be days like \"mon-fri\" or \"mon,wed,sat\"");
        return NULL;
    }
    if (!start || !end || window_parse_hhmm(start, &s) != 0 || window_parse_hhmm(end, &e) != 0 ||
        s >= e) {
        api_reply_error(r, 400, "bad_request",
                        "window.start and window.end must be HH:MM with start before end");
        return NULL;
    }
    return json_pack("{s:s,s:s,s:s,s:s}", "tz", tzname, "days", days, "start", start, "end", end);
}

static json_t *check_retry(struct api_reply *r, json_t *rt)
{
    static const char *const keys[] = { "on", "max_attempts", "interval_s", NULL };
    static const char *const results[] = { "busy", "no_answer", "failed" };
    if (rt && !json_is_object(rt)) {
        api_reply_error(r, 400, "bad_request", "retry must be {on, max_attempts, interval_s}");
        return NULL;
    }
    if (rt && only_keys(r, rt, "retry", keys) != 0)
        return NULL;
    json_int_t max_attempts, interval;
    if (int_field(r, rt, "retry.", "max_attempts", 1, 10, 3, &max_attempts) != 0 ||
        int_field(r, rt, "retry.", "interval_s", 60, 86400, 600, &interval) != 0)
        return NULL;
    json_t *on = rt ? json_object_get(rt, "on") : NULL;
    json_t *list = json_array();
    for (size_t i = 0; list && i < (on ? json_array_size(on) : 3); i++) {
        const char *v = on ? json_string_value(json_array_get(on, i)) : results[i];
        size_t k = 0;
        while (v && k < 3 && strcmp(v, results[k]) != 0)
            k++;
        if (!v || k == 3) {
            json_decref(list);
            api_reply_error(r, 400, "bad_request",
                            "retry.on must list some of busy, no_answer, failed");
            return NULL;
        }
        json_array_append_new(list, json_string(v));
    }
    if (on && !json_is_array(on)) {
        json_decref(list);
        api_reply_error(r, 400, "bad_request", "retry.on must list some of busy, no_answer, failed");
        return NULL;
    }
    return json_pack("{s:o,s:I,s:I}", "on", list, "max_attempts", max_attempts, "interval_s", interval);
}

/* caller_id: "auto", or an active number of the account (the operator: any E.164 number). */
static int check_caller_id(struct api_call *c, struct api_reply *r, const char *cid)
{
    if (cid && strcmp(cid, "auto") == 0)
        return 0;
    if (cid && inv_number_valid(cid)) {
        if (strcmp(c->scope, API_OPERATOR_ACCOUNT) == 0)
            return 0;
        const char *v[] = { cid, c->scope };
        if (msql_count(iam_store_db(c->api->iam), "SELECT count(*) FROM numbers WHERE number = ?1"
                       " AND account = ?2 AND state = 'active'", v, 2) > 0)
            return 0;
    }
    api_reply_error(r, 400, "bad_request",
                    "caller_id must be \"auto\" or an active number of account %s", c->scope);
    return -1;
}

void api_campaigns_create(struct api_call *c, struct api_reply *r)
{
    json_t *b = c->body;
    const char *name = json_string_value(json_object_get(b, "name"));
    const char *script = json_string_value(json_object_get(b, "script"));
    const char *amd = json_string_value(json_object_get(b, "amd"));
    if (!name[0] || strlen(name) > NAME_MAX_LEN) {
        api_reply_error(r, 400, "bad_request", "name must be 1 to %d characters", NAME_MAX_LEN);
        return;
    }
    if (!script[0] || strlen(script) > SCRIPT_MAX_LEN || strchr(script, '/') ||
        (c->api->ops.script_exists && !c->api->ops.script_exists(c->api->ops.ctx, script))) {
        api_reply_error(r, 400, "bad_request", "script %s is not a dialplan of this server", script);
        return;
    }
    if (check_caller_id(c, r, json_string_value(json_object_get(b, "caller_id"))) != 0)
        return;
    json_int_t maxc, cps, ring;
    if (int_field(r, b, "", "max_concurrent", 1, 10000, 10, &maxc) != 0 ||
        int_field(r, b, "", "cps", 1, 1000, 1, &cps) != 0 ||
        int_field(r, b, "", "ring_timeout_s", 5, 300, 30, &ring) != 0)
        return;
    if (amd && strcmp(amd, "off") != 0 && strcmp(amd, "hangup") != 0 && strcmp(amd, "continue") != 0) {
        api_reply_error(r, 400, "bad_request", "amd must be off, hangup or continue");
        return;
    }
    json_t *vars = json_object_get(b, "vars");
    const char *k;
    json_t *v;
    json_object_foreach(vars, k, v) {
        if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
            api_reply_error(r, 400, "bad_request", "vars.%s must be a string, number or boolean", k);
            return;
        }
    }
    json_t *window = check_window(r, json_object_get(b, "window"));
    json_t *retry = window ? check_retry(r, json_object_get(b, "retry")) : NULL;
    if (!retry) {
        json_decref(window);
        return;
    }
    json_t *settings = json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:I,s:s,s:o}", "script", script,
                                 "caller_id", json_string_value(json_object_get(b, "caller_id")),
                                 "max_concurrent", maxc, "cps", cps, "window", window, "retry",
                                 retry, "ring_timeout_s", ring, "amd", amd ? amd : "off", "vars",
                                 vars ? json_incref(vars) : json_object());
    json_t *out = NULL;
    enum iam_rc rc = settings ? camp_create(iam_store_db(c->api->iam), c->scope, name, settings, &out)
                              : IAM_FAIL;
    json_decref(settings);
    if (rc == IAM_OK)
        api_reply_json(r, 201, out);
    else
        api_reply_store(r, rc, "campaign");
}

void api_campaigns_list(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    enum iam_rc rc = camp_list(iam_store_db(c->api->iam), owner(c), c->after, c->limit, &pg);
    api_reply_result(r, rc, pg, "campaigns");
}

void api_campaigns_get(struct api_call *c, struct api_reply *r)
{
    json_t *o = NULL;
    enum iam_rc rc = camp_get(iam_store_db(c->api->iam), owner(c), api_param(c, "id"), &o);
    api_reply_result(r, rc, o, "campaign");
}

void api_campaigns_callees(struct api_call *c, struct api_reply *r)
{
    size_t n;
    const char *csv = api_csv_body(c, r, &n);
    if (!csv)
        return;
    json_t *out = NULL;
    char msg[256] = "";
    enum iam_rc rc = camp_callees_import(iam_store_db(c->api->iam), owner(c), api_param(c, "id"),
                                         csv, n, &out, msg, sizeof msg);
    if (rc == IAM_EXISTS) {
        json_t *runs = json_object_get(out, "runs");
        char first[128];
        snprintf(first, sizeof first, "%s", json_string_value(json_array_get(runs, 0)));
        api_reply_error(r, 422, "sequential_numbers",
                        "the list dials by number segments: %zu run(s) of %d or more consecutive"
                        " numbers, first %s; nothing was stored", json_array_size(runs),
                        CAMP_RUN_MIN, first);
        json_object_set(json_object_get(r->json, "error"), "runs", runs);
        json_decref(out);
    } else if (rc == IAM_IN_USE) {
        api_reply_error(r, 409, "conflict", "%s", msg);
    } else if (rc == IAM_FAIL && msg[0]) {
        api_reply_error(r, 400, "bad_request", "%s", msg);
    } else {
        api_reply_result(r, rc, out, "campaign");
    }
}

static void move(struct api_call *c, struct api_reply *r, const char *action)
{
    json_t *o = NULL;
    char msg[256] = "";
    enum iam_rc rc = camp_move(iam_store_db(c->api->iam), owner(c), api_param(c, "id"), action,
                               &o, msg, sizeof msg);
    if (rc == IAM_IN_USE)
        api_reply_error(r, 409, "conflict", "%s", msg);
    else
        api_reply_result(r, rc, o, "campaign");
}

void api_campaigns_start(struct api_call *c, struct api_reply *r) { move(c, r, "start"); }
void api_campaigns_pause(struct api_call *c, struct api_reply *r) { move(c, r, "pause"); }
void api_campaigns_resume(struct api_call *c, struct api_reply *r) { move(c, r, "resume"); }
void api_campaigns_cancel(struct api_call *c, struct api_reply *r) { move(c, r, "cancel"); }

/* One CSV field, quoted when it needs to be. */
static void csv_field(struct evbuffer *b, const char *s, bool last)
{
    if (s && strpbrk(s, ",\"\r\n")) {
        evbuffer_add(b, "\"", 1);
        for (; *s; s++) {
            if (*s == '"')
                evbuffer_add(b, "\"", 1); /* doubled */
            evbuffer_add(b, s, 1);
        }
        evbuffer_add(b, "\"", 1);
    } else if (s) {
        evbuffer_add(b, s, strlen(s));
    }
    evbuffer_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void results_csv(struct api_reply *r, json_t *items)
{
    static const char *const cols[] = { "number", "attempts", "result", "last_call_id",
                                        "answered_at", "billsec", "vars" };
    const size_t nc = sizeof cols / sizeof cols[0];
    r->text = evbuffer_new();
    if (!r->text) {
        api_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    for (size_t k = 0; k < nc; k++)
        csv_field(r->text, cols[k], k + 1 == nc);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *row = json_array_get(items, i);
        for (size_t k = 0; k < nc; k++) {
            json_t *v = json_object_get(row, cols[k]);
            char *text = json_is_string(v) ? NULL : json_is_null(v) || !v ? NULL
                         : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
            csv_field(r->text, json_is_string(v) ? json_string_value(v) : text ? text : "",
                      k + 1 == nc);
            free(text);
        }
    }
    r->content_type = "text/csv";
    r->status = 200;
}

void api_campaigns_results(struct api_call *c, struct api_reply *r)
{
    const char *accept = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Accept");
    bool csv = accept && strstr(accept, "text/csv");
    json_t *pg = NULL;
    enum iam_rc rc = camp_results(iam_store_db(c->api->iam), owner(c), api_param(c, "id"),
                                  csv ? NULL : c->after, csv ? RESULTS_CSV_MAX : c->limit, &pg);
    if (rc == IAM_OK && csv) {
        results_csv(r, json_object_get(pg, "items"));
        json_decref(pg);
        return;
    }
    api_reply_result(r, rc, pg, "campaign");
}
