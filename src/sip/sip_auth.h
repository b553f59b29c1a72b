/* Digest authentication of customer trunks on the SIP thread (SPEC 4), with Sofia-SIP's
 * server-side auth module (auth_module.h): a request from a source that no allow list covers is
 * challenged (407 for INVITE, 401 for REGISTER; realm = our SIP host; nonces are HMACs under a
 * key made at start and expire after NONCE_SECONDS), and passes with the trunk whose username
 * and password it proves. Requests with wrong credentials count towards the brute-force
 * lock-out (lockout.h): then 403, no challenge, logged at warn as a security event. A challenge
 * is not a failure, nor is a stale nonce. An answer that passed once is challenged anew when
 * it comes again (replay of an overheard Authorization with another Call-ID). The auth module is rebuilt from the trunk table when
 * its version changes (trunks over the API), with the same key, so outstanding nonces stay
 * valid. Counters are atomics, for /metrics from any thread. */
#ifndef VCS_SIP_AUTH_H
#define VCS_SIP_AUTH_H

#include <stdint.h>

#include <sofia-sip/nua.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

#include "trunk/trunks.h"

struct sip_auth;

struct sip_auth *sip_auth_create(su_root_t *root, struct trunks *trunks, int lockout_s);
void sip_auth_destroy(struct sip_auth *a);

enum sip_auth_result {
    SIP_AUTH_NONE,     /* no trunk has credentials: the source is simply unknown */
    SIP_AUTH_OK,       /* authenticated: *out is the trunk */
    SIP_AUTH_ANSWERED, /* answered here (challenge, 403 locked out, 400) */
};

/* INVITE (407) or REGISTER (401) from src. Responds with NUTAG_WITH_THIS(nua) unless OK or
 * NONE; the caller destroys the handle of a request answered here. */
enum sip_auth_result sip_auth_request(struct sip_auth *a, nua_t *nua, nua_handle_t *nh,
                                      const sip_t *sip, const struct sockaddr *src,
                                      const char *source, struct trunk_match *out);

struct sip_auth_stats {
    unsigned long long challenges, failures, lockouts, locked_refused;
};
void sip_auth_get_stats(struct sip_auth *a, struct sip_auth_stats *out);

#endif
