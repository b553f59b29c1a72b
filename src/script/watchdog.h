/* A wall-clock limit on Lua code that holds even while the thread is stuck inside one C call.
 * Each Lua state owns a slot; a run (one resume, one chunk load) marks its start in the slot,
 * which costs a clock read and an atomic store. One watchdog thread scans the slots every
 * WATCHDOG_PERIOD_MS and signals (SIGUSR2) a thread whose run is past its limit; the handler,
 * on that thread, marks the slot expired and sets the slot's hook (count 1) on the coroutine
 * the run resumed. Hooks and C loops (the pattern matcher) poll watchdog_expired() to stop. */
#ifndef VCS_WATCHDOG_H
#define VCS_WATCHDOG_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

#define WATCHDOG_PERIOD_MS 10

struct watchdog_slot {
    _Atomic uint64_t started_us;      /* 0: no run */
    uint64_t limit_us;
    pthread_t thread;                 /* the thread of the current run */
    lua_State *volatile running;      /* the coroutine the current run resumed */
    volatile sig_atomic_t expired;    /* the current run is past its limit */
    lua_Hook hook;                    /* set on running when it expires */
    struct watchdog_slot *next;
};

/* Registers a slot (starting the watchdog thread with the first). Returns 0, or -1 when the
 * thread cannot start. */
int watchdog_add(struct watchdog_slot *s, long limit_ms, lua_Hook hook);
/* Unregisters it (stopping the thread with the last); no run may be active. */
void watchdog_remove(struct watchdog_slot *s);

/* A run of co starts (or restarts: the clock starts again) on this thread. */
void watchdog_begin(struct watchdog_slot *s, lua_State *co);
/* The run waits or ended: the limit does not apply until the next begin. */
void watchdog_end(struct watchdog_slot *s);

static inline bool watchdog_expired(const struct watchdog_slot *s)
{
    return s->expired != 0;
}

#endif
