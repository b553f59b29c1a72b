/* The registrar for customer trunks (SPEC 4): a REGISTER that passed digest authentication
 * binds the trunk's contact for Expires seconds (60..3600: shorter is 423 with Min-Expires,
 * longer is cut to 3600), "*" or Expires 0 unbinds it, and one without Contact asks what is
 * bound. Calls from the registered source are then that trunk's (trunks.h), and calls to the
 * trunk go to the contact. One contact per trunk: a new binding replaces the old one. */
#ifndef VCS_REGISTRAR_H
#define VCS_REGISTRAR_H

#include <sofia-sip/nua.h>
#include <sofia-sip/sip.h>

#include "trunk/trunks.h"

#define REGISTRAR_MIN_EXPIRES 60
#define REGISTRAR_MAX_EXPIRES 3600

/* SIP thread: answers the authenticated REGISTER of trunk (NUTAG_WITH_THIS(nua)). */
void registrar_bind(struct trunks *t, nua_t *nua, nua_handle_t *nh, const sip_t *sip,
                    const struct trunk_match *trunk, const char *source);

#endif
