/* Small SQLite helpers shared by the modules that keep the platform's data on the API's own
 * connection (iam.c, inventory.c): statements with text parameters, short IMMEDIATE
 * transactions, rows as jansson objects named by their columns (0/1 columns named allowed,
 * main or system as booleans; columns named statements, policies, numbers, allow, vars or
 * events hold JSON text and are given back as JSON), and list pages {"items", "next"} with the
 * cursor taken from a key column. All log their own failures. */
#ifndef VCS_STORE_MGMT_SQL_H
#define VCS_STORE_MGMT_SQL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"

sqlite3_stmt *msql_prep(sqlite3 *db, const char *sql);
/* Binds v[0..n) to ?1..?n; NULL binds NULL. */
void msql_bind_texts(sqlite3_stmt *st, const char *const *v, int n);
/* A write: SQLITE_DONE, SQLITE_CONSTRAINT or another code. */
int msql_run(sqlite3 *db, const char *sql, const char *const *v, int n);
/* The first column of the first row, -1 when there is none. */
int64_t msql_count(sqlite3 *db, const char *sql, const char *const *v, int n);
int msql_begin(sqlite3 *db);
/* Commits when rc is IAM_OK (else rolls back); the result to return. */
enum iam_rc msql_commit(sqlite3 *db, enum iam_rc rc);
json_t *msql_row_json(sqlite3_stmt *st);
/* Runs st (finalizing it), whose parameter limit_param is the row limit. */
enum iam_rc msql_page(sqlite3 *db, sqlite3_stmt *st, int limit_param, int limit,
                      const char *key, json_t **out);
/* Copies a text column; -1 when NULL or too long. */
int msql_copy_text(sqlite3_stmt *st, int col, char *out, size_t outlen);

#endif
