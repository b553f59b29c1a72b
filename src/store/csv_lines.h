/* The CSV files the operator imports (numbers, regions): one record a line, plain
 * comma-separated fields (none needs quoting), spaces around a field trimmed, blank lines
 * skipped, an optional header line (its first field is the first column's name), lines over
 * 256 characters refused. Every other line goes to a function that takes it or says why not;
 * refused lines are reported as {"line": L, "message": ...}. */
#ifndef VCS_STORE_CSV_LINES_H
#define VCS_STORE_CSV_LINES_H

#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"

/* One line (n fields found, at most max_fields of them in fields) into the prepared statement
 * of csv_import: 0 taken, 1 refused (*msg says why), -1 failed (the import stops). */
typedef int (*csv_row_fn)(sqlite3_stmt *st, char **fields, size_t n, const char **msg);

/* An import in one IMMEDIATE transaction: each line through fn into the statement of sql;
 * *out = {"imported": lines taken, "errors": [...]}. */
enum iam_rc csv_import(sqlite3 *db, const char *sql, const char *csv, size_t len,
                       const char *first_column, size_t max_fields, csv_row_fn fn,
                       json_t **out);

#endif
