/* Caps the number of SIP TCP connections at once (sip.max_tcp_connections; the hardening note).
 * Debian's Sofia-SIP has no such limit and nua hides its transports, so the count is kept at
 * the socket calls themselves: vcsd's own accept() and close() stand in front of libc's for the
 * whole process (ELF interposition), count connections accepted on the SIP TCP port, and close
 * at once those over the cap. Everything else passes straight through. */
#ifndef VCS_TCP_GUARD_H
#define VCS_TCP_GUARD_H

#include <stdint.h>

/* Starts counting connections accepted on TCP port sip_port; max 0 disables the cap. */
void tcp_guard_init(uint16_t sip_port, int max_connections);
int tcp_guard_connections(void);
uint64_t tcp_guard_refused(void);

#endif
