/* Two counts (e.g. admitted and refused) over a fixed window and the one before it, so that a
 * share or a ratio is always read over one to two windows of recent history. Single-threaded. */
#ifndef VCS_TALLY_H
#define VCS_TALLY_H

#include <stdint.h>

struct tally {
    uint64_t window_us, start_us;
    unsigned now[2], last[2];
};

static inline void tally_add(struct tally *t, uint64_t now_us, int which)
{
    if (now_us - t->start_us >= t->window_us) {
        int adjacent = now_us - t->start_us < 2 * t->window_us;
        for (int i = 0; i < 2; i++) {
            t->last[i] = adjacent ? t->now[i] : 0;
            t->now[i] = 0;
        }
        t->start_us = now_us;
    }
    t->now[which]++;
}

static inline unsigned tally_sum(const struct tally *t, int which)
{
    return t->now[which] + t->last[which];
}

#endif
