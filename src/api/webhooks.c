/* Webhook subscriptions (SPEC 10): {url, events}, the secret shown once at creation, and the
 * deliveries of each. A URL the delivery thread could not use is 400 here, never a silent
 * failure later: http:// only (the client is libevent's, without TLS), a host, no userinfo,
 * and (unless webhooks.allow_private) no IP literal outside public unicast. A host name is
 * checked when a delivery resolves it: what it resolves to now says nothing of later. */
#include <string.h>

#include <event2/http.h>

#include "api/api_internal.h"
#include "events/events.h"
#include "events/webhook_addr.h"
#include "store/iam.h"
#include "store/webhook_store.h"

#define URL_MAX 1024

static bool url_ok(const char *url, char *why, size_t whylen)
{
    struct evhttp_uri *u = strlen(url) <= URL_MAX
                               ? evhttp_uri_parse_with_flags(url, EVHTTP_URI_NONCONFORMANT) : NULL;
    bool ok = u != NULL;
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    const char *refusal = host && !events_private_allowed() ? webhook_host_refusal(host) : NULL;
    if (!u)
        snprintf(why, whylen, "url must be an absolute http:// URL of at most %d bytes", URL_MAX);
    else if (!scheme || strcmp(scheme, "http") != 0)
        snprintf(why, whylen, "url must start with http:// (https is not supported)");
    else if (!host || !*host)
        snprintf(why, whylen, "url must name a host");
    else if (evhttp_uri_get_userinfo(u) || evhttp_uri_get_fragment(u))
        snprintf(why, whylen, "url must not hold user:password@ or a #fragment");
    else if (refusal)
        snprintf(why, whylen, "url host %s is %s: webhooks go to public addresses only (the"
                 " operator may allow private ones: webhooks.allow_private)", host, refusal);
    ok = ok && why[0] == '\0';
    for (const char *p = url; ok && *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            snprintf(why, whylen, "url must be printable ASCII without spaces");
            ok = false;
        }
    }
    if (u)
        evhttp_uri_free(u);
    return ok;
}

static bool events_ok(json_t *events, char *why, size_t whylen)
{
    size_t i, n = json_array_size(events);
    json_t *e;
    if (n == 0 || n > 16) {
        snprintf(why, whylen, "events must list 1 to 16 event names (or \"*\")");
        return false;
    }
    json_array_foreach(events, i, e) {
        const char *name = json_string_value(e);
        bool known = name && strcmp(name, "*") == 0;
        for (size_t k = 0; name && !known && events_names[k]; k++)
            known = strcmp(name, events_names[k]) == 0;
        if (!known) {
            snprintf(why, whylen, "events[%zu] is not an event (call.completed, "
                     "recording.ready, balance.low, order.approved, order.rejected, "
                     "campaign.completed or *)", i);
            return false;
        }
    }
    return true;
}

void api_webhooks_create(struct api_call *c, struct api_reply *r)
{
    const char *url = json_string_value(json_object_get(c->body, "url"));
    json_t *events = json_object_get(c->body, "events");
    char why[256] = "";
    if (!url_ok(url, why, sizeof why) || !events_ok(events, why, sizeof why)) {
        api_reply_error(r, 400, "bad_request", "%s", why);
        return;
    }
    json_t *hook = NULL;
    enum iam_rc rc = webhook_create(iam_store_db(c->api->iam), c->scope, url, events, &hook);
    api_reply_result(r, rc, hook, "webhook");
    if (rc == IAM_OK)
        r->status = 201;
}

/* Cursors are ids: anything else is not one this server gave. */
static bool after_ok(struct api_call *c, struct api_reply *r)
{
    if (strspn(c->after, "0123456789") == strlen(c->after))
        return true;
    api_reply_error(r, 400, "bad_request", "after: not a cursor this server gave");
    return false;
}

void api_webhooks_list(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    if (!after_ok(c, r))
        return;
    enum iam_rc rc = webhook_list(iam_store_db(c->api->iam), c->scope,
                                  c->after[0] ? c->after : NULL, c->limit, &pg);
    api_reply_result(r, rc, pg, "webhooks");
}

void api_webhooks_delete(struct api_call *c, struct api_reply *r)
{
    api_reply_done(r, webhook_delete(iam_store_db(c->api->iam), c->operator ? NULL : c->account,
                                     api_param(c, "id")), "webhook");
}

void api_webhooks_deliveries(struct api_call *c, struct api_reply *r)
{
    json_t *pg = NULL;
    if (!after_ok(c, r))
        return;
    enum iam_rc rc = webhook_deliveries(iam_store_db(c->api->iam),
                                        c->operator ? NULL : c->account, api_param(c, "id"),
                                        c->after[0] ? c->after : NULL, c->limit, &pg);
    api_reply_result(r, rc, pg, "webhook");
}
