/* Works around a Sofia-SIP 1.12.11 (Debian 12) bug that times out every INVITE server
 * transaction at once under load. See sofia_yield.h. */
#include "sip/sofia_yield.h"

/* nta's outgoing timer calls su_root_yield() after every fifth request retransmission ("handle
 * received packets"); a message received there resets the agent's cached clock to 0, and the
 * incoming timer that runs next compares each server transaction's deadline with 0. While the
 * 32-bit millisecond clock is in its upper half (24.8 days out of every 49.7) each deadline then
 * looks past: every 2xx waiting for its ACK gets Timer H ("ACK Timeout", a BYE 0.5 s after the
 * 200) and every 503 its end. Measured at 2500 calls/s offered: 23,021 such timeouts in 8 s, and
 * 0 with this no-op. The yield only shortens a packet's wait by a timer run's length; nua's
 * per-handle timer loop, its other caller, costs an epoll_wait per live handle per second.
 * Received packets are handled when the timer returns. The FreeSWITCH fork fixed the same bug
 * by re-reading the clock; Debian's library has no such fix, and no tag turns the yield off.
 * The library calls this function through its PLT, so the executable's definition wins. */
int su_root_yield(su_root_t *root)
{
    (void)root;
    return 0;
}
