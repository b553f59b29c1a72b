/* GET /v1/cdrs (SPEC 6 and 7): the account's CDR rows with filters, as list pages or, with
 * Accept: text/csv, as one CSV export streamed in chunks. The export reads CSV_BATCH rows at a
 * time and reads the next batch only once the previous chunk has left for the client, so its
 * memory is bounded by one batch whatever the table holds and however slow the client is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/api_internal.h"
#include "core/log.h"
#include "store/cdr_query.h"
#include "store/iam.h"

#define CSV_BATCH 500

static bool all_of(const char *s, const char *set)
{
    return s[strspn(s, set)] == '\0';
}

/* YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]; copied without the Z so that it compares as a prefix of
 * the stored times (2026-11-24T06:15:13.123Z). */
static bool time_filter(const char *v, char *out, size_t outlen)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddd";
    size_t n = strlen(v);
    if (n > 0 && v[n - 1] == 'Z')
        n--;
    if ((n != 10 && n != 16 && n != 19 && (n < 21 || n > 23)) || n >= outlen)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (shape[i] == 'd' ? v[i] < '0' || v[i] > '9' : v[i] != shape[i])
            return false;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

static bool text_filter(const char *v, const char *set, char *out, size_t outlen)
{
    size_t n = strlen(v);
    if (n == 0 || n >= outlen || (set && !all_of(v, set)))
        return false;
    memcpy(out, v, n + 1);
    return true;
}

static bool printable(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x21 || *p > 0x7e)
            return false;
    }
    return true;
}

/* One query parameter into the filter; false with err filled for a bad or unknown one. */
static bool filter_param(struct cdr_filter *f, const char *key, const char *v, char *err,
                         size_t errlen)
{
    bool ok = true;
    const char *want = NULL;
    if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
        ok = time_filter(v, key[0] == 's' ? f->since : f->until, sizeof f->since);
        want = "an ISO-8601 UTC time such as 2026-11-24 or 2026-11-24T06:15:13.123Z";
    } else if (strcmp(key, "number") == 0) {
        ok = text_filter(v, "+0123456789", f->number, sizeof f->number);
        /* ?number=+8610... unencoded arrives as " 8610...": no number has a space, so it was
         * the '+' that curl users type. */
        if (!ok && v[0] == ' ' && text_filter(v + 1, "0123456789", f->number + 1,
                                              sizeof f->number - 1)) {
            f->number[0] = '+';
            ok = true;
        }
        want = "a number of + and digits";
    } else if (strcmp(key, "cause") == 0) {
        ok = text_filter(v, "abcdefghijklmnopqrstuvwxyz_", f->cause, sizeof f->cause);
        want = "a hangup cause such as normal_clearing";
    } else if (strcmp(key, "campaign") == 0) {
        ok = printable(v) && text_filter(v, NULL, f->campaign, sizeof f->campaign);
        want = "a campaign id";
    } else if (strcmp(key, "direction") == 0) {
        ok = (strcmp(v, "inbound") == 0 || strcmp(v, "outbound") == 0) &&
             text_filter(v, NULL, f->direction, sizeof f->direction);
        want = "inbound or outbound";
    } else if (strcmp(key, "limit") != 0 && strcmp(key, "after") != 0 &&
               strcmp(key, "account") != 0) {
        snprintf(err, errlen, "unknown parameter \"%.40s\" (filters: since, until, number, "
                 "cause, campaign, direction)", key);
        return false;
    }
    if (!ok)
        snprintf(err, errlen, "%s must be %s", key, want);
    return ok;
}

/* The filter of the request: the caller's account (the operator: all, or the one it names). */
static bool parse_filter(struct api_call *c, struct cdr_filter *f, int64_t *after, char *err,
                         size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->all_accounts = c->operator && c->scope == c->account;
    snprintf(f->account, sizeof f->account, "%s", c->scope);
    *after = 0;
    if (c->after[0]) {
        if (!all_of(c->after, "0123456789") || strlen(c->after) > 18) {
            snprintf(err, errlen, "after: not a cursor this server gave");
            return false;
        }
        *after = strtoll(c->after, NULL, 10);
    }
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(c->req));
    struct evkeyvalq args;
    TAILQ_INIT(&args);
    bool ok = !q || evhttp_parse_query_str(q, &args) == 0;
    if (!ok)
        snprintf(err, errlen, "the query string cannot be parsed");
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &args, next) {
        if (ok)
            ok = filter_param(f, kv->key, kv->value, err, errlen);
    }
    evhttp_clear_headers(&args);
    if (ok && f->since[0] && f->until[0] && strcmp(f->since, f->until) > 0) {
        snprintf(err, errlen, "since must not be after until");
        ok = false;
    }
    return ok;
}

/* ---- CSV export ------------------------------------------------------------------------- */

struct csv_export {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    sqlite3 *db;
    struct cdr_filter f;
    int64_t last_id;
    unsigned long long rows;
};

static void csv_field(struct evbuffer *b, const char *t)
{
    if (!t[strcspn(t, ",\"\r\n")]) {
        evbuffer_add(b, t, strlen(t));
        return;
    }
    evbuffer_add(b, "\"", 1);
    for (const char *p = t; *p;) {
        size_t k = strcspn(p, "\"");
        evbuffer_add(b, p, k);
        p += k;
        if (*p) {
            evbuffer_add(b, "\"\"", 2);
            p++;
        }
    }
    evbuffer_add(b, "\"", 1);
}

static void csv_header(struct evbuffer *b)
{
    for (size_t i = 0; cdr_columns[i]; i++)
        evbuffer_add_printf(b, "%s%s", i ? "," : "", cdr_columns[i]);
    evbuffer_add(b, "\r\n", 2);
}

/* Appends up to CSV_BATCH rows after last_id: their count, or -1 when the read failed. */
static int csv_batch(struct csv_export *x, struct evbuffer *b)
{
    sqlite3_stmt *st = cdr_query(x->db, &x->f, x->last_id, CSV_BATCH);
    if (!st)
        return -1;
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *t = (const char *)sqlite3_column_text(st, i);
            if (i)
                evbuffer_add(b, ",", 1);
            csv_field(b, t ? t : "");
        }
        evbuffer_add(b, "\r\n", 2);
        x->last_id = sqlite3_column_int64(st, 0);
        n++;
    }
    if (rc != SQLITE_DONE) {
        log_error("api: CDR export: %s", sqlite3_errmsg(x->db));
        n = -1;
    }
    sqlite3_finalize(st);
    return n;
}

static void csv_closed(struct evhttp_connection *conn, void *arg)
{
    struct csv_export *x = arg;
    (void)conn;
    log_info("api: CDR export stopped by the client after %llu rows", x->rows);
    free(x);
}

static void csv_next(struct evhttp_connection *conn, void *arg)
{
    struct csv_export *x = arg;
    (void)conn;
    struct evbuffer *b = evbuffer_new();
    int n = b ? csv_batch(x, b) : -1;
    if (n > 0) {
        x->rows += (unsigned long long)n;
        evhttp_send_reply_chunk_with_cb(x->req, b, csv_next, x);
        evbuffer_free(b);
        return;
    }
    if (n < 0) /* the header said 200: all a client can be told now is a cut-short body */
        evbuffer_add_printf(b, "# export failed after %llu rows: see the server log\r\n",
                            x->rows);
    if (b && evbuffer_get_length(b))
        evhttp_send_reply_chunk(x->req, b);
    if (b)
        evbuffer_free(b);
    evhttp_connection_set_closecb(x->conn, NULL, NULL);
    evhttp_send_reply_end(x->req);
    free(x);
}

static void csv_start(struct api_call *c, struct api_reply *r, const struct cdr_filter *f,
                      int64_t after)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    if (evhttp_request_get_command(c->req) == EVHTTP_REQ_HEAD) {
        r->status = 200;
        r->text = evbuffer_new();
        r->content_type = "text/csv; charset=utf-8";
        return;
    }
    struct csv_export *x = calloc(1, sizeof *x);
    struct evbuffer *b = evbuffer_new();
    if (!x || !b) {
        free(x);
        if (b)
            evbuffer_free(b);
        api_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    x->req = c->req;
    x->conn = evhttp_request_get_connection(c->req);
    x->db = iam_store_db(c->api->iam);
    x->f = *f;
    x->last_id = after;
    evhttp_add_header(h, "Content-Type", "text/csv; charset=utf-8");
    evhttp_add_header(h, "Content-Disposition", "attachment; filename=\"cdrs.csv\"");
    evhttp_add_header(h, "Cache-Control", "no-store");
    r->streamed = true;
    evhttp_send_reply_start(c->req, 200, "OK");
    evhttp_connection_set_closecb(x->conn, csv_closed, x);
    csv_header(b);
    evhttp_send_reply_chunk_with_cb(c->req, b, csv_next, x);
    evbuffer_free(b);
}

void api_cdrs_list(struct api_call *c, struct api_reply *r)
{
    struct cdr_filter f;
    int64_t after;
    char err[256];
    if (!parse_filter(c, &f, &after, err, sizeof err)) {
        api_reply_error(r, 400, "bad_request", "%s", err);
        return;
    }
    const char *accept = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Accept");
    if (accept && strstr(accept, "text/csv")) {
        csv_start(c, r, &f, after);
        return;
    }
    json_t *page = NULL;
    if (cdr_page(iam_store_db(c->api->iam), &f, after, c->limit, &page) != 0)
        api_reply_error(r, 500, "internal", "the store failed on CDRs");
    else
        api_reply_json(r, 200, page);
}
