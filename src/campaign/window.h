/* A campaign's calling window (SPEC 9): days of the week and a daily start and end, local time
 * in the campaign's zone. Pure functions of a UTC instant: the dialer asks whether the window is
 * open now and, when not, when it opens next (so that a closed campaign costs nothing until
 * then). A window is open from start (inclusive) to end (exclusive) on its days; start < end
 * (no window across midnight). Local times that a DST change skips never occur, those it
 * repeats occur twice: the window follows the wall clock the callee sees. */
#ifndef VCS_CAMPAIGN_WINDOW_H
#define VCS_CAMPAIGN_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

struct tz;

struct window {
    const struct tz *tz;
    uint8_t days;       /* bit 0 Sunday .. bit 6 Saturday */
    unsigned start_min; /* minutes after local midnight */
    unsigned end_min;
};

/* "mon-fri", "mon,wed,sat", "sat-sun", "fri-mon" (wraps), "mon-fri,sun": 0 with *mask, or -1. */
int window_parse_days(const char *s, uint8_t *mask);
/* "HH:MM" 00:00..24:00: 0 with minutes, or -1. */
int window_parse_hhmm(const char *s, unsigned *minutes);

bool window_open(const struct window *w, int64_t utc_s);
/* utc_s itself when open, else the first instant (whole minute) at which it opens, looking at
 * most 8 days ahead; -1 when it never opens (no day, or start >= end). */
int64_t window_next_open(const struct window *w, int64_t utc_s);

#endif
