/* Prepaid admission and minute reservations (SPEC 8), in memory: each account's balance as the
 * database last recorded it, what live legs have reserved, and usage that ended but is not yet
 * in the database. A billed leg is admitted only if balance - reserved - unposted covers one
 * minute, which it then reserves; each further started minute reserves its price; at its end
 * the leg costs rate x started minutes of billsec, its reservation is released and the cost
 * waits as unposted until the ledger has it. So what is spent never exceeds the balance.
 * Thread-safe (one mutex, no I/O): workers admit and end legs, the main thread sets balances.
 * Accounts are few and change rarely; the table grows only when the main thread names one. */
#ifndef VCS_BILLING_PREPAID_H
#define VCS_BILLING_PREPAID_H

#include <stdbool.h>
#include <stdint.h>

struct prepaid;
struct prepaid_account;

/* A billed leg's reservation. */
struct prepaid_leg {
    struct prepaid_account *acct; /* NULL: not admitted (or already ended) */
    int64_t rate_fen;             /* the account's price of a minute when admitted */
    int64_t minutes;              /* minutes reserved */
};

struct prepaid *prepaid_create(void);
void prepaid_destroy(struct prepaid *p);

/* An account as the database records it. */
struct prepaid_terms {
    int64_t balance_fen, rate_fen;
    int64_t low_balance_fen; /* balance.low below this (0: never) */
    int max_calls;           /* legs up at once (0: no limit) */
};

/* The account as now recorded (the main thread, after a change). */
int prepaid_set_account(struct prepaid *p, const char *account, const struct prepaid_terms *t);
/* Unposted usage reached the ledger: it is part of balance_fen from now on. */
void prepaid_posted(struct prepaid *p, const char *account, int64_t cost_fen,
                    int64_t balance_fen);
/* Reserved by live legs plus unposted usage: what rent must leave untouched. */
int64_t prepaid_held(struct prepaid *p, const char *account);
/* SPEC 10: true once each time the account's balance (less unposted usage) is seen below its
 * low_balance_fen, with both filled; again only after it was seen at or above it. An account
 * already low when first recorded (a restart, a new account) is not a crossing. */
bool prepaid_low_crossed(struct prepaid *p, const char *account, int64_t *balance_fen,
                         int64_t *low_balance_fen);
/* The account's max_calls (0: no limit, or an account not recorded). */
int prepaid_max_calls(struct prepaid *p, const char *account);
/* balance_fen and reserved_fen (live legs) of the account; false when unknown. */
bool prepaid_get(struct prepaid *p, const char *account, int64_t *balance_fen,
                 int64_t *reserved_fen);

/* 0 with the first minute reserved, -1 when the account cannot pay it. */
int prepaid_admit(struct prepaid *p, const char *account, struct prepaid_leg *leg);
/* The account of an admitted leg (NULL when it is not). */
const char *prepaid_leg_account(const struct prepaid_leg *leg);
/* Reserves one more minute: 0, or -1 when it cannot be paid. */
int prepaid_minute(struct prepaid *p, struct prepaid_leg *leg);
/* Ends the leg: its cost (rate x bill_minutes, never more than it reserved), reservation
 * released, cost unposted until prepaid_posted. bill_minutes = started minutes of billsec. */
int64_t prepaid_leg_end(struct prepaid *p, struct prepaid_leg *leg, int64_t billsec,
                        int64_t *bill_minutes);

#endif
