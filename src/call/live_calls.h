/* The legs up now, readable from any thread (GET /v1/calls, DELETE /v1/calls/{id}): each
 * worker publishes a copy of a leg's listing fields when it starts, changes state and ends,
 * so the API thread never touches a worker's call structs. One mutex; a leg's entry is
 * allocated when it is first published, not on the media path. */
#ifndef VCS_LIVE_CALLS_H
#define VCS_LIVE_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct live_call {
    uint64_t leg_id;
    char id[48];
    char account[64];
    char direction[16];
    char from[64], to[64];
    char script[128];
    char state[16];          /* ringing, early, answering, up (inbound); calling, early, up */
    char parent_call_id[48]; /* "" = none */
    int64_t start_ms, answer_ms; /* wall clock; answer_ms 0 = not answered */
};

struct live_calls;

struct live_calls *live_calls_create(void);
void live_calls_destroy(struct live_calls *l);

/* Inserts or replaces the entry of lc->leg_id. 0, or -1 when out of memory. */
int live_calls_put(struct live_calls *l, const struct live_call *lc);
void live_calls_remove(struct live_calls *l, uint64_t leg_id);
/* The entry whose id is id (a call id string), copied into *out. */
bool live_calls_find(struct live_calls *l, const char *id, struct live_call *out);
/* A copy of every entry of account (NULL: all), ordered by start time then id, in a malloc'd
 * array (*out, free() it); the count, or -1 when out of memory. */
long live_calls_list(struct live_calls *l, const char *account, struct live_call **out);

/* The leg id inside a call id ("<prefix>-<hex>"), 0 when it has none. */
uint64_t live_call_leg_of(const char *id);

#endif
