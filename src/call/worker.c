/* A media worker. See worker.h. */
#include "call/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <lauxlib.h>

#include "call/call.h"
#include "call/call_lua.h"
#include "call/engine.h"
#include "call/live_calls.h"
#include "call/outleg.h"
#include "conference/room.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/idmap.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread_class.h"
#include "media/prompt_cache.h"
#include "media/rtp_io.h"
#include "script/script_set.h"
#include "sip/sip_stack.h"

#define TICK_US 20000
#define TICK_RESYNC_US 100000 /* a tick further behind than this starts a new timeline */
#define IDLE_COLLECT_S 1       /* an empty worker collects its scripts' garbage this much later */

enum ctl_type { CTL_PROMPT, CTL_RECORD_DONE, CTL_REPLY, CTL_HANGUP_ALL, CTL_ORIGINATE, CTL_HANGUP,
                CTL_STOP };

struct ctl_msg {
    struct qnode node;
    enum ctl_type type;
    uint64_t leg_id;
    uint32_t generation; /* of the call's wait that asked */
    int slot;
    uint64_t duration_ms;
    const struct prompt *prompt;
    struct outleg_request *req; /* CTL_ORIGINATE */
    void (*reply)(struct call *c, uint32_t generation, int value); /* CTL_REPLY */
    int value;
    char text[256];
};

/* A dialplan version as compiled into this worker's Lua state. */
struct wversion {
    struct script_set *set;
    int loaded_ref;   /* require cache of this version */
    int handlers_ref; /* script name -> handler function */
    int calls;
    struct wversion *next;
};

struct worker {
    struct engine *eng;
    int index;
    pthread_t thread;
    bool running;
    struct event_base *base;
    struct event *wake_ev, *tick_ev, *flush_ev, *idle_ev;
    struct mpsc_queue sip_inbox, ctl_inbox;
    struct idmap calls;
    struct call *media_head, *media_tail; /* calls with media, in the order they started */
    struct call *attend_head, *attend_tail;
    lua_State *L;
    struct conf_home *conf;
    struct rtp_io *io;      /* the tick's socket I/O, batched */
    struct rtp_batch *rx;   /* RTP_IO_CHUNK batches: a chunk of calls' datagrams */
    struct wversion *versions;
    long newest_version;
    uint64_t tick_due_us; /* when the next (or running) tick is due, on the worker's timeline */
    _Atomic uint64_t ticks, tick_start_sum_us, tick_end_sum_us;
    _Atomic uint64_t tick_start_le[WORKER_TICK_BUCKETS], tick_end_le[WORKER_TICK_BUCKETS];
};

/* ---- accessors for the call layer ----------------------------------------------------------- */

struct engine *worker_engine(struct worker *w) { return w->eng; }
struct event_base *worker_base(struct worker *w) { return w->base; }
lua_State *worker_lua(struct worker *w) { return w->L; }
int worker_index(struct worker *w) { return w->index; }
struct conf_home *worker_conf(struct worker *w) { return w->conf; }

void worker_add_call(struct worker *w, struct call *c)
{
    if (idmap_put(&w->calls, c->leg_id, c) != 0)
        log_error("worker %d: out of memory tracking call %s", w->index, c->id);
}

void worker_remove_call(struct worker *w, struct call *c)
{
    idmap_remove(&w->calls, c->leg_id);
    if (w->calls.count == 0) {
        struct timeval later = { IDLE_COLLECT_S, 0 };
        evtimer_add(w->idle_ev, &later); /* restarts the wait if it was already running */
    }
}

/* The worker has had no call for IDLE_COLLECT_S. What the calls' scripts left (coroutines, call
 * objects, strings: about 2 KB per call) is garbage the generational collector only reaches
 * when allocation resumes, and it lies in the pages the calls' media used, so until then those
 * pages cannot go back to the system: vcsd.c's idle malloc_trim found nothing to return (38 MB
 * resident 75 s after 1000 bridged calls ended, 20 MB before them; 24 MB with this). A full
 * collection costs little with no call up: the compiled dialplans are all that is left. */
static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    if (w->calls.count == 0)
        lua_gc(w->L, LUA_GCCOLLECT);
}

/* New calls go to the end of the tick's list: the calls already up keep their place in each
 * tick's burst, so their packets do not drift later as calls are added. */
void worker_media_add(struct worker *w, struct call *c)
{
    if (c->media_on)
        return;
    c->media_on = true;
    c->media_next = NULL;
    c->media_prev = w->media_tail;
    if (w->media_tail)
        w->media_tail->media_next = c;
    else
        w->media_head = c;
    w->media_tail = c;
}

void worker_media_remove(struct worker *w, struct call *c)
{
    if (!c->media_on)
        return;
    if (c->media_prev)
        c->media_prev->media_next = c->media_next;
    else
        w->media_head = c->media_next;
    if (c->media_next)
        c->media_next->media_prev = c->media_prev;
    else
        w->media_tail = c->media_prev;
    c->media_on = false;
    c->media_next = c->media_prev = NULL;
}

void worker_attend(struct worker *w, struct call *c)
{
    if (c->attend_queued)
        return;
    c->attend_queued = true;
    c->attend_next = NULL;
    if (w->attend_tail)
        w->attend_tail->attend_next = c;
    else
        w->attend_head = c;
    w->attend_tail = c;
    event_active(w->flush_ev, 0, 0); /* runs after the callback that is running now */
}

/* Resumes coroutines whose wait is over and finishes calls that are done. A call re-queued
 * while it was being handled is finished on its later turn, never twice. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    while (w->attend_head) {
        struct call *c = w->attend_head;
        w->attend_head = c->attend_next;
        if (!w->attend_head)
            w->attend_tail = NULL;
        c->attend_queued = false;
        c->attend_next = NULL;
        call_script_step(c);
        if (!c->attend_queued)
            call_maybe_finish(c);
    }
}

/* ---- dialplan versions ---------------------------------------------------------------------- */

static void version_drop(struct worker *w, struct wversion *v)
{
    luaL_unref(w->L, LUA_REGISTRYINDEX, v->loaded_ref);
    luaL_unref(w->L, LUA_REGISTRYINDEX, v->handlers_ref);
    script_set_release(v->set);
    free(v);
}

/* Old versions nobody on this worker runs any more are dropped (their compiled code with them). */
static void versions_collect(struct worker *w)
{
    for (struct wversion **pv = &w->versions; *pv;) {
        struct wversion *v = *pv;
        if (v->calls == 0 && v->set->version < w->newest_version) {
            *pv = v->next;
            version_drop(w, v);
        } else {
            pv = &v->next;
        }
    }
}

static struct wversion *version_for(struct worker *w, struct script_set *set)
{
    for (struct wversion *v = w->versions; v; v = v->next)
        if (v->set == set)
            return v;
    struct wversion *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    script_set_retain(set);
    v->set = set;
    lua_newtable(w->L);
    v->loaded_ref = luaL_ref(w->L, LUA_REGISTRYINDEX);
    lua_newtable(w->L);
    v->handlers_ref = luaL_ref(w->L, LUA_REGISTRYINDEX);
    v->next = w->versions;
    w->versions = v;
    if (set->version > w->newest_version) {
        w->newest_version = set->version;
        versions_collect(w);
    }
    return v;
}

int worker_push_handler(struct worker *w, struct script_set *set, const char *name)
{
    lua_State *L = w->L;
    struct wversion *v = version_for(w, set);
    if (!v) {
        lua_pushliteral(L, "out of memory");
        return LUA_ERRMEM;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, v->handlers_ref);
    if (lua_getfield(L, -1, name) == LUA_TFUNCTION) {
        lua_remove(L, -2);
        v->calls++;
        return LUA_OK;
    }
    lua_pop(L, 1);
    /* First call of this script version on this worker: compile it from memory. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, v->loaded_ref);
    sandbox_arm(L, engine_services(w->eng)->sandbox.max_instructions);
    int status = sandbox_load_source(L, set, name, -1);
    sandbox_arm(L, 0);
    if (status == LUA_OK && !lua_isfunction(L, -1)) {
        lua_pop(L, 1);
        lua_pushfstring(L, "script '%s' did not return a function", name);
        status = LUA_ERRRUN;
    }
    if (status != LUA_OK) {
        lua_replace(L, -3); /* leave only the message */
        lua_pop(L, 1);
        return status;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, name);
    lua_replace(L, -3);
    lua_pop(L, 1);
    v->calls++;
    return LUA_OK;
}

void worker_release_version(struct worker *w, struct script_set *set)
{
    for (struct wversion *v = w->versions; v; v = v->next) {
        if (v->set == set) {
            v->calls--;
            break;
        }
    }
    versions_collect(w);
}

/* ---- inbox -------------------------------------------------------------------------------- */

static void handle_sip(struct worker *w, struct sip_event *ev)
{
    if (ev->type == SIP_EV_INVITE) {
        call_on_invite(w, ev);
        return;
    }
    struct call *c = idmap_get(&w->calls, ev->leg_id);
    if (c)
        call_on_sip(c, ev);
}

static void hangup_all(struct worker *w, const char *cause)
{
    for (size_t i = 0; i < w->calls.cap; i++) {
        struct call *c = w->calls.keys[i] ? w->calls.vals[i] : NULL;
        if (c && !c->ended)
            call_end(c, 503, cause, "system");
    }
}

static void handle_ctl(struct worker *w, struct ctl_msg *m)
{
    switch (m->type) {
    case CTL_PROMPT: {
        struct call *c = idmap_get(&w->calls, m->leg_id);
        if (c)
            call_prompt_loaded(c, m->generation, m->slot, m->prompt, m->text);
        else if (m->prompt)
            prompt_unref(m->prompt);
        break;
    }
    case CTL_RECORD_DONE: {
        struct call *c = idmap_get(&w->calls, m->leg_id);
        if (c)
            call_record_done(c, m->generation, m->duration_ms, m->text[0] ? m->text : NULL);
        break;
    }
    case CTL_REPLY: {
        struct call *c = idmap_get(&w->calls, m->leg_id);
        if (c)
            m->reply(c, m->generation, m->value);
        break;
    }
    case CTL_HANGUP_ALL:
        hangup_all(w, m->text);
        break;
    case CTL_ORIGINATE:
        /* A leg that could not even be created leaves the list engine_originate put it in. */
        if (!outleg_start(w, m->leg_id, m->req, NULL))
            live_calls_remove(engine_live(w->eng), m->leg_id);
        m->req = NULL;
        break;
    case CTL_HANGUP: {
        struct call *c = idmap_get(&w->calls, m->leg_id);
        if (c && !c->ended) {
            bool answered = c->state == CALL_UP || c->state == CALL_ANSWERING;
            call_end(c, 0, answered ? "normal_clearing" : "cancelled", "system");
            call_script_wake(c);
        }
        break;
    }
    case CTL_STOP:
        event_base_loopbreak(w->base);
        break;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    for (struct qnode *q = queue_take_all(&w->sip_inbox); q;) {
        struct sip_event *ev = container_of(q, struct sip_event, node);
        q = q->next;
        handle_sip(w, ev);
        sip_event_free(ev);
    }
    for (struct qnode *q = queue_take_all(&w->ctl_inbox); q;) {
        struct ctl_msg *m = container_of(q, struct ctl_msg, node);
        q = q->next;
        handle_ctl(w, m);
        free(m);
    }
}

void worker_post_sip(struct worker *w, struct sip_event *ev)
{
    if (queue_push(&w->sip_inbox, &ev->node))
        event_active(w->wake_ev, 0, 0);
}

uint64_t worker_inbox_wait_us(struct worker *w, uint64_t now_us)
{
    return queue_wait_us(&w->sip_inbox, now_us);
}

static void post_ctl(struct worker *w, struct ctl_msg *m)
{
    if (queue_push(&w->ctl_inbox, &m->node))
        event_active(w->wake_ev, 0, 0);
}

void worker_post_hangup_all(struct worker *w, const char *cause)
{
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (!m)
        return;
    m->type = CTL_HANGUP_ALL;
    snprintf(m->text, sizeof m->text, "%s", cause);
    post_ctl(w, m);
}

void worker_post_originate(struct worker *w, uint64_t leg_id, struct outleg_request *req)
{
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (!m) {
        /* The id is already given out: the leg simply never rings (no CDR, as if refused). */
        outleg_request_free(req);
        live_calls_remove(engine_live(w->eng), leg_id);
        engine_call_released(w->eng);
        return;
    }
    m->type = CTL_ORIGINATE;
    m->leg_id = leg_id;
    m->req = req;
    post_ctl(w, m);
}

void worker_post_hangup(struct worker *w, uint64_t leg_id)
{
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (!m)
        return;
    m->type = CTL_HANGUP;
    m->leg_id = leg_id;
    post_ctl(w, m);
}

void worker_post_record_done(struct worker *w, uint64_t leg_id, uint32_t generation,
                             uint64_t duration_ms, const char *err)
{
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (!m)
        return;
    m->type = CTL_RECORD_DONE;
    m->leg_id = leg_id;
    m->generation = generation;
    m->duration_ms = duration_ms;
    snprintf(m->text, sizeof m->text, "%s", err ? err : "");
    post_ctl(w, m);
}

void worker_post_reply(struct worker *w, uint64_t leg_id, uint32_t generation,
                       void (*fn)(struct call *c, uint32_t generation, int value), int value)
{
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (!m) {
        log_error("worker %d: out of memory: a reply to call %llx is lost", w->index,
                  (unsigned long long)leg_id);
        return;
    }
    m->type = CTL_REPLY;
    m->leg_id = leg_id;
    m->generation = generation;
    m->reply = fn;
    m->value = value;
    post_ctl(w, m);
}

void worker_post_prompt(struct worker *w, uint64_t leg_id, uint32_t generation, int slot,
                        const struct prompt *p, const char *err)
{
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (!m) {
        if (p)
            prompt_unref(p);
        return;
    }
    m->type = CTL_PROMPT;
    m->leg_id = leg_id;
    m->generation = generation;
    m->slot = slot;
    m->prompt = p;
    snprintf(m->text, sizeof m->text, "%s", err ? err : "");
    post_ctl(w, m);
}

/* ---- the tick ----------------------------------------------------------------------------- */

const uint32_t worker_tick_bounds_us[WORKER_TICK_BUCKETS] = { 1000,  2000,  5000,  10000,
                                                              20000, 50000, 100000, 1000000 };

static void count_lag(_Atomic uint64_t *le, _Atomic uint64_t *sum, uint64_t lag_us)
{
    atomic_fetch_add_explicit(sum, lag_us, memory_order_relaxed);
    for (int i = 0; i < WORKER_TICK_BUCKETS; i++)
        if (lag_us <= worker_tick_bounds_us[i])
            atomic_fetch_add_explicit(&le[i], 1, memory_order_relaxed);
}

/* The tick keeps its own fixed-rate timeline rather than a persistent libevent timer: libevent
 * restarts a persistent timer's period from "now" once a tick runs a period late, so every such
 * stall would shift all later ticks (and every call's packets) for good. Here a late tick is
 * followed by a sooner one, and only a stall over TICK_RESYNC_US starts a new timeline. The
 * workers' timelines are spread over the period (worker i starts i/n of a tick later), so that
 * their bursts do not all compete for the CPU at the same instant. */
static void tick_arm(struct worker *w, uint64_t now_us)
{
    w->tick_due_us += TICK_US;
    if (now_us > w->tick_due_us + TICK_RESYNC_US)
        w->tick_due_us = now_us;
    uint64_t wait = w->tick_due_us > now_us ? w->tick_due_us - now_us : 0;
    struct timeval tv = { (time_t)(wait / 1000000), (suseconds_t)(wait % 1000000) };
    event_base_update_cache_time(w->base); /* the timeout counts from now, not the loop's start */
    event_add(w->tick_ev, &tv);
}

static void tick_measured(struct worker *w, uint64_t start_us)
{
    uint64_t end_us = clock_mono_us(), due = w->tick_due_us;
    count_lag(w->tick_start_le, &w->tick_start_sum_us, start_us > due ? start_us - due : 0);
    count_lag(w->tick_end_le, &w->tick_end_sum_us, end_us > due ? end_us - due : 0);
    atomic_fetch_add_explicit(&w->ticks, 1, memory_order_relaxed);
    tick_arm(w, end_us);
}

void worker_tick_stats(struct worker *w, struct worker_tick_stats *out)
{
    out->start_sum_us = atomic_load_explicit(&w->tick_start_sum_us, memory_order_relaxed);
    out->end_sum_us = atomic_load_explicit(&w->tick_end_sum_us, memory_order_relaxed);
    for (int i = 0; i < WORKER_TICK_BUCKETS; i++) {
        out->start_le[i] = atomic_load_explicit(&w->tick_start_le[i], memory_order_relaxed);
        out->end_le[i] = atomic_load_explicit(&w->tick_end_le[i], memory_order_relaxed);
    }
    /* Read last, and never under a bucket: a tick counted meanwhile is in the buckets first. */
    out->ticks = atomic_load_explicit(&w->ticks, memory_order_relaxed);
    uint64_t top = out->start_le[WORKER_TICK_BUCKETS - 1] > out->end_le[WORKER_TICK_BUCKETS - 1]
                       ? out->start_le[WORKER_TICK_BUCKETS - 1]
                       : out->end_le[WORKER_TICK_BUCKETS - 1];
    if (out->ticks < top)
        out->ticks = top;
}

/* One timer for every call of this worker, and no event per socket: the worker wakes once a
 * tick, not once a packet (each wake-up is a context switch). Every call's socket is drained
 * first (the reads of RTP_IO_CHUNK calls at a time in one system call: rtp_io.h), so that what
 * both legs of a bridge received is in their jitter buffers before either sends; then each call
 * sends the frame due at this tick's due time (a call the tick ends leaves the list: its
 * successor is taken first); then the conference rooms homed here are mixed once; then the next
 * tick is armed on the worker's timeline (tick_arm). */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t now = clock_mono_us();
    struct call *chunk[RTP_IO_CHUNK];
    for (struct call *c = w->media_head; c;) {
        unsigned n = 0;
        for (; c && n < RTP_IO_CHUNK; c = c->media_next, n++) {
            chunk[n] = c;
            call_media_queue_read(c, w->io, &w->rx[n]);
        }
        rtp_io_run_reads(w->io); /* one system call for the chunk's sockets */
        for (unsigned i = 0; i < n; i++)
            call_media_receive(chunk[i], &w->rx[i], now / 1000);
    }
    rtp_io_begin_sends(w->io);
    for (struct call *c = w->media_head, *next; c; c = next) {
        next = c->media_next;
        call_media_tick(c, w->tick_due_us, now);
    }
    conf_home_tick(w->conf);
    rtp_io_end_sends(); /* the sends went out RTP_IO_SENDS at a time */
    tick_measured(w, now);
}

/* ---- thread ------------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    int rt = engine_services(w->eng)->cfg->realtime_priority;
    if (rt > 0) {
        char what[32];
        snprintf(what, sizeof what, "worker %d", w->index);
        thread_class_realtime(what, rt);
    }
    event_base_dispatch(w->base);
    /* Stopped: whatever is left ends now, scripts unwind and CDRs are written. */
    hangup_all(w, "shutdown");
    on_flush(-1, 0, w);
    /* Calls still here wait for SIP, which is about to stop: release them now. Collected
     * first because freeing a call changes the map. */
    size_t n = 0;
    struct call **left = calloc(w->calls.count + 1, sizeof *left);
    for (size_t i = 0; left && i < w->calls.cap; i++)
        if (w->calls.keys[i])
            left[n++] = w->calls.vals[i];
    for (size_t i = 0; i < n; i++) {
        left[i]->sip_gone = true;
        left[i]->script_done = true;
        call_maybe_finish(left[i]);
    }
    free(left);
    return NULL;
}

struct worker *worker_create(struct engine *e, int index, char *err, size_t errlen)
{
    struct worker *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->eng = e;
    w->index = index;
    queue_init(&w->sip_inbox);
    queue_init(&w->ctl_inbox);
    struct event_config *ecfg = event_config_new();
    if (ecfg)
        event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    w->base = ecfg ? event_base_new_with_config(ecfg) : NULL;
    event_config_free(ecfg);
    w->L = sandbox_new_state(&engine_services(e)->sandbox);
    w->conf = conf_home_new(index);
    char why[128];
    w->io = rtp_io_new(engine_services(e)->cfg->media_io_uring, why, sizeof why);
    w->rx = malloc(RTP_IO_CHUNK * sizeof *w->rx);
    if (w->io && !rtp_io_batched(w->io) && index == 0)
        log_warn("media: one system call per packet (%s)", why);
    if (!w->base || !w->L || !w->conf || !w->io || !w->rx || idmap_init(&w->calls, 1024) != 0) {
        snprintf(err, errlen, "cannot create worker %d", index);
        worker_destroy(w);
        return NULL;
    }
    /* Coroutines copy the main thread's extra space: a script's own ones act for no call. */
    *(struct call **)lua_getextraspace(w->L) = NULL;
    lua_gc(w->L, LUA_GCGEN, 0, 0); /* most objects die young: one call's temporaries */
    call_lua_register(w->L);
    w->wake_ev = event_new(w->base, -1, 0, on_wake, w);
    w->flush_ev = event_new(w->base, -1, 0, on_flush, w);
    w->tick_ev = evtimer_new(w->base, on_tick, w);
    w->idle_ev = evtimer_new(w->base, on_idle, w);
    if (!w->wake_ev || !w->flush_ev || !w->tick_ev || !w->idle_ev) {
        snprintf(err, errlen, "cannot create worker %d events", index);
        worker_destroy(w);
        return NULL;
    }
    int n = engine_worker_count(e);
    w->tick_due_us = clock_mono_us() + (uint64_t)index * TICK_US / (uint64_t)(n > 0 ? n : 1);
    tick_arm(w, clock_mono_us());
    return w;
}

int worker_start(struct worker *w)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    char name[16];
    snprintf(name, sizeof name, "vcs-worker%u", (unsigned)w->index % 100000u);
    pthread_setname_np(w->thread, name); /* in top -H, and what its scheduling class applies to */
    w->running = true;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (!w || !w->running)
        return;
    struct ctl_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->type = CTL_STOP;
        post_ctl(w, m);
    } else {
        event_base_loopbreak(w->base);
    }
    pthread_join(w->thread, NULL);
    w->running = false;
}

void worker_destroy(struct worker *w)
{
    if (!w)
        return;
    worker_stop(w);
    for (struct qnode *q = queue_take_all(&w->sip_inbox); q;) {
        struct sip_event *ev = container_of(q, struct sip_event, node);
        q = q->next;
        sip_event_free(ev);
    }
    for (struct qnode *q = queue_take_all(&w->ctl_inbox); q;) {
        struct ctl_msg *m = container_of(q, struct ctl_msg, node);
        q = q->next;
        if (m->prompt)
            prompt_unref(m->prompt);
        if (m->req) {
            outleg_request_free(m->req);
            engine_call_released(w->eng);
        }
        free(m);
    }
    while (w->versions) {
        struct wversion *v = w->versions;
        w->versions = v->next;
        version_drop(w, v);
    }
    if (w->wake_ev)
        event_free(w->wake_ev);
    if (w->flush_ev)
        event_free(w->flush_ev);
    if (w->tick_ev)
        event_free(w->tick_ev);
    if (w->idle_ev)
        event_free(w->idle_ev);
    sandbox_close_state(w->L);
    conf_home_free(w->conf);
    rtp_io_free(w->io);
    free(w->rx);
    if (w->base)
        event_base_free(w->base);
    idmap_free(&w->calls);
    queue_destroy(&w->sip_inbox);
    queue_destroy(&w->ctl_inbox);
    free(w);
}
