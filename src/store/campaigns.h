/* Campaigns, their callees and do-not-call lists (SPEC 9) on the API's connection
 * (iam_store_db), in the style of inventory.h: short IMMEDIATE transactions, jansson objects
 * out, IAM_NOT_FOUND for another account's campaign (account NULL: the operator, who sees all).
 * A campaign moves draft -> running <-> paused -> completed | cancelled (draft, running and
 * paused may be cancelled); an illegal move is IAM_IN_USE with a message naming both states.
 * The settings are JSON checked by the API (src/api/campaigns.c) and kept as given. */
#ifndef VCS_STORE_CAMPAIGNS_H
#define VCS_STORE_CAMPAIGNS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"

#define CAMP_RUN_MIN 10 /* consecutive numbers that make a list segment dialing */

enum iam_rc camp_create(sqlite3 *db, const char *account, const char *name, json_t *settings,
                        json_t **out);
/* The campaign: id, name, state, times, the settings' fields and progress {total, pending,
 * in_progress, answered, busy, no_answer, failed, machine, skipped_dnc, skipped_cap,
 * attempts}. */
enum iam_rc camp_get(sqlite3 *db, const char *account, const char *id, json_t **out);
enum iam_rc camp_list(sqlite3 *db, const char *account, const char *after, int limit,
                      json_t **out);
/* action: start, pause, resume or cancel. */
enum iam_rc camp_move(sqlite3 *db, const char *account, const char *id, const char *action,
                      json_t **out, char *msg, size_t msglen);

/* CSV "number[,var...]" with a header line. *out = {"accepted": N, "rejected": [{line, number,
 * reason: invalid|duplicate|dnc}]}; a list holding a run of CAMP_RUN_MIN or more consecutive
 * numbers stores nothing: IAM_EXISTS with *out = {"runs": ["+a..+b (n numbers)", ...]}.
 * A header that is not number[,name...] is IAM_FAIL with msg set (else msg stays empty). Callees are added to
 * campaigns in draft, running or paused (else IAM_IN_USE). */
enum iam_rc camp_callees_import(sqlite3 *db, const char *account, const char *id,
                                const char *csv, size_t len, json_t **out, char *msg,
                                size_t msglen);
/* Per callee: number, attempts, result, last_call_id, answered_at, billsec, vars (the last
 * call's CDR vars), in upload order; a page of limit after the callee id after. */
enum iam_rc camp_results(sqlite3 *db, const char *account, const char *id, const char *after,
                         int limit, json_t **out);

/* Do-not-call: account "" is the operator's global list. */
enum iam_rc dnc_add(sqlite3 *db, const char *account, json_t *numbers, json_t **out);
enum iam_rc dnc_list(sqlite3 *db, const char *account, const char *after, int limit,
                     json_t **out);
enum iam_rc dnc_delete(sqlite3 *db, const char *account, const char *number);

#endif
