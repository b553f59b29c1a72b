/* The management API (SPEC 7 and 8): JSON over HTTP under /v1 on libevent's HTTP server,
 * running on the main thread's event base. Every request needs "Authorization: Bearer <token>":
 * the operator's admin.token (store_auth_token) or a platform token (store/iam.h). Endpoints
 * are those of the route table (src/api/routes.c), described at GET /v1/openapi.json; each
 * names the IAM action it needs (src/iam/policy.h). Errors are {"error":{"code":..,"message":..}}.
 * The engine supplies what the API reports and does through api_ops, so this module knows
 * nothing of calls or scripts. */
#ifndef VCS_HTTP_API_H
#define VCS_HTTP_API_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct store;
struct json_t;
struct trunks;
struct gateways;
struct limits;
struct billing;
struct region_dir;

struct api_health {
    int calls;        /* calls up now */
    int draining;     /* 1 while shutting down */
    long uptime_s;
};

struct api_reload_result {
    long version;
    size_t n_scripts;
    char **scripts;   /* owned by the engine until the next reload */
};

struct api_ops {
    void *ctx;
    void (*health)(void *ctx, struct api_health *out);
    /* 0 with *res filled, or -1 with a message such as "dialplans/x.lua:2: ..." in err. */
    int (*reload)(void *ctx, struct api_reload_result *res, char *err, size_t errlen);
    /* Prometheus text exposition format appended to out (see metrics_text.h). */
    void (*metrics)(void *ctx, struct evbuffer *out);
    /* After every write request that succeeded (2xx): state the call path caches from the
     * database (the number table) is brought up to date before the answer goes out. Optional. */
    void (*after_write)(void *ctx);
    /* The calls API (SPEC 7); account NULL: every account's (the operator's view).
     * originate: 0 with the new call's id, or an HTTP status with a message in err. */
    int (*originate)(void *ctx, const char *account, const struct json_t *body, char *id,
                     size_t idlen, char *err, size_t errlen);
    /* The legs up now as a JSON array (NULL: out of memory); one of them or NULL. */
    struct json_t *(*calls_list)(void *ctx, const char *account);
    struct json_t *(*call_get)(void *ctx, const char *account, const char *id);
    /* 0 when the leg was up and is being hung up, -1 when there is no such leg up. */
    int (*call_hangup)(void *ctx, const char *account, const char *id);
    struct trunks *trunks;  /* the SIP side's trunk table: /v1/trunks changes it at once */
    struct gateways *gateways; /* carrier gateways and their health, for /v1/gateways */
    struct limits *limits;     /* legs up per gateway */
    /* Frequency caps (SPEC 9) that POST /v1/calls applies with the DNC lists; 0: no cap. */
    int max_per_callee_day, max_per_callee_week;
    /* Whether the current dialplans hold a script of that name (NULL: not checked). */
    int (*script_exists)(void *ctx, const char *name);
    struct billing *billing;   /* recharges, balances, statements, releases (billing.h) */
    struct region_dir *regions; /* the callee regions in use, loaded here (region_dir.h) */
};

struct api_server;

struct api_server *api_start(struct event_base *base, const char *host, uint16_t port,
                             struct store *st, const struct api_ops *ops, char *err, size_t errlen);
void api_stop(struct api_server *api);

#endif
