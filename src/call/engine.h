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

#include "script/sandbox.h"

struct vcs_config;
struct store;
struct prompt_cache;
struct port_pool;
struct script_registry;
struct sip_stack;
struct recorder;
struct tts;

struct engine_services {
    const struct vcs_config *cfg;
    struct store *store;
    struct prompt_cache *prompts;
    struct port_pool *ports;
    struct script_registry *scripts;
    struct number_directory *numbers; /* the active numbers (numbers/number_table.h) */
    struct sip_stack *sip;
    struct trunks *trunks;        /* customer trunks (trunk/trunks.h), owned by the caller */
    /* Services whose threads call back into the workers (and prompts above): engine_create
     * takes ownership of them; they are destroyed after the workers stop, before they are freed. */
    struct recorder *recorder;
    struct tts *tts;
    struct sandbox_config sandbox;
    char media_ip[64];    /* the address in our SDP (sip.advertise behind a NAT) */
    char bind_ip[64];     /* where RTP sockets bind: the SIP listen address */
    char id_prefix[16];   /* makes call ids unique across restarts */
};

struct engine;

/* Takes ownership of svc->prompts, svc->tts and svc->recorder (also when it fails). */
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

#endif
