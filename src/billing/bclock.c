/* The billing clock (see bclock.h): the wall clock plus an offset the operator may move. */
#include "billing/bclock.h"

#include <stdatomic.h>

#include "core/clock.h"

static bool fake;
static _Atomic int64_t offset_ms;

void bclock_enable_fake(void)
{
    fake = true;
}

bool bclock_is_fake(void)
{
    return fake;
}

int64_t bclock_now_ms(void)
{
    return clock_wall_ms() + atomic_load(&offset_ms);
}

int bclock_set(int64_t now_ms)
{
    if (!fake)
        return -1;
    atomic_store(&offset_ms, now_ms - clock_wall_ms());
    return 0;
}
