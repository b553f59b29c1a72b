/* Trunk registrations (see registrar.h). */
#include "sip/registrar.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include "core/clock.h"
#include "core/log.h"

/* The expiry asked for: the contact's expires parameter, else the Expires header, else the
 * longest we grant. */
static long asked_expires(const sip_t *sip, const sip_contact_t *m)
{
    if (m && m->m_expires)
        return strtol(m->m_expires, NULL, 10);
    if (sip->sip_expires)
        return (long)sip->sip_expires->ex_delta;
    return REGISTRAR_MAX_EXPIRES;
}

static void answer_bound(nua_t *nua, nua_handle_t *nh, const struct trunk_reg *r)
{
    char contact[TRUNK_CONTACT_MAX + 32];
    long left = r->expires_ms ? (long)((r->expires_ms - clock_wall_ms() + 999) / 1000) : 0;
    snprintf(contact, sizeof contact, "<%s>;expires=%ld", r->contact, left > 0 ? left : 0);
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua),
                TAG_IF(left > 0, SIPTAG_CONTACT_STR(contact)), TAG_END());
}

void registrar_bind(struct trunks *t, nua_t *nua, nua_handle_t *nh, const sip_t *sip,
                    const struct trunk_match *trunk, const char *source)
{
    const sip_contact_t *m = sip->sip_contact;
    struct trunk_reg r = { 0 };
    snprintf(r.trunk, sizeof r.trunk, "%s", trunk->name);
    snprintf(r.source, sizeof r.source, "%s", source);
    if (!m) {
        trunks_registration(t, trunk->name, clock_wall_ms(), &r);
        answer_bound(nua, nh, &r);
        return;
    }
    if (m->m_next) {
        nua_respond(nh, 400, "One Contact Per Trunk", NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    long expires = asked_expires(sip, m);
    bool star = m->m_url->url_type == url_any;
    if (star && expires != 0) {
        nua_respond(nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    if (expires > 0 && expires < REGISTRAR_MIN_EXPIRES) {
        char min[16];
        snprintf(min, sizeof min, "%d", REGISTRAR_MIN_EXPIRES);
        nua_respond(nh, SIP_423_INTERVAL_TOO_BRIEF, NUTAG_WITH_THIS(nua),
                    SIPTAG_MIN_EXPIRES_STR(min), TAG_END());
        return;
    }
    if (expires > REGISTRAR_MAX_EXPIRES || expires < 0)
        expires = REGISTRAR_MAX_EXPIRES;
    if (!star) {
        isize_t n = url_e(r.contact, sizeof r.contact, m->m_url);
        if (n < 0 || (size_t)n >= sizeof r.contact) {
            nua_respond(nh, SIP_400_BAD_REQUEST, NUTAG_WITH_THIS(nua), TAG_END());
            return;
        }
        r.contact[n] = '\0';
    }
    r.expires_ms = expires ? clock_wall_ms() + expires * 1000 : 0;
    if (trunks_register(t, &r) != 0) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    if (expires)
        log_info("sip: trunk %s registered %s from %s for %ld s", r.trunk, r.contact, source,
                 expires);
    else
        log_info("sip: trunk %s unregistered (from %s)", r.trunk, source);
    answer_bound(nua, nh, &r);
}
