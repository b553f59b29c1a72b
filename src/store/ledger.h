/* Prepaid money in the database (SPEC 8): the ledger of every movement (recharge, rent, usage)
 * with the balance after it, accounts.balance_fen kept equal to the last one, rent periods and
 * the release of numbers at the end of their paid month. Every movement runs in one IMMEDIATE
 * transaction with its balance update, and is dated no earlier than the account's previous one,
 * so that the ledger's order is its time order and a month's closing balance is always its
 * opening + recharges - rent - usage. The balance never goes below 0. Runs on one connection
 * of one thread (the main thread's; src/billing). Times are milliseconds since the epoch. */
#ifndef VCS_STORE_LEDGER_H
#define VCS_STORE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/iam.h"

/* The platform operator's own account: it pays no rent and its legs are not billed. */
#define LEDGER_OPERATOR "admin"

/* What live calls hold of an account's balance (rent leaves it untouched). */
typedef int64_t (*ledger_held_fn)(void *ctx, const char *account);

/* *out = {id, account, time, amount_fen, balance_fen, note}. IAM_NOT_FOUND: no such account. */
enum iam_rc ledger_recharge(sqlite3 *db, const char *account, int64_t amount_fen,
                            const char *note, int64_t now_ms, json_t **out);
/* A call's cost (ref = its call id; posted once): 0 with the balance after it, or -1. */
int ledger_usage(sqlite3 *db, const char *account, const char *call_id, int64_t cost_fen,
                 int64_t now_ms, int64_t *balance_fen);
/* The statement of [start_ms, end_ms) (month names it): opening, recharges, rent, usage
 * (totals and lines), closing. */
enum iam_rc ledger_statement(sqlite3 *db, const char *account, const char *month,
                             int64_t start_ms, int64_t end_ms, json_t **out);

/* The rent job for one account (NULL: all; the operator's numbers pay no rent): numbers whose release is due are released; every
 * rent period begun by now_ms is recorded once; unpaid periods are paid, oldest first, while
 * the balance less what calls hold covers them; a number with a period unpaid is suspended,
 * one with none is active. Returns the number of numbers whose state changed, or -1. */
int ledger_rent_run(sqlite3 *db, const char *account, int64_t now_ms, ledger_held_fn held,
                    void *ctx);
/* Release of a number the account owns (NULL: the operator): an active one at the end of its
 * paid period (it stays active until then), a suspended one now. IAM_IN_USE with msg when it
 * is in neither state or its release is already set. */
enum iam_rc ledger_release(sqlite3 *db, const char *account, const char *number, int64_t now_ms,
                           char *msg, size_t msglen);

/* An account's money and limits. */
struct ledger_account {
    int64_t balance_fen, rate_fen, low_balance_fen;
    int64_t max_calls; /* -1: no limit */
};
/* Calls fn for every account. 0 or -1. */
typedef void (*ledger_account_fn)(void *ctx, const char *account,
                                  const struct ledger_account *terms);
int ledger_accounts(sqlite3 *db, ledger_account_fn fn, void *ctx);

#endif
