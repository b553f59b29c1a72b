/* CSV imports (see csv_lines.h). */
#include "store/csv_lines.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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

int csv_each_line(const char *csv, size_t len, const char *first_column, size_t max_fields,
                  csv_line_fn fn, void *ctx, json_t *errors)
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
