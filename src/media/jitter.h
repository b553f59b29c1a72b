/* A jitter buffer per received G.711 stream of a bridge or conference (speexdsp's adaptive
 * jitter buffer): the socket's packets go in as they arrive (reordered, duplicated, late), the
 * media tick takes one 20 ms frame out each time, or learns that none is due (lost or late:
 * the caller conceals it). Payload bytes live in one-frame slots allocated with the buffer (a
 * packet of several frames takes one slot per frame), so the hot path allocates nothing; a
 * packet that finds too few free slots is dropped and counted.
 * One owner thread. */
#ifndef VCS_JITTER_H
#define VCS_JITTER_H

#include <stddef.h>
#include <stdint.h>

#define JITTER_FRAME 160  /* samples (and G.711 bytes) per 20 ms tick */
#define JITTER_SLOTS 12   /* frames held at most: 240 ms (Asterisk holds 200 ms at most by
                           * default); 2 KiB per received stream */
#define JITTER_MAX_PAYLOAD 480 /* bytes: 60 ms of G.711 in one packet */

struct jitter;

struct jitter_stats {
    uint64_t put, got, missing, dropped_full, dropped_size;
};

struct jitter *jitter_new(void);
void jitter_free(struct jitter *j);
/* A received packet: RTP timestamp and sequence number, payload of len G.711 bytes (len
 * samples). Copied into a slot. */
void jitter_put(struct jitter *j, uint32_t ts, uint16_t seq, const uint8_t *payload, size_t len);
/* The next 20 ms: returns JITTER_FRAME with frame filled, or 0 when nothing is due for this
 * tick (lost, late or not started): conceal. Advances the buffer's clock by one frame. */
size_t jitter_get(struct jitter *j, uint8_t frame[JITTER_FRAME]);
/* Forget everything (the stream restarted: new SSRC, re-INVITE). */
void jitter_reset(struct jitter *j);
void jitter_get_stats(const struct jitter *j, struct jitter_stats *out);

#endif
