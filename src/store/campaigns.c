/* Campaigns, callees and do-not-call lists (see campaigns.h). */
#include "store/campaigns.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/errmsg.h"
#include "store/inventory.h"
#include "store/mgmt_sql.h"

#define MAX_VARS 32
#define MAX_VAR_NAME 64
#define MAX_VALUE 512
#define MAX_LINE 8192
#define MAX_RUNS_NAMED 20

/* A campaign id from the path; 0 when it is not one. */
static int64_t parse_id(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return *s && !*end && !errno && v > 0 ? v : 0;
}

/* The campaign's state if account (NULL: any) may see it; -1 when not found. */
static int find(sqlite3 *db, const char *account, int64_t id, char *state, size_t len)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT state FROM campaigns WHERE id = ?1"
                                     " AND (?2 IS NULL OR account = ?2)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (account)
        sqlite3_bind_text(st, 2, account, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_ROW && msql_copy_text(st, 0, state, len) == 0 ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

enum iam_rc camp_create(sqlite3 *db, const char *account, const char *name, json_t *settings,
                        json_t **out)
{
    *out = NULL;
    char *text = json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS);
    char now[ISO8601_LEN];
    iso8601_ms(clock_wall_ms(), now);
    const char *v[] = { account, name, text, now };
    int rc = text ? msql_run(db, "INSERT INTO campaigns(account, name, settings, created_at)"
                                 " VALUES (?1, ?2, ?3, ?4)", v, 4)
                  : SQLITE_NOMEM;
    free(text);
    if (rc != SQLITE_DONE)
        return IAM_FAIL;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)sqlite3_last_insert_rowid(db));
    return camp_get(db, account, id, out);
}

static const char *const result_names[] = { "answered", "busy", "no_answer", "failed",
                                             "machine", "skipped_dnc", "skipped_cap" };
#define N_RESULTS (sizeof result_names / sizeof result_names[0])

static json_t *progress(sqlite3 *db, int64_t id)
{
    sqlite3_stmt *st = msql_prep(db,
        "SELECT count(*), total(state = 'pending'), total(state = 'in_progress'),"
        " total(state = 'done' AND result = 'answered'), total(state = 'done' AND result = 'busy'),"
        " total(state = 'done' AND result = 'no_answer'), total(state = 'done' AND result = 'failed'),"
        " total(state = 'done' AND result = 'machine'), total(state = 'done' AND result = 'skipped_dnc'),"
        " total(state = 'done' AND result = 'skipped_cap'),"
        " (SELECT count(*) FROM campaign_attempts WHERE campaign_id = ?1)"
        " FROM campaign_callees WHERE campaign_id = ?1");
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, id);
    json_t *p = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        p = json_pack("{s:I,s:I,s:I}", "total", (json_int_t)sqlite3_column_int64(st, 0),
                      "pending", (json_int_t)sqlite3_column_int64(st, 1),
                      "in_progress", (json_int_t)sqlite3_column_int64(st, 2));
        for (size_t i = 0; p && i < N_RESULTS; i++)
            json_object_set_new(p, result_names[i], json_integer(sqlite3_column_int64(st, 3 + (int)i)));
        if (p)
            json_object_set_new(p, "attempts", json_integer(sqlite3_column_int64(st, 10)));
    }
    sqlite3_finalize(st);
    return p;
}

enum iam_rc camp_get(sqlite3 *db, const char *account, const char *ids, json_t **out)
{
    *out = NULL;
    int64_t id = parse_id(ids);
    if (!id)
        return IAM_NOT_FOUND;
    sqlite3_stmt *st = msql_prep(db, "SELECT settings, id, account, name, state, created_at,"
                                     " started_at, ended_at FROM campaigns WHERE id = ?1"
                                     " AND (?2 IS NULL OR account = ?2)");
    if (!st)
        return IAM_FAIL;
    sqlite3_bind_int64(st, 1, id);
    if (account)
        sqlite3_bind_text(st, 2, account, -1, SQLITE_TRANSIENT);
    enum iam_rc rc = IAM_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        json_t *row = msql_row_json(st);
        json_object_del(row, "settings");
        json_t *p = progress(db, id);
        if (o && row && p && json_object_update(o, row) == 0 &&
            json_object_set_new(o, "progress", p) == 0) {
            *out = o;
            rc = IAM_OK;
        } else {
            json_decref(o);
            json_decref(p);
            rc = IAM_FAIL;
        }
        json_decref(row);
    }
    sqlite3_finalize(st);
    return rc;
}

enum iam_rc camp_list(sqlite3 *db, const char *account, const char *after, int limit,
                      json_t **out)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT id, account, name, state, created_at, started_at,"
                                     " ended_at FROM campaigns WHERE (?1 IS NULL OR account = ?1)"
                                     " AND id > ?2 ORDER BY id LIMIT ?3");
    if (st) {
        if (account)
            sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, after && *after ? parse_id(after) : 0);
    }
    return msql_page(db, st, 3, limit, "id", out);
}

static const struct {
    const char *action, *to, *from[3];
} moves[] = {
    { "start", "running", { "draft" } },
    { "pause", "paused", { "running" } },
    { "resume", "running", { "paused" } },
    { "cancel", "cancelled", { "draft", "running", "paused" } },
};

enum iam_rc camp_move(sqlite3 *db, const char *account, const char *ids, const char *action,
                      json_t **out, char *msg, size_t msglen)
{
    *out = NULL;
    int64_t id = parse_id(ids);
    size_t m = 0;
    while (m < sizeof moves / sizeof moves[0] && strcmp(moves[m].action, action) != 0)
        m++;
    if (!id || m == sizeof moves / sizeof moves[0])
        return IAM_NOT_FOUND;
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    char state[16];
    enum iam_rc rc = find(db, account, id, state, sizeof state) == 0 ? IAM_OK : IAM_NOT_FOUND;
    bool legal = false;
    for (size_t i = 0; rc == IAM_OK && i < 3 && moves[m].from[i]; i++)
        legal = legal || strcmp(state, moves[m].from[i]) == 0;
    if (rc == IAM_OK && !legal) {
        set_err(msg, msglen, "campaign %lld cannot move from %s to %s", (long long)id, state,
                moves[m].to);
        rc = IAM_IN_USE;
    }
    char now[ISO8601_LEN], idt[24];
    iso8601_ms(clock_wall_ms(), now);
    snprintf(idt, sizeof idt, "%lld", (long long)id);
    const char *v[] = { idt, moves[m].to, now };
    if (rc == IAM_OK &&
        msql_run(db, "UPDATE campaigns SET state = ?2,"
                     " started_at = CASE WHEN ?2 = 'running' THEN COALESCE(started_at, ?3) ELSE started_at END,"
                     " ended_at = CASE WHEN ?2 = 'cancelled' THEN ?3 ELSE ended_at END"
                     " WHERE id = CAST(?1 AS INTEGER)", v, 3) != SQLITE_DONE)
        rc = IAM_FAIL;
    rc = msql_commit(db, rc);
    return rc == IAM_OK ? camp_get(db, account, ids, out) : rc;
}

/* ---- callee upload ------------------------------------------------------------------------ */

/* Splits one CSV line (RFC 4180 quoting, no line breaks inside quotes) in place; returns the
 * number of fields (up to max kept), or -1 for a malformed quote. */
static int split_csv(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *w = p, *start = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            if (*p && *p != ',')
                return -1;
        } else {
            while (*p && *p != ',') {
                if (*p == '"')
                    return -1;
                w++, p++;
            }
        }
        char sep = *p;
        *w = '\0';
        if (n < max)
            f[n] = start;
        n++;
        if (!sep)
            return n;
        p++;
    }
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1]))
        s[--l] = '\0';
    return s;
}

static bool var_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > MAX_VAR_NAME || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    }
    return true;
}

struct callee_line {
    int line;
    char number[20];   /* as written (cut), also when refused */
    uint64_t value;    /* the digits as a number: duplicates and runs */
    const char *why;   /* NULL: accepted so far, else the reason it is refused */
    char *vars;        /* JSON text, owned */
};

static int by_value(const void *a, const void *b)
{
    const struct callee_line *x = *(const struct callee_line *const *)a;
    const struct callee_line *y = *(const struct callee_line *const *)b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->line - y->line;
}

/* Marks repeated numbers "duplicate" (all but the first line) and returns the runs of
 * CAMP_RUN_MIN or more consecutive numbers; NULL when out of memory. */
static json_t *dedupe_and_find_runs(struct callee_line *lines, size_t n)
{
    json_t *runs = json_array();
    struct callee_line **s = malloc((n ? n : 1) * sizeof *s);
    if (!runs || !s) {
        free(s);
        json_decref(runs);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!lines[i].why)
            s[k++] = &lines[i];
    }
    qsort(s, k, sizeof *s, by_value);
    size_t m = 0; /* distinct values, in place */
    for (size_t i = 0; i < k; i++) {
        if (m && s[i]->value == s[m - 1]->value)
            s[i]->why = "duplicate";
        else
            s[m++] = s[i];
    }
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && s[j]->value == s[j - 1]->value + 1)
            j++;
        if (j - i >= CAMP_RUN_MIN && json_array_size(runs) <= MAX_RUNS_NAMED)
            json_array_append_new(runs, json_array_size(runs) < MAX_RUNS_NAMED
                                            ? json_sprintf("%s..%s (%zu numbers)", s[i]->number,
                                                           s[j - 1]->number, j - i)
                                            : json_string("..."));
        i = j;
    }
    free(s);
    return runs;
}

/* Reads the header (in place): the names of the var columns after "number"; -1 with msg. */
static int read_header(char *line, char **names, int *n_names, char *msg, size_t msglen)
{
    char *f[MAX_VARS + 2];
    int n = split_csv(line, f, MAX_VARS + 2);
    if (n < 1 || strcmp(trim(f[0]), "number") != 0) {
        set_err(msg, msglen, "the first line must be the header number[,var...]");
        return -1;
    }
    if (n > MAX_VARS + 1) {
        set_err(msg, msglen, "at most %d var columns", MAX_VARS);
        return -1;
    }
    for (int i = 1; i < n; i++) {
        names[i - 1] = trim(f[i]);
        if (!var_name_valid(names[i - 1]) || strcmp(names[i - 1], "number") == 0) {
            set_err(msg, msglen, "header column %d: a var name is 1-%d of [A-Za-z0-9_], not"
                                 " starting with a digit", i + 1, MAX_VAR_NAME);
            return -1;
        }
        for (int k = 1; k < i; k++) {
            if (strcmp(names[k - 1], names[i - 1]) == 0) {
                set_err(msg, msglen, "header column %d: %s twice", i + 1, names[i - 1]);
                return -1;
            }
        }
    }
    *n_names = n - 1;
    return 0;
}

/* One data line (in place) into cl; cl->why says why it is refused. */
static void read_line(char *line, char *const *names, int n_names, struct callee_line *cl)
{
    char *f[MAX_VARS + 2];
    int n = split_csv(line, f, MAX_VARS + 2);
    snprintf(cl->number, sizeof cl->number, "%s", n > 0 ? trim(f[0]) : "");
    if (n != n_names + 1 || !inv_number_valid(cl->number)) {
        cl->why = "invalid";
        return;
    }
    cl->value = strtoull(cl->number + 1, NULL, 10);
    json_t *vars = json_object();
    for (int i = 0; vars && i < n_names; i++) {
        const char *val = trim(f[i + 1]);
        json_t *s = strlen(val) <= MAX_VALUE ? json_string(val) : NULL; /* NULL: not UTF-8 */
        if (!s) {
            json_decref(vars);
            cl->why = "invalid";
            return;
        }
        json_object_set_new(vars, names[i], s);
    }
    cl->vars = vars ? json_dumps(vars, JSON_COMPACT) : NULL;
    json_decref(vars);
    if (!cl->vars)
        cl->why = "invalid";
}

struct upload {
    struct callee_line *lines;
    size_t n, cap;
    char *header, *buf;
};

static void upload_free(struct upload *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->lines[i].vars);
    free(u->lines);
    free(u->header);
    free(u->buf);
}

/* Reads every line into u; IAM_IN_USE with msg for a bad header, IAM_FAIL out of memory. */
static enum iam_rc parse_upload(const char *csv, size_t len, struct upload *u, char *msg,
                                size_t msglen)
{
    char *names[MAX_VARS];
    int n_names = -1, lineno = 0;
    u->header = malloc(MAX_LINE + 1);
    u->buf = malloc(MAX_LINE + 1);
    if (!u->header || !u->buf)
        return IAM_FAIL;
    for (size_t pos = 0; pos < len;) {
        const char *src = csv + pos, *nl = memchr(src, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - src) : len - pos;
        pos += l + (nl ? 1 : 0);
        lineno++;
        if (l && src[l - 1] == '\r')
            l--;
        char *buf = n_names < 0 ? u->header : u->buf; /* the names live in the header's buffer */
        memcpy(buf, src, l < MAX_LINE ? l : MAX_LINE);
        buf[l < MAX_LINE ? l : MAX_LINE] = '\0';
        if (!*trim(buf))
            continue;
        if (n_names < 0) {
            if (l > MAX_LINE || read_header(buf, names, &n_names, msg, msglen) != 0) {
                if (l > MAX_LINE)
                    set_err(msg, msglen, "the header line is too long");
                return IAM_IN_USE;
            }
            continue;
        }
        if (u->n == u->cap) {
            size_t cap = u->cap ? 2 * u->cap : 256;
            struct callee_line *more = realloc(u->lines, cap * sizeof *more);
            if (!more)
                return IAM_FAIL;
            u->lines = more;
            u->cap = cap;
        }
        struct callee_line *cl = &u->lines[u->n++];
        *cl = (struct callee_line){ .line = lineno };
        if (l > MAX_LINE)
            cl->why = "invalid";
        else
            read_line(buf, names, n_names, cl);
    }
    if (n_names < 0) {
        set_err(msg, msglen, "the body has no header line number[,var...]");
        return IAM_IN_USE;
    }
    return IAM_OK;
}

/* Stores the accepted lines (a number on a DNC list or already a callee is refused). */
static enum iam_rc store_callees(sqlite3 *db, const char *account, int64_t id, struct upload *u,
                                 size_t *accepted)
{
    sqlite3_stmt *dnc = msql_prep(db, "SELECT 1 FROM dnc WHERE number = ?1 AND account IN (?2, '')");
    sqlite3_stmt *ins = msql_prep(db, "INSERT INTO campaign_callees(campaign_id, line, number, vars)"
                                      " VALUES (?1, ?2, ?3, ?4)");
    enum iam_rc rc = dnc && ins ? IAM_OK : IAM_FAIL;
    for (size_t i = 0; rc == IAM_OK && i < u->n; i++) {
        struct callee_line *cl = &u->lines[i];
        if (cl->why)
            continue;
        sqlite3_reset(dnc);
        sqlite3_bind_text(dnc, 1, cl->number, -1, SQLITE_STATIC);
        sqlite3_bind_text(dnc, 2, account, -1, SQLITE_STATIC);
        int r = sqlite3_step(dnc);
        if (r == SQLITE_ROW) {
            cl->why = "dnc";
            continue;
        }
        if (r != SQLITE_DONE) {
            rc = IAM_FAIL;
            break;
        }
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int(ins, 2, cl->line);
        sqlite3_bind_text(ins, 3, cl->number, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, cl->vars, -1, SQLITE_STATIC);
        r = sqlite3_step(ins);
        if ((r & 0xff) == SQLITE_CONSTRAINT)
            cl->why = "duplicate"; /* already a callee of this campaign */
        else if (r != SQLITE_DONE)
            rc = IAM_FAIL;
        else
            (*accepted)++;
    }
    sqlite3_finalize(dnc);
    sqlite3_finalize(ins);
    return rc;
}

enum iam_rc camp_callees_import(sqlite3 *db, const char *account, const char *ids,
                                const char *csv, size_t len, json_t **out, char *msg,
                                size_t msglen)
{
    *out = NULL;
    int64_t id = parse_id(ids);
    char state[16], owner[IAM_NAME_MAX + 1] = "";
    if (!id || find(db, account, id, state, sizeof state) != 0)
        return IAM_NOT_FOUND;
    if (strcmp(state, "completed") == 0 || strcmp(state, "cancelled") == 0) {
        set_err(msg, msglen, "campaign %lld is %s: no more callees", (long long)id, state);
        return IAM_IN_USE;
    }
    if (!account) { /* the operator: the DNC list that applies is the campaign's account's */
        const char *v[] = { ids };
        sqlite3_stmt *st = msql_prep(db, "SELECT account FROM campaigns WHERE id = CAST(?1 AS INTEGER)");
        if (st) {
            msql_bind_texts(st, v, 1);
            if (sqlite3_step(st) == SQLITE_ROW)
                msql_copy_text(st, 0, owner, sizeof owner);
            sqlite3_finalize(st);
        }
        account = owner;
    }
    struct upload u = { 0 };
    enum iam_rc rc = parse_upload(csv, len, &u, msg, msglen);
    if (rc == IAM_IN_USE)
        rc = IAM_FAIL; /* a bad header: msg says what (campaigns.h) */
    json_t *runs = rc == IAM_OK ? dedupe_and_find_runs(u.lines, u.n) : NULL;
    size_t accepted = 0;
    if (rc == IAM_OK && !runs)
        rc = IAM_FAIL;
    if (rc == IAM_OK && json_array_size(runs)) {
        *out = json_pack("{s:O}", "runs", runs);
        rc = IAM_EXISTS;
    } else if (rc == IAM_OK) {
        rc = msql_begin(db) == 0 ? store_callees(db, account, id, &u, &accepted) : IAM_FAIL;
        rc = msql_commit(db, rc);
    }
    json_decref(runs);
    if (rc == IAM_OK) {
        json_t *rejected = json_array();
        for (size_t i = 0; rejected && i < u.n; i++) {
            if (u.lines[i].why)
                json_array_append_new(rejected, json_pack("{s:i,s:s,s:s}", "line", u.lines[i].line,
                                                          "number", u.lines[i].number,
                                                          "reason", u.lines[i].why));
        }
        *out = rejected ? json_pack("{s:I,s:o}", "accepted", (json_int_t)accepted, "rejected", rejected) : NULL;
        rc = *out ? IAM_OK : IAM_FAIL;
    }
    upload_free(&u);
    return rc;
}

enum iam_rc camp_results(sqlite3 *db, const char *account, const char *ids, const char *after,
                         int limit, json_t **out)
{
    *out = NULL;
    int64_t id = parse_id(ids);
    char state[16];
    if (!id || find(db, account, id, state, sizeof state) != 0)
        return IAM_NOT_FOUND;
    sqlite3_stmt *st = msql_prep(db,
        "SELECT k.id, k.number, k.attempts, k.result, k.last_call_id, c.answer_time AS answered_at,"
        " c.billsec, COALESCE(c.vars, '{}') AS vars FROM campaign_callees k"
        " LEFT JOIN cdr c ON c.call_id = k.last_call_id"
        " WHERE k.campaign_id = ?1 AND k.id > ?2 ORDER BY k.id LIMIT ?3");
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, after && *after ? parse_id(after) : 0);
    }
    enum iam_rc rc = msql_page(db, st, 3, limit, "id", out);
    /* vars is the CDR's JSON text: give it back as JSON */
    json_t *items = rc == IAM_OK ? json_object_get(*out, "items") : NULL;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *row = json_array_get(items, i);
        json_t *v = json_loads(json_string_value(json_object_get(row, "vars")), 0, NULL);
        json_object_set_new(row, "vars", v ? v : json_object());
    }
    return rc;
}

/* ---- do-not-call ---------------------------------------------------------------------------- */

enum iam_rc dnc_add(sqlite3 *db, const char *account, json_t *numbers, json_t **out)
{
    *out = NULL;
    char now[ISO8601_LEN];
    iso8601_ms(clock_wall_ms(), now);
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    enum iam_rc rc = IAM_OK;
    size_t added = 0;
    for (size_t i = 0; rc == IAM_OK && i < json_array_size(numbers); i++) {
        const char *v[] = { account, json_string_value(json_array_get(numbers, i)), now };
        int r = msql_run(db, "INSERT OR IGNORE INTO dnc(account, number, created_at)"
                             " VALUES (?1, ?2, ?3)", v, 3);
        if (r != SQLITE_DONE)
            rc = IAM_FAIL;
        else
            added += (size_t)sqlite3_changes(db);
    }
    rc = msql_commit(db, rc);
    if (rc == IAM_OK && !(*out = json_pack("{s:I}", "added", (json_int_t)added)))
        rc = IAM_FAIL;
    return rc;
}

enum iam_rc dnc_list(sqlite3 *db, const char *account, const char *after, int limit,
                     json_t **out)
{
    sqlite3_stmt *st = msql_prep(db, "SELECT number, created_at FROM dnc WHERE account = ?1"
                                     " AND number > ?2 ORDER BY number LIMIT ?3");
    if (st) {
        sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_TRANSIENT);
    }
    return msql_page(db, st, 3, limit, "number", out);
}

enum iam_rc dnc_delete(sqlite3 *db, const char *account, const char *number)
{
    const char *v[] = { account, number };
    if (msql_run(db, "DELETE FROM dnc WHERE account = ?1 AND number = ?2", v, 2) != SQLITE_DONE)
        return IAM_FAIL;
    return sqlite3_changes(db) ? IAM_OK : IAM_NOT_FOUND;
}
