/* How a call's coroutine waits, in one place. A method that waits names a wait kind (what it
 * waits for and how each event affects it), optionally arms the wait's own timer, and yields:
 *
 *     static const struct wait_kind sleep_wait = { "sleep", .wake_on = WAIT_ON(WAIT_EV_TIMER) };
 *     call_wait_timer(c, ms);
 *     return call_wait_yield(L, c, &sleep_wait);
 *
 * Whatever can end a wait reports an event with call_wait_notify(): the wait's timer, a key
 * press, the ACK, the media tick (prompt played, DTMF sent), the hangup. The kind decides: wake
 * the coroutine (call_wait_wake, or call_wait_fail to make the method raise), or keep waiting.
 * Results that arrive from other threads (prompts loaded, a recording closed) carry the
 * generation of the wait that asked for them; one for an older wait is dropped, so a stale
 * result never reaches a later method (a prompt still loading when a key interrupted it).
 * On resume the kind's results() pushes what the method returns; after a hangup the method
 * raises the hangup error unless the kind returns normally after a hangup (call:record).
 * Worker thread only. */
#ifndef VCS_CALL_WAIT_H
#define VCS_CALL_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include <lua.h>

struct call;
struct event_base;
struct event;

enum wait_event {
    WAIT_EV_TIMER,     /* the wait's timer fired */
    WAIT_EV_DIGIT,     /* a key press was queued (dtmf_dedup) */
    WAIT_EV_ACK,       /* the ACK for our 200 arrived */
    WAIT_EV_PLAYED,    /* the media tick finished the prompts or tone */
    WAIT_EV_DTMF_SENT, /* the media tick sent the last RFC 4733 event */
    WAIT_EV_HANGUP,    /* the call ended */
    WAIT_EV_PEER,      /* the leg call:dial placed rang, answered or ended */
};

#define WAIT_ON(ev) (1u << (ev))

struct wait_kind {
    const char *name;
    unsigned wake_on; /* events that simply end the wait (WAIT_ON(ev) | ...) */
    /* Reacts to the other events; NULL ignores them. Without a hangup case of its own (it may wake
     * or not), a hangup wakes the coroutine at once. */
    void (*on_event)(struct call *c, enum wait_event ev);
    /* Pushes the method's results when the coroutine resumes; NULL: the string result (set with
     * call_wait_set_result) or nothing. */
    int (*results)(lua_State *L, struct call *c);
    /* Releases what the wait held, when the coroutine resumes (NULL: nothing). */
    void (*finish)(struct call *c);
    bool handles_hangup;       /* on_event decides on WAIT_EV_HANGUP */
    bool returns_after_hangup; /* results() runs after a hangup instead of the hangup error */
};

struct call_wait {
    const struct wait_kind *kind; /* NULL: the coroutine is running or ready, not waiting */
    struct event *timer;
    bool woken;                   /* resume at the worker's next flush */
    bool failed;                  /* the method raises error[] */
    char error[300];
    char result[8];
    char keys[24];                /* keys that end this wait (interrupt a prompt, stop a recording) */
    uint32_t generation;          /* of the current wait */
};

int call_wait_init(struct call *c, struct event_base *base);
void call_wait_free(struct call *c);

/* Yields the call's coroutine (L) until the wait is woken. Use as `return call_wait_yield(...)`. */
int call_wait_yield(lua_State *L, struct call *c, const struct wait_kind *kind);
bool call_waiting(const struct call *c, const struct wait_kind *kind);
/* The generation to stamp on a request whose result comes back from another thread. */
uint32_t call_wait_generation(const struct call *c);
/* Arms the wait's timer (ms > 0). */
void call_wait_timer(struct call *c, int64_t ms);
void call_wait_set_result(struct call *c, const char *s);

void call_wait_notify(struct call *c, enum wait_event ev);
/* The wait is over: the coroutine resumes at the worker's next flush. */
void call_wait_wake(struct call *c);
/* The wait is over and the method raises msg (the first failure reported wins). */
void call_wait_fail(struct call *c, const char *msg);
/* The coroutine should run at the next flush although it does not wait (its first resume). */
void call_wait_ready(struct call *c);

/* Raises the hangup error (vcs.is_hangup) with the call's cause. */
int call_raise_hangup(lua_State *L, const struct call *c);

#endif
