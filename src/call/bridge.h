/* The media of a bridge (SPEC 5.5): two legs on the same worker, so the bridge needs no lock.
 * Each leg's received audio goes through its own jitter buffer (speexdsp, media/jitter.h);
 * each tick a leg sends the frame its peer's buffer gives, transcoded through linear audio when
 * the two legs' codecs differ (PCMU <-> PCMA), or silence when none is due. The buffers are
 * allocated when the bridge starts, so the tick allocates nothing. A bridge starts at the
 * b-leg's early media (ringback relayed) or its answer, and stops when either leg ends.
 * Keys pressed on one leg are relayed to the other (bridge_dtmf), not given to the script. */
#ifndef VCS_BRIDGE_H
#define VCS_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct call;

/* Bridges a and b's media (both on one worker). 0, or -1 when out of memory (not bridged). */
int bridge_start(struct call *a, struct call *b);
/* Unbridges c and its peer (no effect when c is not bridged). */
void bridge_stop(struct call *c);
/* A received audio packet of c (queued for its peer). */
void bridge_received(struct call *c, uint32_t ts, uint16_t seq, const uint8_t *payload, size_t n);
/* The next 20 ms c sends: what its peer said, in c's codec. */
void bridge_frame(struct call *c, uint8_t *frame);
/* A key pressed on c's peer, relayed to c in the form c negotiated: RFC 4733 events when it
 * offered telephone-event (queued behind a key still being sent, in order), else a SIP INFO
 * (application/dtmf-relay). */
void bridge_dtmf(struct call *c, char digit);
/* Frees c's jitter buffer (when c is freed). */
void bridge_free(struct call *c);

#endif
