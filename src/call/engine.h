/* The engine: the workers, the SIP stack and the services calls use, wired together.
 * It is the SIP stack's sink (admission control: draining, max calls, measured delay, max calls
 * per second as a ceiling; worker choice), and it drives the drain on shutdown.
 * Admission by delay: the age of the oldest work waiting for the SIP side (sip_stack_wait_us)
 * or a worker, read at each new INVITE; over engine.max_delay_ms for 100 ms running, new calls get 503 until it is
 * under again, so the calls already admitted keep their share of the box. A 503 carries a
 * Retry-After of 1 to 5 s: refused per admitted call over the last second (5 while draining). */
#ifndef VCS_ENGINE_H
#define VCS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script/sandbox.h"

struct vcs_config;
struct store;
struct prompt_cache;
struct port_pool;
struct script_registry;
struct sip_stack;
struct recorder;
struct tts;
struct live_calls;
struct worker_tick_stats;
struct outleg_request;
struct billing;
struct region_dir;
struct compliance_gate;

struct engine_services {
    const struct vcs_config *cfg;
    struct store *store;
    struct prompt_cache *prompts;
    struct port_pool *ports;
    struct script_registry *scripts;
    struct number_directory *numbers; /* the active numbers (numbers/number_table.h) */
    struct sip_stack *sip;
    struct trunks *trunks;        /* customer trunks (trunk/trunks.h), owned by the caller */
    struct billing *billing;   /* prepaid admission of billed legs (NULL: nothing billed) */
    struct region_dir *regions; /* callee regions (caller ID "auto"), region_dir.h */
    /* Services whose threads call back into the workers (and prompts above): engine_create
     * takes ownership of them; they are destroyed after the workers stop, before they are freed. */
    struct recorder *recorder;
    struct tts *tts;
    struct compliance_gate *compliance; /* DNC and caps for vcs.originate (compliance_gate.h) */
    struct sandbox_config sandbox;
    char media_ip[64];    /* the address in our SDP (sip.advertise behind a NAT) */
    char bind_ip[64];     /* where RTP sockets bind: the SIP listen address */
    char id_prefix[16];   /* makes call ids unique across restarts */
};

struct engine;

/* Takes ownership of svc->prompts, svc->tts, svc->recorder and svc->compliance (also when it
 * fails). */
struct engine *engine_create(const struct engine_services *svc, char *err, size_t errlen);
/* Starts the workers, then the SIP stack. */
int engine_start(struct engine *e, char *err, size_t errlen);
const struct engine_services *engine_services(const struct engine *e);

int engine_live_calls(const struct engine *e);
/* New calls refused by admission control (503) since start. */
unsigned long long engine_refused_calls(const struct engine *e);
/* The delay admission control measured last (microseconds). */
unsigned long long engine_delay_us(const struct engine *e);
bool engine_draining(const struct engine *e);
void engine_begin_drain(struct engine *e);
/* Ends every call with cause (e.g. "shutdown"): BYE or 503, CDRs completed by their workers. */
void engine_hangup_all(struct engine *e, const char *cause);
/* Stops SIP and the workers; then frees everything. */
void engine_destroy(struct engine *e);

/* The concurrency counters of numbers, accounts, trunks and gateways (any thread). */
struct limits *engine_limits(const struct engine *e);
/* The carrier gateways: configuration, addresses, up/down (any thread, trunk/gateways.h). */
struct gateways *engine_gateways(const struct engine *e);

/* Worker thread: a call slot is free again. */
void engine_call_released(struct engine *e);

/* Any thread: the number of workers, and how late worker i's ticks ran (worker.h). */
int engine_worker_count(const struct engine *e);
void engine_tick_stats(struct engine *e, int i, struct worker_tick_stats *out);

/* The legs up now (any thread). */
struct live_calls *engine_live(const struct engine *e);
/* The call id of a leg ("<id_prefix>-<leg id in hex>"). */
void engine_call_id(const struct engine *e, uint64_t leg_id, char *buf, size_t len);

/* Any thread: places an outbound leg for req (checked with outleg_check; ownership taken
 * whatever the outcome) on the least loaded worker. 0 with the new call's id in id, or an
 * HTTP-like status (400, 404, 503 while draining) with a message in err. */
int engine_originate(struct engine *e, struct outleg_request *req, char *id, size_t idlen,
                     char *err, size_t errlen);
/* Any thread: hangs up the live leg id of account (NULL: any). 0, or -1 when no such leg is up. */
int engine_hangup_call(struct engine *e, const char *account, const char *id);
/* Any thread: a new leg id on that worker, counted as a live call until call_free. */
uint64_t engine_new_leg(struct engine *e, int worker);
/* Worker thread: the leg's INVITE is about to go to SIP, which holds it until it terminates
 * (counted for the worker's share). */
void engine_leg_placed(struct engine *e, uint64_t leg_id);

#endif
