/* N-1 mixing for bridges and conferences: every member hears the sum of the others but not
 * itself. One call per 20 ms tick per room; the cost is linear in members (the room's sum is
 * made once, each member's own contribution taken out of it), no allocation. A 2-party bridge
 * is the same call with two members: each hears exactly the other (no summing distortion).
 * Samples are 8 kHz signed 16-bit; sums saturate instead of wrapping. */
#ifndef VCS_MIXER_H
#define VCS_MIXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIXER_FRAME 160

struct mixer_member {
    int16_t in[MIXER_FRAME];   /* what this member sent this tick */
    bool speaking;             /* in holds audio (false: nothing came, or muted) */
    int16_t out[MIXER_FRAME];  /* filled by mixer_mix: what this member hears */
};

/* Fills out of each of the n members. */
void mixer_mix(struct mixer_member *const *members, size_t n);

#endif
