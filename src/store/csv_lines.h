/* The CSV files the operator imports (numbers, regions): one record a line, plain
 * comma-separated fields (none needs quoting), spaces around a field trimmed, blank lines
 * skipped, an optional header line (its first field is the first column's name), lines over
 * 256 characters refused. Every other line goes to a function that takes it or says why not;
 * refused lines are reported as {"line": L, "message": ...}. */
#ifndef VCS_STORE_CSV_LINES_H
#define VCS_STORE_CSV_LINES_H

#include <stddef.h>

#include <jansson.h>

/* 0 taken, 1 refused (*msg says why), -1 failed (the import stops). */
typedef int (*csv_line_fn)(void *ctx, char **fields, size_t n, const char **msg);

/* Splits csv (len bytes, no NUL inside) into lines for fn, of at most max_fields fields
 * (n is the count found, which may be more). Appends refusals to errors. 0, or -1 when fn
 * failed or memory ran out. */
int csv_each_line(const char *csv, size_t len, const char *first_column, size_t max_fields,
                  csv_line_fn fn, void *ctx, json_t *errors);

#endif
