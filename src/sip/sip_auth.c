/* Digest authentication and lock-out (see sip_auth.h). */
#include "sip/sip_auth.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <sofia-sip/auth_module.h>
#include <sofia-sip/auth_plugin.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include "core/clock.h"
#include "core/log.h"
#include "sip/lockout.h"

#define NONCE_SECONDS 300
#define MAX_FAILURES 5
#define FAILURE_WINDOW_US 60000000u
#define LOCKOUT_SLOTS 4096
#define REPLAY_SLOTS 65536 /* answers remembered for replay checks: direct-mapped, 512 KiB */

struct sip_auth {
    su_root_t *root;
    struct trunks *trunks;
    auth_mod_t *am;
    uint64_t am_version;
    char key[33];          /* the nonce HMAC key, kept across rebuilds */
    struct lockout *lockout;
    atomic_ullong challenges, failures, lockouts, locked_refused;
    uint64_t seed;
    uint64_t answers[REPLAY_SLOTS]; /* hashes of digest answers that passed */
};

struct sip_auth *sip_auth_create(su_root_t *root, struct trunks *trunks, int lockout_s)
{
    struct sip_auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->root = root;
    a->trunks = trunks;
    a->lockout = lockout_create(LOCKOUT_SLOTS, MAX_FAILURES, FAILURE_WINDOW_US,
                                (uint64_t)lockout_s * 1000000u);
    unsigned char raw[16];
    if (!a->lockout || getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        lockout_destroy(a->lockout);
        free(a);
        return NULL;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(a->key + 2 * i, 3, "%02x", raw[i]);
    memcpy(&a->seed, raw, sizeof a->seed);
    return a;
}

void sip_auth_destroy(struct sip_auth *a)
{
    if (!a)
        return;
    if (a->am)
        auth_mod_unref(a->am);
    lockout_destroy(a->lockout);
    free(a);
}

struct feed {
    auth_mod_t *am;
    const char *realm;
    int failed;
};

static void add_user(void *ctx, const char *username, const char *ha1)
{
    struct feed *f = ctx;
    auth_passwd_t *apw = auth_mod_addpass(f->am, username, f->realm);
    if (!apw || !(apw->apw_hash = su_strdup(f->am->am_home, ha1)))
        f->failed = 1;
}

/* The module for the trunk table as it is now; the old one stays on failure. */
static auth_mod_t *module(struct sip_auth *a)
{
    uint64_t v = trunks_version(a->trunks);
    if (a->am && v == a->am_version)
        return a->am;
    const char *realm = trunks_realm(a->trunks);
    auth_mod_t *am = auth_mod_create(a->root, AUTHTAG_METHOD("Digest"), AUTHTAG_REALM(realm),
                                     AUTHTAG_MASTER_KEY(a->key), AUTHTAG_QOP("auth"),
                                     AUTHTAG_EXPIRES(NONCE_SECONDS), AUTHTAG_NEXT_EXPIRES(0),
                                     AUTHTAG_BLACKLIST(0), TAG_END());
    struct feed f = { am, realm, am == NULL };
    if (am)
        trunks_each_credential(a->trunks, add_user, &f);
    if (f.failed) {
        log_error("sip: cannot build the digest user table (out of memory)");
        if (am)
            auth_mod_unref(am);
        return a->am;
    }
    if (a->am)
        auth_mod_unref(a->am);
    a->am = am;
    a->am_version = v;
    return am;
}

static bool any_credentials(struct sip_auth *a)
{
    auth_mod_t *am = module(a);
    return am && am->am_users->aht_used > 0;
}

static uint64_t hash_text(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u; /* FNV-1a */
    return h;
}

/* Sofia checks a nonce's age but not whether an answer was used before: a digest answer
 * overheard on the wire (the same nonce, nc and cnonce) would pass again, with another Call-ID,
 * until the nonce expires. Each answer that passed is remembered (its nonce and response, in a
 * direct-mapped table: an old entry may be overwritten, never a false alarm on a fresh one);
 * the same answer again is challenged anew (stale), which a real client answers at once. */
static bool replayed(struct sip_auth *a, const msg_header_t *match)
{
    const msg_auth_t *au = (const msg_auth_t *)match;
    const char *response = au ? msg_header_find_param(au->au_common, "response=") : NULL;
    if (!response)
        return false;
    uint64_t h = hash_text(hash_text(a->seed ^ 0xcbf29ce484222325u, response),
                           msg_header_find_param(au->au_common, "nonce="));
    h |= 1; /* 0 marks an empty slot */
    uint64_t *slot = &a->answers[h % REPLAY_SLOTS];
    if (*slot == h)
        return true;
    *slot = h;
    return false;
}

static const auth_challenger_t proxy_challenger = {
    407, sip_407_Proxy_auth_required, sip_proxy_authenticate_class,
    sip_proxy_authentication_info_class
};
static const auth_challenger_t server_challenger = {
    401, sip_401_Unauthorized, sip_www_authenticate_class, sip_authentication_info_class
};

enum sip_auth_result sip_auth_request(struct sip_auth *a, nua_t *nua, nua_handle_t *nh,
                                      const sip_t *sip, const struct sockaddr *src,
                                      const char *source, struct trunk_match *out)
{
    if (!src || !any_credentials(a))
        return SIP_AUTH_NONE;
    uint64_t now = clock_mono_us();
    if (lockout_locked(a->lockout, src, now)) {
        atomic_fetch_add(&a->locked_refused, 1);
        nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(nua), TAG_END());
        return SIP_AUTH_ANSWERED;
    }
    bool reg = sip->sip_request && sip->sip_request->rq_method == sip_method_register;
    const auth_challenger_t *ach = reg ? &server_challenger : &proxy_challenger;
    msg_auth_t *cred = reg ? sip->sip_authorization : sip->sip_proxy_authorization;
    auth_status_t as[1];
    auth_status_init(as, sizeof as);
    as->as_method = sip->sip_request ? sip->sip_request->rq_method_name : "";
    if (sip->sip_payload) {
        as->as_body = sip->sip_payload->pl_data;
        as->as_bodylen = sip->sip_payload->pl_len;
    }
    auth_mod_verify(a->am, as, cred, ach);
    if (as->as_status == 0 && as->as_user && replayed(a, as->as_match)) {
        log_info("sip: %s from %s: a digest answer used before, challenged anew", as->as_method,
                 source);
        as->as_stale = 1;
        auth_mod_challenge(a->am, as, ach);
    }

    enum sip_auth_result result = SIP_AUTH_ANSWERED;
    bool failed = false;
    if (as->as_status == 0 && as->as_user && trunks_by_username(a->trunks, as->as_user, out)) {
        result = SIP_AUTH_OK;
    } else if (as->as_status == ach->ach_status && as->as_response) {
        failed = as->as_match != NULL && !as->as_stale; /* no credentials is no failure */
        atomic_fetch_add(&a->challenges, 1);
        nua_respond(nh, ach->ach_status, ach->ach_phrase, NUTAG_WITH_THIS(nua),
                    SIPTAG_HEADER((sip_header_t *)as->as_response), TAG_END());
    } else {
        /* malformed credentials (400), or a user who vanished meanwhile */
        failed = true;
        int status = as->as_status >= 400 && as->as_status < 500 ? as->as_status : 403;
        const char *phrase = sip_status_phrase(status);
        nua_respond(nh, status, phrase ? phrase : "Forbidden", NUTAG_WITH_THIS(nua), TAG_END());
    }
    if (failed) {
        atomic_fetch_add(&a->failures, 1);
        if (lockout_fail(a->lockout, src, now)) {
            atomic_fetch_add(&a->lockouts, 1);
            log_warn("security: %s locked out of digest authentication: %d requests with wrong "
                     "credentials within %u s", source, MAX_FAILURES,
                     (unsigned)(FAILURE_WINDOW_US / 1000000u));
        } else {
            log_info("sip: %s from %s: wrong digest credentials", as->as_method, source);
        }
    }
    AUTH_STATUS_DEINIT(as);
    return result;
}

void sip_auth_get_stats(struct sip_auth *a, struct sip_auth_stats *out)
{
    out->challenges = atomic_load(&a->challenges);
    out->failures = atomic_load(&a->failures);
    out->lockouts = atomic_load(&a->lockouts);
    out->locked_refused = atomic_load(&a->locked_refused);
}
