/* Prepaid billing (SPEC 8), the service: the rent job on its own timer of the main event
 * base (never on a call's path; it also runs at once after a recharge, an approval or a move
 * of the fake clock), recharges, balances and statements for the API, and the admission and
 * minute reservations of billed legs for the call layer. Balances are cached in memory
 * (prepaid.h) with the database as the record (store/ledger.h): a worker never waits for SQL;
 * a leg's cost is queued and written to the ledger by the main thread. Everything dated by
 * the billing clock (bclock.h). The database side runs on the main thread only. */
#ifndef VCS_BILLING_H
#define VCS_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "billing/prepaid.h"
#include "store/iam.h"

struct event_base;
struct billing;

/* Opens its own connection to <data_dir>/vcs.db (created by the store), loads balances and
 * runs the rent job once. */
struct billing *billing_create(struct event_base *base, const char *data_dir, char *err,
                               size_t errlen);
/* An account's balance falling below its low_balance_fen (from a rent charge or a leg's usage
 * reaching the ledger) emits balance.low {account, balance_fen, low_balance_fen} once; again
 * only after a recharge lifted it to the threshold or above. */

/* Writes the usage still queued, then frees. After the workers have stopped. */
void billing_destroy(struct billing *b);

/* ---- main thread (the API) ---- */
void billing_run(struct billing *b);
enum iam_rc billing_recharge(struct billing *b, const char *account, int64_t amount_fen,
                             const char *note, json_t **out);
/* {account, balance_fen, reserved_fen} */
enum iam_rc billing_balance(struct billing *b, const char *account, json_t **out);
/* month "YYYY-MM" (checked by the caller with cal_month_parse). */
enum iam_rc billing_statement(struct billing *b, const char *account, const char *month,
                              json_t **out);
/* account NULL: the operator. See ledger_release. */
enum iam_rc billing_release(struct billing *b, const char *account, const char *number,
                            char *msg, size_t msglen);

/* ---- any thread (the call layer); b may be NULL: nothing is billed ---- */
/* 0 with the first minute reserved (none for the operator's legs, which are not billed),
 * -1: the account cannot pay a minute. */
int billing_admit(struct billing *b, const char *account, struct prepaid_leg *leg);
/* SPEC 8: the account's max_calls (0: no limit), from memory. */
int billing_max_calls(struct billing *b, const char *account);
/* Reserves the next minute: 0, or -1 (the leg is to be hung up at the boundary). */
int billing_minute(struct billing *b, struct prepaid_leg *leg);
/* Ends an admitted leg: *bill_minutes and *cost_fen for its CDR; the cost is queued for the
 * ledger under ref call_id. */
void billing_leg_end(struct billing *b, struct prepaid_leg *leg, const char *call_id,
                     int64_t billsec, int64_t *bill_minutes, int64_t *cost_fen);

#endif
