/* Conference rooms (SPEC 5.5): named per account, created on the first join, gone after the
 * last leave; every member hears the sum of all the others but not itself.
 *
 * Design: a room is mixed once per 20 ms by ONE worker, its "home" (the worker of the member
 * that created it; the next joiner's worker adopts a room whose home stopped). Members may sit
 * on any worker. Each member owns two single-producer/single-consumer frame rings
 * (pcm_ring.h): "up" (its worker's tick pushes what it said, the home's tick pops it) and
 * "down" (the home pushes what it hears, the member's tick pops it). So the hot path takes no
 * global lock and allocates nothing: per tick the home takes each of its rooms' own mutex once
 * (uncontended except while someone joins, leaves, is listed or kicked) and does two ring
 * operations and one N-1 mix (mixer.h) per member, linear in members. Why not "each worker
 * mixes its own members from everyone's published frames": that needs every worker to read
 * every other member's latest frame in step, i.e. a shared per-tick snapshot and its
 * synchronisation across workers whose ticks are not aligned; one mixing owner with rings is
 * simpler, and with two members on the same worker (a 2-party bridge) it costs two ring
 * hand-offs and a mix of two, which mixer.h makes exact (each hears exactly the other).
 * The price is one tick (20 ms) of latency each way through the rings.
 *
 * Joining, leaving, listing and kicking take the registry's lock (any thread). A member's
 * state (kicked, room closed by a moderator's end_on_exit) is an atomic its worker polls on
 * the tick. */
#ifndef VCS_CONF_ROOM_H
#define VCS_CONF_ROOM_H

#include <stdbool.h>
#include <stdint.h>

#include "conference/pcm_ring.h"

#define CONF_FRAME PCM_RING_SAMPLES
#define CONF_NAME_MAX 64 /* bytes of a room name */

struct conf_home;   /* the rooms one worker mixes */
struct conf_member; /* one call in one room */

struct conf_join_opts {
    const char *account, *room, *call_id, *from;
    bool muted, moderator, end_on_exit, beep;
    int max_members; /* when this join creates the room: its limit (0: none) */
};

enum conf_state {
    CONF_IN,      /* in the room */
    CONF_KICKED,  /* conf_kick named it: its worker should make it leave */
    CONF_CLOSED,  /* a moderator with end_on_exit left: everyone leaves */
};

enum conf_join_result { CONF_JOINED, CONF_FULL, CONF_NOMEM };

struct conf_member_info {
    char call_id[48];
    char from[64];
    bool muted, moderator;
    int64_t joined_ms; /* wall clock, ms since the epoch */
};

/* One per worker; freed after the worker's thread stopped (rooms still holding members live
 * on, unmixed, until a member on another worker adopts them or the last one leaves). */
struct conf_home *conf_home_new(int worker_index);
void conf_home_free(struct conf_home *h);
/* The worker's tick: mixes each room homed here once. */
void conf_home_tick(struct conf_home *h);

/* On h's worker thread. NULL with *result CONF_FULL or CONF_NOMEM. home_index and members
 * (may be NULL) get the index of the worker that mixes the room and its size after the join. */
struct conf_member *conf_join(struct conf_home *h, const struct conf_join_opts *o,
                              enum conf_join_result *result, int *home_index, int *members);
/* The member's worker: out of the room (a beep for the others if it joined with beep; a
 * moderator with end_on_exit closes the room for everyone). Frees m. */
void conf_leave(struct conf_member *m);
/* The member's worker, once per 20 ms: what it said (NULL: nothing came) goes up, what it
 * hears comes back (silence while nothing was mixed for it). */
void conf_member_exchange(struct conf_member *m, const int16_t *said, int16_t heard[CONF_FRAME]);
enum conf_state conf_member_state(const struct conf_member *m);
void conf_member_mute(struct conf_member *m, bool muted);

/* Any thread. The members of account's room as a malloc'd array (*n members; NULL with *n 0
 * when the room does not exist or has no member; NULL with *n -1 when out of memory). */
struct conf_member_info *conf_list(const char *account, const char *room, int *n);
/* Any thread: the member with call_id leaves at its next tick. 0, or -1 when not in the room. */
int conf_kick(const char *account, const char *room, const char *call_id);

#endif
