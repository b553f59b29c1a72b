/* Prepaid billing of a call leg that crosses a carrier gateway (SPEC 4 and 8): a PSTN call in,
 * or an outbound leg through a gateway (its hooks, outleg_billing_* of outleg.h, are defined
 * here). Admitted only if its account can pay one minute (else 403 "no balance", CDR
 * no_balance); each started minute reserved 10 s before it starts; a leg whose next minute
 * cannot be reserved hears a beep then and is hung up at the boundary (cause no_balance); at
 * the end its cost (rate x started minutes of billsec) goes into its CDR and the ledger. Runs
 * on the call's worker; the balances are billing.h's, in memory (no SQL here). */
#ifndef VCS_CALL_BILLING_H
#define VCS_CALL_BILLING_H

#include <stdbool.h>
#include <stdint.h>

struct call;

/* Before the script runs: true when admitted; false after refusing the call. */
bool call_billing_admit(struct call *c);
/* The leg is answered: its minutes are counted from now. */
void call_billing_answered(struct call *c);
/* The leg ended (before its CDR is completed): sets c->cdr.cost_fen, releases what is left
 * of its reservation. Safe to call again. */
void call_billing_end(struct call *c);
/* Lays the warning beep, while it sounds, over the 20 ms frame the call sends. */
void call_billing_beep(struct call *c, uint8_t *frame);

#endif
