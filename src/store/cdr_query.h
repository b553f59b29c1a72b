/* Reading the CDR table for the API (SPEC 6 and 7): the rows matching a filter, in id order,
 * a bounded batch at a time after a given id. Keying on the row id keeps a walk stable while
 * calls add rows (they get higher ids), and each batch is its own short statement, so a long
 * export never holds a read transaction open (WAL checkpoints go on). */
#ifndef VCS_STORE_CDR_QUERY_H
#define VCS_STORE_CDR_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

/* Empty strings are "no filter". Times are ISO-8601 UTC prefixes compared with start_time. */
struct cdr_filter {
    char account[129];   /* "" with all_accounts: every account (the operator) */
    bool all_accounts;
    char since[32], until[32];
    char number[64];     /* from_number or to_number */
    char cause[33];
    char campaign[65];
    char direction[16];
};

/* The columns in the order CSV and JSON give them. */
extern const char *const cdr_columns[];

/* The statement for up to limit rows with id > after, or NULL (logged). */
sqlite3_stmt *cdr_query(sqlite3 *db, const struct cdr_filter *f, int64_t after, int limit);
/* The list page {"items", "next"} (next: the last id as a string, or null); -1 on failure. */
int cdr_page(sqlite3 *db, const struct cdr_filter *f, int64_t after, int limit, json_t **out);

#endif
