/* A media worker: one thread with its own libevent loop and Lua state, owning the calls pinned
 * to it (their RTP sockets, timers and coroutines) for their whole life. One 20 ms tick per
 * worker reads the RTP sockets of every call it owns (no event per socket: the worker wakes
 * once a tick, not once a packet) and paces what they send. Other threads talk to it only
 * through its inbox (worker_post_*), which wakes the loop with event_active(). */
#ifndef VCS_WORKER_H
#define VCS_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

struct engine;
struct call;
struct script_set;
struct sip_event;
struct prompt;
struct event_base;
struct outleg_request;
struct conf_home;

struct worker;

struct worker *worker_create(struct engine *e, int index, char *err, size_t errlen);
int worker_start(struct worker *w);
/* Stops the loop and joins the thread; calls still present are freed (their CDRs are the
 * engine's business: it hangs them up and waits before stopping workers). */
void worker_stop(struct worker *w);
void worker_destroy(struct worker *w);

/* Any thread. */
void worker_post_sip(struct worker *w, struct sip_event *ev);
/* Any thread: how long the oldest SIP event has waited for this worker (0: none waiting). */
uint64_t worker_inbox_wait_us(struct worker *w, uint64_t now_us);
void worker_post_hangup_all(struct worker *w, const char *cause);

/* How late the tick ran against its 20 ms timeline, as cumulative counts of ticks within each
 * bound of worker_tick_bounds_us (Prometheus histogram buckets): start = when the worker woke,
 * end = when the tick's last packet was out. A steady end lag only shifts every stream alike;
 * its spread is the jitter the far ends see. */
#define WORKER_TICK_BUCKETS 8
extern const uint32_t worker_tick_bounds_us[WORKER_TICK_BUCKETS];
struct worker_tick_stats {
    uint64_t ticks;
    uint64_t start_le[WORKER_TICK_BUCKETS], end_le[WORKER_TICK_BUCKETS];
    uint64_t start_sum_us, end_sum_us;
};
/* Any thread. */
void worker_tick_stats(struct worker *w, struct worker_tick_stats *out);
/* Places the outbound leg leg_id for req (owned from here; outleg_start). */
void worker_post_originate(struct worker *w, uint64_t leg_id, struct outleg_request *req);
/* Hangs up one leg (the API's DELETE /v1/calls/{id}); a leg gone meanwhile is ignored. */
void worker_post_hangup(struct worker *w, uint64_t leg_id);
/* From the prompt loader: slot of the playlist of the call's wait of that generation, a
 * referenced prompt or NULL and err. */
void worker_post_prompt(struct worker *w, uint64_t leg_id, uint32_t generation, int slot,
                        const struct prompt *p, const char *err);

/* From the recorder's thread: the file of call:record (the wait of that generation) is complete. */
void worker_post_record_done(struct worker *w, uint64_t leg_id, uint32_t generation,
                             uint64_t duration_ms, const char *err);

/* From another thread: the answer (value) to what the call's wait of that generation asked;
 * fn(c, generation, value) runs on the worker if the leg is still there (the method's own
 * handler, which drops the answer to an older wait). */
void worker_post_reply(struct worker *w, uint64_t leg_id, uint32_t generation,
                       void (*fn)(struct call *c, uint32_t generation, int value), int value);

/* Worker thread only: the call layer's view of its worker. */
struct engine *worker_engine(struct worker *w);
struct event_base *worker_base(struct worker *w);
lua_State *worker_lua(struct worker *w);
int worker_index(struct worker *w);
/* The conference rooms this worker mixes on its tick (conference/room.h). */
struct conf_home *worker_conf(struct worker *w);
void worker_add_call(struct worker *w, struct call *c);
void worker_remove_call(struct worker *w, struct call *c);
/* Queues the call for the end of the current loop callback, where the worker resumes its
 * coroutine and finishes or frees it: never from inside a callback that still uses it. */
void worker_attend(struct worker *w, struct call *c);
void worker_media_add(struct worker *w, struct call *c);
void worker_media_remove(struct worker *w, struct call *c);
/* Pushes the handler function of script name in set (compiling it into this worker's state
 * the first time) and holds the version for the call. LUA_OK, or an error with the message
 * pushed. */
int worker_push_handler(struct worker *w, struct script_set *set, const char *name);
void worker_release_version(struct worker *w, struct script_set *set);

#endif
