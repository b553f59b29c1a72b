/* Tables for people (see table.h). */
#include "ctl/table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The text of a value: malloc'd. */
static char *cell(json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("-");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_array(v)) {
        size_t len = 1;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            char *c = cell(e);
            len += (c ? strlen(c) : 0) + 1;
            free(c);
        }
        char *out = calloc(1, len + 1);
        json_array_foreach(v, i, e) {
            char *c = cell(e);
            if (out && c) {
                if (i)
                    strcat(out, ",");
                strcat(out, c);
            }
            free(c);
        }
        if (out && !out[0])
            strcpy(out, "-");
        return out;
    }
    if (json_is_object(v))
        return json_dumps(v, JSON_COMPACT);
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

void table_print(FILE *f, json_t *items, const char *const *columns)
{
    size_t ncol = 0;
    while (columns[ncol])
        ncol++;
    size_t *width = calloc(ncol ? ncol : 1, sizeof *width);
    if (!width)
        return;
    for (size_t c = 0; c < ncol; c++)
        width[c] = strlen(columns[c]);
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row) {
        for (size_t c = 0; c < ncol; c++) {
            char *t = cell(json_object_get(row, columns[c]));
            if (t && strlen(t) > width[c])
                width[c] = strlen(t);
            free(t);
        }
    }
    for (size_t c = 0; c < ncol; c++) {
        for (const char *p = columns[c]; *p; p++)
            fputc(toupper((unsigned char)*p), f);
        fprintf(f, "%*s", c + 1 < ncol ? (int)(width[c] - strlen(columns[c]) + 2) : 0, "");
    }
    fputc('\n', f);
    json_array_foreach(items, i, row) {
        for (size_t c = 0; c < ncol; c++) {
            char *t = cell(json_object_get(row, columns[c]));
            fprintf(f, "%-*s%s", c + 1 < ncol ? (int)width[c] : 0, t ? t : "?",
                    c + 1 < ncol ? "  " : "");
            free(t);
        }
        fputc('\n', f);
    }
    free(width);
}

void object_print(FILE *f, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char *t = cell(v);
        fprintf(f, "%s: %s\n", key, t ? t : "?");
        free(t);
    }
}
