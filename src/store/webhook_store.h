/* Webhook subscriptions and their deliveries as the API reads and writes them (SPEC 10), on
 * the API's connection (iam_store_db). The delivery queue itself is worked by src/events/. */
#ifndef VCS_STORE_WEBHOOK_STORE_H
#define VCS_STORE_WEBHOOK_STORE_H

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"

#define WEBHOOK_SECRET_LEN 70 /* "whsec_" + 64 hex */

/* events: a checked array of event names. *out: the subscription with its secret. */
enum iam_rc webhook_create(sqlite3 *db, const char *account, const char *url, json_t *events,
                           json_t **out);
/* account NULL: every account's (the operator). */
enum iam_rc webhook_list(sqlite3 *db, const char *account, const char *after, int limit,
                         json_t **page);
/* Removes the subscription and its deliveries; IAM_NOT_FOUND for another account's. */
enum iam_rc webhook_delete(sqlite3 *db, const char *account, const char *id);
enum iam_rc webhook_deliveries(sqlite3 *db, const char *account, const char *id,
                               const char *after, int limit, json_t **page);

#endif
