/* Numbers and orders (SPEC 7 and 8) on the API's connection (iam_store_db). A number moves
 * available -> ordered (an order reserves it) -> active (the operator approves) -> released
 * (store/ledger.h: at the end of the paid month, and suspended while rent is unpaid);
 * a rejected order gives its numbers back to the inventory. Every move runs in one IMMEDIATE
 * transaction that checks the state it moves from, so two orders racing for the last number
 * cannot both win. An illegal move is IAM_IN_USE with a message naming both states. account
 * NULL means the operator, who sees and acts on every account's numbers and orders. */
#ifndef VCS_STORE_INVENTORY_H
#define VCS_STORE_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"

/* CSV "number,region,type,max_concurrent" (header line optional, max_concurrent may be
 * empty): every valid line is imported; *out = {"imported": N, "errors": [{line, message}]}. */
enum iam_rc inv_import(sqlite3 *db, const char *csv, size_t len, json_t **out);

struct inv_search {
    bool available; /* the inventory (anyone's search) instead of the caller's numbers */
    const char *region, *type;
};
enum iam_rc inv_numbers_list(sqlite3 *db, const char *account, const struct inv_search *q,
                             const char *after, int limit, json_t **out);
enum iam_rc inv_number_get(sqlite3 *db, const char *account, const char *number, json_t **out);

/* NULL fields are left as they are; "" clears a binding; max_concurrent < 0: unchanged. */
struct inv_update {
    const char *script, *trunk;
    int64_t max_concurrent;
};
enum iam_rc inv_number_update(sqlite3 *db, const char *account, const char *number,
                              const struct inv_update *u, char *msg, size_t msglen);

/* numbers: a list of E.164 strings, or NULL to take count numbers of region and type. */
enum iam_rc inv_order_create(sqlite3 *db, const char *account, json_t *numbers,
                             const char *region, const char *type, int64_t count, json_t **out,
                             char *msg, size_t msglen);
enum iam_rc inv_order_list(sqlite3 *db, const char *account, const char *after, int limit,
                           json_t **out);
/* pending -> approved (its numbers active, issued now) or rejected (its numbers available). */
enum iam_rc inv_order_decide(sqlite3 *db, const char *id, bool approve, const char *reason,
                             json_t **out, char *msg, size_t msglen);

bool inv_number_valid(const char *number);
/* A region name: 1 to 32 of [a-z0-9_-]. */
bool inv_region_valid(const char *region);

#endif
