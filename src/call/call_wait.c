/* A call's wait. See call_wait.h. */
#include "call/call_wait.h"

#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <lauxlib.h>

#include "call/call.h"
#include "call/worker.h"
#include "script/sandbox.h"

static void on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    call_wait_notify(arg, WAIT_EV_TIMER);
}

int call_wait_init(struct call *c, struct event_base *base)
{
    c->wait.timer = evtimer_new(base, on_wait_timer, c);
    return c->wait.timer ? 0 : -1;
}

void call_wait_free(struct call *c)
{
    if (c->wait.timer)
        event_free(c->wait.timer);
    c->wait.timer = NULL;
}

int call_raise_hangup(lua_State *L, const struct call *c)
{
    sandbox_push_hangup(L, c && c->cdr.hangup_cause[0] ? c->cdr.hangup_cause : "normal_clearing");
    return lua_error(L);
}

/* The continuation of every waiting method: the wait is over, say how it ended. */
static int wait_resumed(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    struct call *c = (struct call *)ctx;
    const struct wait_kind *kind = c->wait.kind;
    c->wait.kind = NULL;
    c->wait.keys[0] = '\0';
    if (c->wait.timer)
        evtimer_del(c->wait.timer);
    if (kind->finish)
        kind->finish(c);
    if (c->wait.failed) {
        c->wait.failed = false;
        return luaL_error(L, "%s", c->wait.error);
    }
    if (c->ended && !kind->returns_after_hangup)
        return call_raise_hangup(L, c);
    if (kind->results)
        return kind->results(L, c);
    if (!c->wait.result[0])
        return 0;
    lua_pushstring(L, c->wait.result);
    c->wait.result[0] = '\0';
    return 1;
}

int call_wait_yield(lua_State *L, struct call *c, const struct wait_kind *kind)
{
    c->wait.kind = kind;
    return lua_yieldk(L, 0, (lua_KContext)c, wait_resumed);
}

bool call_waiting(const struct call *c, const struct wait_kind *kind)
{
    return c->wait.kind == kind && !c->wait.woken;
}

uint32_t call_wait_generation(const struct call *c)
{
    return c->wait.generation;
}

void call_wait_timer(struct call *c, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    evtimer_add(c->wait.timer, &tv);
}

void call_wait_set_result(struct call *c, const char *s)
{
    snprintf(c->wait.result, sizeof c->wait.result, "%s", s ? s : "");
}

void call_wait_ready(struct call *c)
{
    c->wait.woken = true;
    worker_attend(c->w, c);
}

void call_wait_wake(struct call *c)
{
    if (!c->wait.kind || c->wait.woken)
        return;
    c->wait.woken = true;
    c->wait.generation++; /* whatever is still on its way for this wait is stale now */
    if (c->wait.timer)
        evtimer_del(c->wait.timer);
    worker_attend(c->w, c);
}

void call_wait_fail(struct call *c, const char *msg)
{
    if (!c->wait.kind || c->wait.woken)
        return;
    c->wait.failed = true;
    snprintf(c->wait.error, sizeof c->wait.error, "%s", msg ? msg : "error");
    call_wait_wake(c);
}

void call_wait_notify(struct call *c, enum wait_event ev)
{
    const struct wait_kind *kind = c->wait.kind;
    if (!kind || c->wait.woken) {
        if (ev == WAIT_EV_HANGUP)
            worker_attend(c->w, c); /* not waiting: let the worker look at the call (finish, free) */
        return;
    }
    if (ev == WAIT_EV_HANGUP && !kind->handles_hangup) {
        call_wait_wake(c); /* the continuation sees c->ended and raises the hangup error */
        return;
    }
    if (kind->wake_on & WAIT_ON(ev))
        call_wait_wake(c);
    else if (kind->on_event)
        kind->on_event(c, ev);
}
