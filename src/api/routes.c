/* The route table: every endpoint of the API, once. The dispatcher, the authorization check,
 * /v1/openapi.json and the policy-matrix test (tests/e2e/test_policy_matrix.py) read it, so an
 * endpoint cannot exist without its action, resource and body being declared and tested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

static const struct api_field account_fields[] = {
    { "name", "string", true, "account name: 1-32 of [A-Za-z0-9_.-], starting with a letter" },
    { "rate_fen_per_minute", "integer", false, "price of a started minute (default 20)" },
    { "rent_fen_per_month", "integer", false, "rent of a number per month (default 1500)" },
    { "max_calls", "integer", false, "concurrent calls of the account (default: no limit)" },
    { "low_balance_fen", "integer", false, "balance.low threshold (default 0)" },
    { NULL, NULL, false, NULL },
};
static const struct api_field user_fields[] = {
    { "name", "string", true, "user name, unique in the account" },
    { NULL, NULL, false, NULL },
};
static const struct api_field token_fields[] = {
    { "expires_at", "string", false, "ISO-8601 UTC time after which the token is refused" },
    { NULL, NULL, false, NULL },
};
static const struct api_field attach_fields[] = {
    { "policy", "string", true, "name of a system policy or of one of the account's" },
    { NULL, NULL, false, NULL },
};
static const struct api_field policy_fields[] = {
    { "name", "string", true, "policy name, unique in the account" },
    { "statements", "array", true,
      "[{\"actions\": [\"vcs:List*\"], \"resources\": [\"number:+8610*\"]}]" },
    { NULL, NULL, false, NULL },
};
static const struct api_field number_fields[] = {
    { "script", "string", false, "dialplan the number's calls run (\"\" unbinds)" },
    { "trunk", "string", false, "trunk the number's calls go to (\"\" unbinds)" },
    { "max_concurrent", "integer", false, "concurrent calls (operator only)" },
    { NULL, NULL, false, NULL },
};
static const struct api_field order_fields[] = {
    { "numbers", "array", false, "the E.164 numbers wanted (or region, type and count)" },
    { "region", "string", false, "with type and count: any available numbers of a region" },
    { "type", "string", false, "fixed or mobile" },
    { "count", "integer", false, "how many (1-1000)" },
    { NULL, NULL, false, NULL },
};
static const struct api_field reject_fields[] = {
    { "reason", "string", false, "told to the customer" },
    { NULL, NULL, false, NULL },
};
static const struct api_field call_fields[] = {
    { "to", "string", true, "the callee: a sip: URI, or a number dialled through the gateways" },
    { "from", "string", true, "the number presented: one of the account's" },
    { "script", "string", true, "the dialplan run when the callee answers" },
    { "vars", "object", false, "call.vars of the script: names to strings, numbers, booleans" },
    { "timeout_s", "integer", false, "ringing at most this long (default 30, 1-600)" },
    { "gateway", "string", false, "the carrier gateway to use (default: by priority)" },
    { NULL, NULL, false, NULL },
};
static const struct api_field trunk_fields[] = {
    { "name", "string", false, "trunk name (creation only): 1-32 of [A-Za-z0-9_.-], unique" },
    { "allow", "array", false, "source addresses [\"ADDRESS/PREFIX\", ...] (IPv4 or IPv6)" },
    { "username", "string", false, "digest username, unique (with password; \"\" clears both)" },
    { "password", "string", false, "digest password (never returned; kept as HA1)" },
    { "max_calls", "integer", false, "legs up at once on the trunk (0: the account's limit)" },
    { "address", "string", false, "\"IP:PORT\" for calls to the trunk while unregistered" },
    { NULL, NULL, false, NULL },
};
static const struct api_field webhook_fields[] = {
    { "url", "string", true, "http:// URL that receives the POSTs" },
    { "events", "array", true, "event names (call.completed, recording.ready, ...) or [\"*\"]" },
    { NULL, NULL, false, NULL },
};
static const struct api_field campaign_fields[] = {
    { "name", "string", true, "1-64 characters" },
    { "script", "string", true, "the dialplan each answered callee runs" },
    { "caller_id", "string", true, "\"auto\" (local presence) or an active number of the account" },
    { "max_concurrent", "integer", false, "calls up at once, 1-10000 (default 10)" },
    { "cps", "integer", false, "new calls per second, 1-1000 (default 1)" },
    { "window", "object", true,
      "{\"tz\": IANA zone, \"days\": \"mon-fri\" or \"mon,wed,sat\", \"start\": \"09:00\", \"end\": \"20:00\"}" },
    { "retry", "object", false,
      "{\"on\": [busy, no_answer, failed], \"max_attempts\": 1-10 (3), \"interval_s\": 60-86400 (600)}" },
    { "ring_timeout_s", "integer", false, "5-300 (default 30)" },
    { "amd", "string", false, "off (default), hangup or continue" },
    { "vars", "object", false, "call.vars of every callee (the CSV's columns override them)" },
    { NULL, NULL, false, NULL },
};
static const struct api_field dnc_fields[] = {
    { "numbers", "array", true, "E.164 numbers never to be called by a campaign or originate" },
    { NULL, NULL, false, NULL },
};
static const struct api_field recharge_fields[] = {
    { "amount_fen", "integer", true, "fen added to the balance (1 to 10^12)" },
    { "note", "string", false, "shown on the statement" },
    { NULL, NULL, false, NULL },
};
static const struct api_field clock_fields[] = {
    { "now", "string", false, "the billing clock's new time, 2027-01-31T00:00:00.000Z" },
    { "advance_s", "integer", false, "or move it on by this many seconds" },
    { NULL, NULL, false, NULL },
};
static const struct api_field no_fields[] = { { NULL, NULL, false, NULL } };

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define DELETE EVHTTP_REQ_DELETE
#define PATCH EVHTTP_REQ_PATCH

const struct api_route api_routes[] = {
    { GET, "/v1/health", api_health, NULL, NULL, 0, 200, "Server health (503 while draining)",
      NULL },
    { GET, "/v1/openapi.json", api_openapi_get, NULL, NULL, 0, 200,
      "This description (OpenAPI 3.1)", NULL },
    { POST, "/v1/reload", api_reload, "vcs:Reload", "*", 0, 200,
      "Recompile every dialplan; 422 and nothing changed when one fails", no_fields },
    { GET, "/metrics", api_metrics, "vcs:ViewMetrics", "*", 0, 200,
      "Prometheus text exposition", NULL },
    { POST, "/v1/accounts", api_accounts_create, "vcs:ManageAccounts", "account:*", API_CREATES,
      201, "Create a customer account; the main user's token is shown once", account_fields },
    { GET, "/v1/accounts", api_accounts_list, "vcs:ManageAccounts", "account:*", API_LIST, 200,
      "Every account", NULL },
    { GET, "/v1/accounts/{name}", api_accounts_get, "vcs:ViewBilling", "account:{name}",
      API_ANY_ACCOUNT, 200, "One account: terms and balance", NULL },
    { POST, "/v1/accounts/{name}/recharges", api_recharges_create, "vcs:Recharge",
      "account:{name}", API_CREATES | API_ANY_ACCOUNT, 201,
      "Add to the account's balance; owed rent is paid at once", recharge_fields },
    { GET, "/v1/accounts/{name}/balance", api_balance_get, "vcs:ViewBilling", "account:{name}",
      API_ANY_ACCOUNT, 200, "balance_fen and what live calls reserve of it", NULL },
    { GET, "/v1/accounts/{name}/statements", api_statements_get, "vcs:ViewBilling",
      "account:{name}", API_ANY_ACCOUNT, 200,
      "The statement of ?month=YYYY-MM (billing.tz; default this month)", NULL },
    { POST, "/v1/admin/clock", api_clock_set, "vcs:SetClock", "*", 0, 200,
      "Move the billing clock (only when vcsd runs with --fake-clock; tests)", clock_fields },
    { GET, "/v1/users", api_users_list, "vcs:ManageUsers", "user:*", API_LIST | API_OPERATOR_AS, 200,
      "The account's users with their policies", NULL },
    { POST, "/v1/users", api_users_create, "vcs:ManageUsers", "user:*", API_CREATES | API_OPERATOR_AS, 201,
      "Create a sub-user (no rights until a policy is attached)", user_fields },
    { DELETE, "/v1/users/{name}", api_users_delete, "vcs:ManageUsers", "user:{name}", API_OPERATOR_AS, 204,
      "Delete a sub-user with its tokens", NULL },
    { POST, "/v1/users/{name}/tokens", api_tokens_create, "vcs:ManageUsers", "user:{name}",
      API_CREATES | API_OPERATOR_AS, 201, "Issue a token for the user; shown once", token_fields },
    { DELETE, "/v1/users/{name}/tokens/{id}", api_tokens_delete, "vcs:ManageUsers",
      "user:{name}", API_OPERATOR_AS, 204, "Revoke a token", NULL },
    { POST, "/v1/users/{name}/policies", api_user_policies_attach, "vcs:ManageUsers",
      "user:{name}", API_OPERATOR_AS, 201, "Attach a policy to a sub-user (200 when already attached)",
      attach_fields },
    { DELETE, "/v1/users/{name}/policies/{policy}", api_user_policies_detach, "vcs:ManageUsers",
      "user:{name}", API_OPERATOR_AS, 204, "Detach a policy", NULL },
    { GET, "/v1/policies", api_policies_list, "vcs:ManagePolicies", "policy:*", API_LIST | API_OPERATOR_AS, 200,
      "The system policies and the account's own", NULL },
    { POST, "/v1/policies", api_policies_create, "vcs:ManagePolicies", "policy:*", API_CREATES | API_OPERATOR_AS,
      201, "Create a custom policy (policies are never edited: detach, create, attach)",
      policy_fields },
    { DELETE, "/v1/policies/{name}", api_policies_delete, "vcs:ManagePolicies",
      "policy:{name}", API_OPERATOR_AS, 204, "Delete a policy attached to nobody (409 otherwise)", NULL },
    { POST, "/v1/numbers/import", api_numbers_import, "vcs:ImportNumbers", "number:*", API_CSV,
      200, "Import numbers: text/csv number,region,type,max_concurrent; errors per line",
      NULL },
    { POST, "/v1/regions/import", api_regions_import, "vcs:ImportRegions", "region:*", API_CSV,
      200, "Import callee regions: text/csv number_prefix,region; errors per line", NULL },
    { GET, "/v1/numbers", api_numbers_list, "vcs:ListNumbers", "number:*",
      API_LIST | API_ANY_ACCOUNT, 200,
      "The caller's numbers, or with ?available=true&region=&type= the inventory", NULL },
    { GET, "/v1/numbers/{number}", api_numbers_get, "vcs:GetNumber", "number:{number}",
      API_ANY_ACCOUNT, 200, "One of the caller's numbers", NULL },
    { PATCH, "/v1/numbers/{number}", api_numbers_update, "vcs:UpdateNumber", "number:{number}",
      API_ANY_ACCOUNT, 200, "Bind an active number to a script or a trunk", number_fields },
    { POST, "/v1/numbers/{number}/release", api_numbers_release, "vcs:ReleaseNumber",
      "number:{number}", API_ANY_ACCOUNT, 200, "Release an active number", no_fields },
    { POST, "/v1/orders", api_orders_create, "vcs:OrderNumbers", "order:*", API_CREATES | API_OPERATOR_AS, 201,
      "Order numbers by list or by region/type/count; they are reserved (409 if taken)",
      order_fields },
    { GET, "/v1/orders", api_orders_list, "vcs:ListOrders", "order:*",
      API_LIST | API_ANY_ACCOUNT, 200, "The caller's orders (the operator: all)", NULL },
    { POST, "/v1/orders/{id}/approve", api_orders_approve, "vcs:ApproveOrders", "order:{id}",
      API_ANY_ACCOUNT, 200, "Approve a pending order: its numbers become active", no_fields },
    { POST, "/v1/orders/{id}/reject", api_orders_reject, "vcs:ApproveOrders", "order:{id}",
      API_ANY_ACCOUNT, 200, "Reject a pending order: its numbers go back", reject_fields },
    { POST, "/v1/calls", api_calls_create, "vcs:Originate", "call:*", API_CREATES | API_OPERATOR_AS,
      201, "Place an outbound call; its script runs when the callee answers", call_fields },
    { GET, "/v1/calls", api_calls_list, "vcs:ListCalls", "call:*", API_LIST | API_ANY_ACCOUNT, 200,
      "The legs up now (the operator: of every account)", NULL },
    { GET, "/v1/calls/{id}", api_calls_get, "vcs:ListCalls", "call:{id}", API_ANY_ACCOUNT, 200,
      "One leg: live, else its CDR", NULL },
    { DELETE, "/v1/calls/{id}", api_calls_hangup, "vcs:HangupCall", "call:{id}", API_ANY_ACCOUNT,
      204, "Hang up a leg that is up", NULL },
    { GET, "/v1/trunks", api_trunks_list, "vcs:ViewTrunks", "trunk:*", API_LIST | API_ANY_ACCOUNT,
      200, "The account's trunks (the operator: all); configured trunks are not listed", NULL },
    { POST, "/v1/trunks", api_trunks_create, "vcs:ManageTrunks", "trunk:*",
      API_CREATES | API_OPERATOR_AS, 201, "Create a trunk: allow list and/or credentials",
      trunk_fields },
    { GET, "/v1/trunks/{name}", api_trunks_get, "vcs:ViewTrunks", "trunk:{name}", API_ANY_ACCOUNT,
      200, "One trunk, with its registered contact", NULL },
    { PATCH, "/v1/trunks/{name}", api_trunks_update, "vcs:ManageTrunks", "trunk:{name}",
      API_ANY_ACCOUNT, 200, "Change a trunk's allow list, credentials, max_calls or address",
      trunk_fields },
    { DELETE, "/v1/trunks/{name}", api_trunks_delete, "vcs:ManageTrunks", "trunk:{name}",
      API_ANY_ACCOUNT, 204, "Delete a trunk and its registration", NULL },
    { GET, "/v1/gateways", api_gateways_list, "vcs:ViewGateways", "gateway:*", API_LIST, 200,
      "Carrier gateways: address, state (OPTIONS probes), calls, registration", NULL },
    { GET, "/v1/cdrs", api_cdrs_list, "vcs:ListCdrs", "cdr:*", API_LIST | API_OPERATOR_AS, 200,
      "CDRs filtered by ?since=&until=&number=&cause=&campaign=&direction=; CSV streamed with"
      " Accept: text/csv", NULL },
    { GET, "/v1/recordings/{call_id}", api_recordings_get, "vcs:GetRecording",
      "recording:{call_id}", API_ANY_ACCOUNT, 200, "A call's recording (audio/wav, Range honoured)",
      NULL },
    { DELETE, "/v1/recordings/{call_id}", api_recordings_delete, "vcs:DeleteRecording",
      "recording:{call_id}", API_ANY_ACCOUNT, 204,
      "Delete a recording (the CDR keeps a recording_deleted var)", NULL },
    { GET, "/v1/webhooks", api_webhooks_list, "vcs:ManageWebhooks", "webhook:*",
      API_LIST | API_OPERATOR_AS, 200, "The account's webhook subscriptions", NULL },
    { POST, "/v1/webhooks", api_webhooks_create, "vcs:ManageWebhooks", "webhook:*",
      API_CREATES | API_OPERATOR_AS, 201, "Subscribe a URL to events; the secret is shown once",
      webhook_fields },
    { DELETE, "/v1/webhooks/{id}", api_webhooks_delete, "vcs:ManageWebhooks", "webhook:{id}",
      API_ANY_ACCOUNT, 204, "Unsubscribe (pending deliveries are dropped)", NULL },
    { GET, "/v1/webhooks/{id}/deliveries", api_webhooks_deliveries, "vcs:ManageWebhooks",
      "webhook:{id}", API_LIST | API_ANY_ACCOUNT, 200,
      "The deliveries of a subscription: state, attempts, last status", NULL },
    { POST, "/v1/campaigns", api_campaigns_create, "vcs:ManageCampaigns", "campaign:*",
      API_CREATES | API_OPERATOR_AS, 201, "Create a campaign (state draft)", campaign_fields },
    { GET, "/v1/campaigns", api_campaigns_list, "vcs:ViewCampaigns", "campaign:*",
      API_LIST | API_ANY_ACCOUNT, 200, "The caller's campaigns (the operator: all)", NULL },
    { GET, "/v1/campaigns/{id}", api_campaigns_get, "vcs:ViewCampaigns", "campaign:{id}",
      API_ANY_ACCOUNT, 200, "A campaign's settings, state and progress", NULL },
    { POST, "/v1/campaigns/{id}/callees", api_campaigns_callees, "vcs:ManageCampaigns",
      "campaign:{id}", API_CSV | API_ANY_ACCOUNT, 200,
      "Add callees: text/csv number[,var...]; rejections per line; 422 sequential_numbers", NULL },
    { POST, "/v1/campaigns/{id}/start", api_campaigns_start, "vcs:ManageCampaigns",
      "campaign:{id}", API_ANY_ACCOUNT, 200, "draft -> running", no_fields },
    { POST, "/v1/campaigns/{id}/pause", api_campaigns_pause, "vcs:ManageCampaigns",
      "campaign:{id}", API_ANY_ACCOUNT, 200, "running -> paused", no_fields },
    { POST, "/v1/campaigns/{id}/resume", api_campaigns_resume, "vcs:ManageCampaigns",
      "campaign:{id}", API_ANY_ACCOUNT, 200, "paused -> running", no_fields },
    { POST, "/v1/campaigns/{id}/cancel", api_campaigns_cancel, "vcs:ManageCampaigns",
      "campaign:{id}", API_ANY_ACCOUNT, 200, "draft, running or paused -> cancelled", no_fields },
    { GET, "/v1/campaigns/{id}/results", api_campaigns_results, "vcs:ViewCampaigns",
      "campaign:{id}", API_LIST | API_ANY_ACCOUNT, 200,
      "Per callee: number, attempts, result, last call, answer, billsec, vars (CSV with Accept: text/csv)",
      NULL },
    { GET, "/v1/dnc", api_dnc_list, "vcs:ManageDnc", "dnc:*", API_LIST | API_OPERATOR_AS, 200,
      "The account's do-not-call list (the operator's own: the global list)", NULL },
    { POST, "/v1/dnc", api_dnc_add, "vcs:ManageDnc", "dnc:*", API_OPERATOR_AS, 200,
      "Add numbers to the do-not-call list", dnc_fields },
    { DELETE, "/v1/dnc/{number}", api_dnc_delete, "vcs:ManageDnc", "dnc:{number}",
      API_OPERATOR_AS, 204, "Remove a number from the do-not-call list", NULL },
    { GET, "/v1/audit", api_audit_list, "vcs:ViewAudit", "audit:*", API_LIST | API_ANY_ACCOUNT,
      200, "Every write and every denial of the account (the operator: of all)", NULL },
};
const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];

static const struct {
    enum evhttp_cmd_type method;
    const char *name;
} method_names[] = {
    { EVHTTP_REQ_GET, "GET" },         { EVHTTP_REQ_HEAD, "HEAD" },
    { EVHTTP_REQ_POST, "POST" },       { EVHTTP_REQ_PUT, "PUT" },
    { EVHTTP_REQ_PATCH, "PATCH" },     { EVHTTP_REQ_DELETE, "DELETE" },
    { EVHTTP_REQ_OPTIONS, "OPTIONS" }, { EVHTTP_REQ_TRACE, "TRACE" },
    { EVHTTP_REQ_CONNECT, "CONNECT" },
};

const char *api_method_name(enum evhttp_cmd_type m)
{
    for (size_t i = 0; i < sizeof method_names / sizeof method_names[0]; i++) {
        if (method_names[i].method == m)
            return method_names[i].name;
    }
    return "?";
}

/* One segment of a raw path decoded into out; -1 when it decodes to something no name holds. */
static int decode_segment(const char *seg, size_t len, char *out, size_t outlen)
{
    char raw[3 * API_PARAM_MAX + 1];
    if (len == 0 || len >= sizeof raw)
        return -1;
    memcpy(raw, seg, len);
    raw[len] = '\0';
    size_t n = 0;
    char *dec = evhttp_uridecode(raw, 0, &n);
    int ok = dec && n > 0 && n < outlen && strlen(dec) == n && !strchr(dec, '/');
    if (ok)
        memcpy(out, dec, n + 1);
    free(dec);
    return ok ? 0 : -1;
}

bool api_route_match(const struct api_route *r, const char *path, struct api_call *c)
{
    const char *p = r->pattern, *s = path;
    size_t np = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t seglen = strcspn(s, "/");
            if (!close || np == API_MAX_PARAMS)
                return false;
            struct api_param *prm = &c->params[np];
            if (decode_segment(s, seglen, prm->value, sizeof prm->value) != 0)
                return false;
            prm->name = p + 1;
            prm->name_len = (size_t)(close - p - 1);
            np++;
            p = close + 1;
            s += seglen;
        } else if (*p++ != *s++) {
            return false;
        }
    }
    if (*p || *s)
        return false;
    c->n_params = np;
    return true;
}

const char *api_param(const struct api_call *c, const char *name)
{
    for (size_t i = 0; i < c->n_params; i++) {
        if (strlen(name) == c->params[i].name_len &&
            strncmp(c->params[i].name, name, c->params[i].name_len) == 0)
            return c->params[i].value;
    }
    return "";
}

void api_resource(const struct api_call *c, char *out, size_t outlen)
{
    const char *t = c->route->resource ? c->route->resource : "";
    size_t n = 0;
    while (*t && n + 1 < outlen) {
        const char *close = *t == '{' ? strchr(t, '}') : NULL;
        if (!close) {
            out[n++] = *t++;
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(close - t - 1), t + 1);
        n += (size_t)snprintf(out + n, outlen - n, "%s", api_param(c, name));
        if (n >= outlen)
            n = outlen - 1;
        t = close + 1;
    }
    out[n] = '\0';
}
