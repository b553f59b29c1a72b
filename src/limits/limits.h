/* Concurrency limits (SPEC 8): legs up at once per number, account, customer trunk and carrier
 * gateway, exact under churn. A leg takes one ticket covering every scope it counts in, all or
 * none (two legs racing for the last channel cannot both win, and a refusal leaves nothing
 * half-taken), and gives it back exactly once, whatever ends it. Thread-safe: admission runs on
 * the SIP thread, releases on the workers. Keys come from our own configuration and number
 * table, never from the wire, so the set of counters stays bounded. */
#ifndef VCS_LIMITS_H
#define VCS_LIMITS_H

#include <stdbool.h>

enum limit_scope { LIMIT_NUMBER, LIMIT_ACCOUNT, LIMIT_TRUNK, LIMIT_GATEWAY, LIMIT_SCOPES };

/* What a leg counts against: key NULL (or "") when the scope does not apply; max 0 = no limit
 * (the leg is still counted, so the API can show it). */
struct limit_claim {
    const char *key[LIMIT_SCOPES];
    int max[LIMIT_SCOPES];
};

struct limit_entry;
struct limit_ticket {
    struct limit_entry *held[LIMIT_SCOPES]; /* NULL where the claim had no key */
    bool taken;
};

struct limits;

struct limits *limits_create(void);
void limits_destroy(struct limits *l);

/* Takes a ticket: 0, or -1 with *full set to the first scope at its maximum (nothing taken)
 * or to LIMIT_SCOPES when out of memory. */
int limits_acquire(struct limits *l, const struct limit_claim *claim, struct limit_ticket *t,
                   enum limit_scope *full);
/* Gives a ticket back; a ticket not taken (or already given back) is ignored. */
void limits_release(struct limits *l, struct limit_ticket *t);
/* Legs counted now against key in scope. */
int limits_count(struct limits *l, enum limit_scope scope, const char *key);
/* The Reason text of a refusal: "number limit", "account limit", "trunk limit", "gateway limit". */
const char *limit_reason(enum limit_scope scope);

#endif
