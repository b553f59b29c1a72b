/* The RTP port range (--rtp-ports): hands out even ports, RTP on the even one and RTCP on the
 * next odd one. Shared by all workers (one mutex), O(1) per take and release, no allocation
 * after create.
 * Each take picks uniformly at random among the free ports, so that a port number says nothing
 * about the next call's. A released port first cools down behind the next quarter of the range's
 * releases (at most 1024) before it can be handed out again (late packets of the old call must
 * not reach a new one), unless no other port is free. A port in use is never handed out. */
#ifndef VCS_PORT_POOL_H
#define VCS_PORT_POOL_H

#include <stdint.h>

struct port_pool;

struct port_pool *port_pool_create(uint16_t lo, uint16_t hi);
void port_pool_destroy(struct port_pool *pp);
/* Reserves a random free even port; returns 0 when the range is exhausted. The caller may find
 * the port taken by another program: it calls port_pool_release and asks again. */
uint16_t port_pool_take(struct port_pool *pp);
/* Gives the port back; a port not in the range or not taken is ignored. */
void port_pool_release(struct port_pool *pp, uint16_t port);
/* Number of RTP ports (pairs) in the range. */
unsigned port_pool_size(const struct port_pool *pp);

#endif
