/* CSV imports (see csv_lines.h). */
#include "store/csv_lines.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "store/mgmt_sql.h"

#define MAX_LINE 256
#define MAX_FIELDS 8

static size_t split_fields(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line;; p++) {
        if (n < max)
            f[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p)
            break;
        *p = '\0';
    }
    for (size_t i = 0; i < n && i < max; i++) {
        size_t l = strlen(f[i]);
        while (l > 0 && isspace((unsigned char)f[i][l - 1]))
            f[i][--l] = '\0';
        while (isspace((unsigned char)*f[i]))
            f[i]++;
    }
    return n;
}

static int add_error(json_t *errors, size_t line, const char *msg)
{
    return json_array_append_new(errors, json_pack("{s:I,s:s}", "line", (json_int_t)line,
                                                   "message", msg));
}

typedef int (*csv_line_fn)(void *ctx, char **fields, size_t n, const char **msg);

/* Splits csv into lines for fn; refusals appended to errors. 0, or -1 when fn failed or
 * memory ran out. */
static int csv_each_line(const char *csv, size_t len, const char *first_column,
                         size_t max_fields, csv_line_fn fn, void *ctx, json_t *errors)
{
    char *text = malloc(len + 1);
    if (!text || max_fields > MAX_FIELDS) {
        free(text);
        return -1;
    }
    memcpy(text, csv, len);
    text[len] = '\0';
    int rc = 0;
    size_t lineno = 0;
    for (char *line = text, *next; rc == 0 && line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        if (strlen(line) > MAX_LINE) {
            add_error(errors, lineno, "line longer than 256 characters");
            continue;
        }
        char *f[MAX_FIELDS];
        size_t n = split_fields(line, f, max_fields);
        if (lineno == 1 && n >= 1 && strcmp(f[0], first_column) == 0)
            continue; /* the header */
        const char *msg = NULL;
        int r = fn(ctx, f, n, &msg);
        if (r == 1)
            add_error(errors, lineno, msg ? msg : "refused");
        else if (r < 0)
            rc = -1;
    }
    free(text);
    return rc;
}

struct import {
    sqlite3_stmt *st;
    csv_row_fn fn;
    json_int_t taken;
};

static int import_line(void *ctx, char **f, size_t n, const char **msg)
{
    struct import *im = ctx;
    int rc = im->fn(im->st, f, n, msg);
    sqlite3_reset(im->st);
    im->taken += rc == 0;
    return rc;
}

enum iam_rc csv_import(sqlite3 *db, const char *sql, const char *csv, size_t len,
                       const char *first_column, size_t max_fields, csv_row_fn fn,
                       json_t **out)
{
    *out = NULL;
    json_t *errors = json_array();
    if (!errors || msql_begin(db) != 0) {
        json_decref(errors);
        return IAM_FAIL;
    }
    struct import im = { msql_prep(db, sql), fn, 0 };
    enum iam_rc rc = im.st && csv_each_line(csv, len, first_column, max_fields, import_line,
                                            &im, errors) == 0 ? IAM_OK : IAM_FAIL;
    sqlite3_finalize(im.st);
    rc = msql_commit(db, rc);
    if (rc == IAM_OK)
        *out = json_pack("{s:I,s:o}", "imported", im.taken, "errors", errors);
    else
        json_decref(errors);
    return rc == IAM_OK && !*out ? IAM_FAIL : rc;
}
