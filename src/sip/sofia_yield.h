/* vcsd's own su_root_yield(): a no-op that replaces Sofia-SIP's for the whole process, so that
 * nta never handles received messages in the middle of its timer run (the Debian library then
 * times out every INVITE server transaction; sofia_yield.c says how and why). Sofia-SIP's
 * public signature; nothing in vcsd calls it. */
#ifndef VCS_SIP_SOFIA_YIELD_H
#define VCS_SIP_SOFIA_YIELD_H

#include <sofia-sip/su_wait.h>

int su_root_yield(su_root_t *root);

#endif
