/* The RTP port range (--rtp-ports): hands out even ports, RTP on the even one and RTCP on the
 * next odd one. Next-fit over a bitmap under a mutex, so a just-released port is not reused at
 * once (late packets of the old call must not reach a new one). Shared by all workers. */
#ifndef VCS_PORT_POOL_H
#define VCS_PORT_POOL_H

#include <stdint.h>

struct port_pool;

struct port_pool *port_pool_create(uint16_t lo, uint16_t hi);
void port_pool_destroy(struct port_pool *pp);
/* Reserves the next free even port; returns 0 when the range is exhausted. The caller may find
 * the port taken by another program: it calls port_pool_release and asks again. */
uint16_t port_pool_take(struct port_pool *pp);
void port_pool_release(struct port_pool *pp, uint16_t port);
/* Number of RTP ports (pairs) in the range. */
unsigned port_pool_size(const struct port_pool *pp);

#endif
