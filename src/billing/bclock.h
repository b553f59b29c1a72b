/* The billing clock (SPEC 8): the time every rent, recharge, usage line and statement is dated
 * with. It is the wall clock, unless vcsd started with --fake-clock: then the operator may set
 * it (POST /v1/admin/clock) to test months of billing in seconds, and it runs on from there at
 * the wall clock's pace. Never fake by default. Any thread. */
#ifndef VCS_BILLING_BCLOCK_H
#define VCS_BILLING_BCLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Allows bclock_set; called once at start, before any thread runs. */
void bclock_enable_fake(void);
bool bclock_is_fake(void);
int64_t bclock_now_ms(void);
/* -1 when the clock is not fake. */
int bclock_set(int64_t now_ms);

#endif
