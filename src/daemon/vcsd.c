/* vcsd: flags and configuration, the services, the engine, the management API, signals.
 * Runs in the foreground and logs to stderr (SPEC 3). */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "api/http_api.h"
#include "api/metrics_text.h"
#include "billing/bclock.h"
#include "billing/billing.h"
#include "call/engine.h"
#include "call/worker.h"
#include "campaign/compliance_gate.h"
#include "campaign/dialer.h"
#include "campaign/placer.h"
#include "call/originate.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "events/events.h"
#include "media/port_pool.h"
#include "media/prompt_cache.h"
#include "media/recorder.h"
#include "media/rtp_session.h"
#include "media/tts.h"
#include "sip/sip_auth.h"
#include "sip/sip_stack.h"
#include "numbers/number_table.h"
#include "numbers/region_dir.h"
#include "script/script_set.h"
#include "store/store.h"
#include "store/trunk_store.h"
#include "limits/limits.h"
#include "trunk/gateways.h"
#include "trunk/trunks.h"

#define DRAIN_CHECK_MS 100
#define HANGUP_WAIT_MS 5000 /* after the grace period: time for BYEs to be answered */
#define TRIM_INTERVAL_S 30   /* idle memory goes back to the system this often */

struct vcsd {
    struct vcs_config cfg;
    struct event_base *base;
    struct store *store;
    struct prompt_cache *prompts;
    bool prompts_owned;          /* until the engine takes it */
    struct port_pool *ports;
    struct script_registry *scripts;
    struct number_directory *numbers;
    struct trunks *trunks;
    struct trunk_persist *trunk_persist; /* managed trunks and registrations in vcs.db */
    struct tts *tts;             /* owned by the engine; kept here for metrics */
    struct engine *engine;
    struct billing *billing;
    struct region_dir *regions;
    struct api_server *api;
    struct dialer *dialer;       /* campaigns (SPEC 9) */
    uint64_t started_ms;
    /* shutdown */
    struct event *drain_ev;
    uint64_t drain_deadline_ms, hangup_deadline_ms;
    bool hung_up;
    /* last reload, for the API */
    char **script_names;
    size_t n_script_names;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vcsd [-c FILE] [--sip HOST:PORT] [--http HOST:PORT] [--data DIR]\n"
            "            [--dialplans DIR] [--sounds DIR] [--rtp-ports LO-HI]\n"
            "            [--log-level debug|info|warn|error] [--fake-clock]\n"
            "--fake-clock lets the operator move the billing clock (POST /v1/admin/clock):\n"
            "for tests only, never in production.\n");
}

/* Flags override the file, so they are applied after it (SPEC 3). */
static int parse_args(int argc, char **argv, struct vcs_config *cfg)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "sip", required_argument, NULL, 's' },
        { "http", required_argument, NULL, 'h' }, { "data", required_argument, NULL, 'd' },
        { "dialplans", required_argument, NULL, 'p' }, { "sounds", required_argument, NULL, 'o' },
        { "rtp-ports", required_argument, NULL, 'r' }, { "log-level", required_argument, NULL, 'l' },
        { "fake-clock", no_argument, NULL, 'F' }, { "help", no_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 } };
    const char *config_file = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (ch == 'c')
            config_file = optarg;
        else if (ch == 'H') {
            usage(stdout);
            exit(0);
        } else if (ch == '?') {
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vcsd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    config_defaults(cfg);
    char err[512];
    if (config_file && config_load_file(cfg, config_file, err, sizeof err) != 0) {
        fprintf(stderr, "vcsd: %s\n", err);
        return -1;
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 's': bad = config_parse_hostport(optarg, cfg->sip_host, sizeof cfg->sip_host, &cfg->sip_port); break;
        case 'h': bad = config_parse_hostport(optarg, cfg->http_host, sizeof cfg->http_host, &cfg->http_port); break;
        case 'd': bad = snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", optarg) >= (int)sizeof cfg->data_dir; break;
        case 'p': bad = snprintf(cfg->dialplans_dir, sizeof cfg->dialplans_dir, "%s", optarg) >= (int)sizeof cfg->dialplans_dir; break;
        case 'o': bad = snprintf(cfg->sounds_dir, sizeof cfg->sounds_dir, "%s", optarg) >= (int)sizeof cfg->sounds_dir; break;
        case 'r': bad = config_parse_port_range(optarg, &cfg->rtp_port_lo, &cfg->rtp_port_hi); break;
        case 'l': bad = log_level_parse(optarg, &cfg->log_level); break;
        case 'F': cfg->fake_clock = true; break;
        default: break;
        }
        if (bad) {
            const char *flag = "?";
            for (const struct option *o = opts; o->name; o++)
                if (o->val == ch)
                    flag = o->name;
            fprintf(stderr, "vcsd: invalid value '%s' for --%s\n", optarg, flag);
            return -1;
        }
    }
    return 0;
}

/* ---- reload ------------------------------------------------------------------------------- */

static void remember_scripts(struct vcsd *d)
{
    for (size_t i = 0; i < d->n_script_names; i++)
        free(d->script_names[i]);
    free(d->script_names);
    d->script_names = NULL;
    d->n_script_names = 0;
    struct script_set *set = script_registry_acquire(d->scripts);
    if (!set)
        return;
    d->script_names = calloc(set->n_sources ? set->n_sources : 1, sizeof *d->script_names);
    for (size_t i = 0; d->script_names && i < set->n_sources; i++)
        if (set->sources[i].handler)
            d->script_names[d->n_script_names++] = strdup(set->sources[i].name);
    script_set_release(set);
}

static int do_reload(struct vcsd *d, char *err, size_t errlen)
{
    if (number_directory_sync(d->numbers, true) != 0) {
        snprintf(err, errlen, "cannot read the number table");
        return -1;
    }
    if (script_registry_reload(d->scripts, err, errlen) != 0)
        return -1;
    prompt_cache_clear(d->prompts); /* changed sound files are read again */
    remember_scripts(d);
    return 0;
}

static int api_reload(void *ctx, struct api_reload_result *res, char *err, size_t errlen)
{
    struct vcsd *d = ctx;
    if (do_reload(d, err, errlen) != 0) {
        log_warn("reload failed: %s", err);
        return -1;
    }
    struct script_set *set = script_registry_acquire(d->scripts);
    res->version = set ? set->version : 0;
    script_set_release(set);
    res->scripts = d->script_names;
    res->n_scripts = d->n_script_names;
    log_info("reload ok: version %ld (API)", res->version);
    return 0;
}

static int api_script_exists(void *ctx, const char *name)
{
    struct vcsd *d = ctx;
    struct script_set *set = script_registry_acquire(d->scripts);
    const struct script_source *src = set ? script_set_find(set, name) : NULL;
    int found = src && src->handler;
    script_set_release(set);
    return found;
}

static void api_health(void *ctx, struct api_health *out)
{
    struct vcsd *d = ctx;
    out->calls = engine_live_calls(d->engine);
    out->draining = engine_draining(d->engine);
    out->uptime_s = (long)((clock_mono_ms() - d->started_ms) / 1000);
}

static void api_after_write(void *ctx)
{
    struct vcsd *d = ctx;
    number_directory_sync(d->numbers, false);
}

/* Writers other than the API (the billing job, sqlite3 by hand) reach calls within a second. */
static void on_numbers_sync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct vcsd *d = arg;
    number_directory_sync(d->numbers, false);
}

/* The calls API: the engine's outbound legs and live-call registry (call/originate.h). */
static int api_originate(void *ctx, const char *account, const json_t *body, char *id,
                         size_t idlen, char *err, size_t errlen)
{
    return originate_json(((struct vcsd *)ctx)->engine, account, body, id, idlen, err, errlen);
}

static json_t *api_calls_list(void *ctx, const char *account)
{
    return originate_live_list(((struct vcsd *)ctx)->engine, account);
}

static json_t *api_call_get(void *ctx, const char *account, const char *id)
{
    return originate_live_get(((struct vcsd *)ctx)->engine, account, id);
}

static int api_call_hangup(void *ctx, const char *account, const char *id)
{
    return engine_hangup_call(((struct vcsd *)ctx)->engine, account, id);
}

/* glibc keeps freed memory in its arenas at the peak of a load; when nothing is up, hand it
 * back so that RSS returns to its start (the benchmark checks it). */
static void on_trim(evutil_socket_t fd, short what, void *arg)
{
    struct vcsd *d = arg;
    if (engine_live_calls(d->engine) == 0)
        malloc_trim(0);
}

/* Per gateway: up (OPTIONS probes), legs up, registered. A name goes into a label value with
 * its quote and backslash escaped (the exposition format's rule); newlines cannot occur. */
static void gateway_metrics(struct vcsd *d, struct evbuffer *out)
{
    struct gateways *g = engine_gateways(d->engine);
    static const char *const names[] = { "vcs_gateway_up", "vcs_gateway_calls",
                                         "vcs_gateway_registered" };
    static const char *const helps[] = {
        "1 while the gateway answers its OPTIONS probes (3 misses take it down).",
        "Legs up now through the gateway.", "1 while the gateway's REGISTER is in force." };
    for (int m = 0; m < 3; m++) {
        metrics_family(out, names[m], "gauge", helps[m]);
        for (size_t i = 0; i < gateways_count(g); i++) {
            const char *name = gateways_config(g, i)->name;
            char label[160];
            size_t n = (size_t)snprintf(label, sizeof label, "gateway=\"");
            for (const char *p = name; *p && n + 4 < sizeof label; p++) {
                if (*p == '"' || *p == '\\')
                    label[n++] = '\\';
                label[n++] = *p;
            }
            snprintf(label + n, sizeof label - n, "\"");
            unsigned long long v =
                m == 0   ? gateways_is_up(g, i)
                : m == 1 ? (unsigned long long)limits_count(engine_limits(d->engine),
                                                            LIMIT_GATEWAY, name)
                         : gateways_registered(g, i);
            metrics_sample(out, names[m], label, v);
        }
    }
}

/* Per worker: how late its media ticks started and finished sending (worker.h). */
static void tick_metrics(struct vcsd *d, struct evbuffer *out)
{
    static const char *const names[] = { "vcs_media_tick_start_lag_seconds",
                                         "vcs_media_tick_end_lag_seconds" };
    static const char *const helps[] = {
        "How late each 20 ms media tick woke against its timeline.",
        "How late each 20 ms media tick had sent its last packet against its timeline." };
    double bounds[WORKER_TICK_BUCKETS];
    for (int b = 0; b < WORKER_TICK_BUCKETS; b++)
        bounds[b] = worker_tick_bounds_us[b] / 1e6;
    int n = engine_worker_count(d->engine);
    for (int m = 0; m < 2; m++) {
        metrics_family(out, names[m], "histogram", helps[m]);
        for (int i = 0; i < n; i++) {
            struct worker_tick_stats st;
            engine_tick_stats(d->engine, i, &st);
            char label[32];
            snprintf(label, sizeof label, "worker=\"%d\"", i);
            metrics_histogram(out, names[m], label, bounds, m ? st.end_le : st.start_le,
                              WORKER_TICK_BUCKETS, st.ticks,
                              (double)(m ? st.end_sum_us : st.start_sum_us) / 1e6);
        }
    }
}

static void api_metrics(void *ctx, struct evbuffer *out)
{
    struct vcsd *d = ctx;
    struct tts_stats t = { 0 };
    tts_get_stats(d->tts, &t);
    metrics_one(out, "vcs_calls_active", "gauge", "Calls up now.", (unsigned long long)engine_live_calls(d->engine));
    metrics_one(out, "vcs_draining", "gauge", "1 while shutting down.", engine_draining(d->engine) ? 1 : 0);
    metrics_one(out, "vcs_calls_refused_total", "counter",
                "New calls refused by admission control (503).", engine_refused_calls(d->engine));
    metrics_one(out, "vcs_admission_delay_ms", "gauge",
                "Age of the oldest work waiting (worker, SIP thread, ACK to a 200), at the last INVITE.",
                engine_delay_us(d->engine) / 1000);
    struct sip_stack *sip = engine_services(d->engine)->sip;
    metrics_one(out, "vcs_sip_forbidden_total", "counter",
                "INVITEs refused with 403 because their source is no trunk's (no CDR).",
                sip ? sip_stack_forbidden(sip) : 0);
    metrics_one(out, "vcs_sip_rate_limited_total", "counter",
                "Requests refused with 503 by the per-source rate limit.",
                sip ? sip_stack_rate_limited(sip) : 0);
    struct sip_auth_stats as = { 0 };
    if (sip)
        sip_stack_auth_stats(sip, &as);
    metrics_one(out, "vcs_sip_auth_challenges_total", "counter",
                "Digest challenges sent to requests from no allowed source (407/401).",
                as.challenges);
    metrics_one(out, "vcs_sip_auth_failures_total", "counter",
                "Requests with wrong digest credentials (a challenge is no failure).", as.failures);
    metrics_one(out, "vcs_sip_auth_lockouts_total", "counter",
                "Source addresses locked out after 5 wrong credentials within 60 s.", as.lockouts);
    metrics_one(out, "vcs_sip_auth_locked_refused_total", "counter",
                "Requests refused with 403 because their source is locked out.",
                as.locked_refused);
    gateway_metrics(d, out);
    metrics_family(out, "vcs_tts_requests_total", "counter", "Text-to-speech requests by cache result.");
    metrics_sample(out, "vcs_tts_requests_total", "result=\"hit\"", (unsigned long long)t.hits);
    metrics_sample(out, "vcs_tts_requests_total", "result=\"miss\"", (unsigned long long)t.misses);
    metrics_one(out, "vcs_tts_cache_entries", "gauge", "Cached syntheses.", (unsigned long long)t.entries);
    struct store_stats ss;
    store_get_stats(d->store, &ss);
    metrics_one(out, "vcs_cdr_write_errors_total", "counter",
                "Failed CDR write attempts (disk full, I/O error, locked); retried, not dropped.",
                ss.write_errors);
    metrics_one(out, "vcs_cdr_pending", "gauge", "CDR changes waiting to be written.",
                (unsigned long long)ss.cdr_pending);
    metrics_one(out, "vcs_recording_frames_dropped_total", "counter",
                "Audio frames (1/8000 s each) lost from recordings: the writer was behind.",
                recorder_dropped_frames(engine_services(d->engine)->recorder));
    uint64_t rtp_source, rtp_ssrc;
    rtp_session_drop_totals(&rtp_source, &rtp_ssrc);
    metrics_family(out, "vcs_rtp_dropped_total", "counter",
                   "RTP packets dropped by strict RTP: not from the latched peer, or another SSRC.");
    metrics_sample(out, "vcs_rtp_dropped_total", "reason=\"source\"", (unsigned long long)rtp_source);
    metrics_sample(out, "vcs_rtp_dropped_total", "reason=\"ssrc\"", (unsigned long long)rtp_ssrc);
    tick_metrics(d, out);
    metrics_one(out, "vcs_uptime_seconds", "gauge", "Seconds since start.",
                (unsigned long long)((clock_mono_ms() - d->started_ms) / 1000));
}

/* ---- signals ------------------------------------------------------------------------------ */

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    struct vcsd *d = arg;
    char err[1024];
    if (do_reload(d, err, sizeof err) != 0) {
        log_warn("reload failed: %s", err);
        return;
    }
    struct script_set *set = script_registry_acquire(d->scripts);
    log_info("reload ok: version %ld", set ? set->version : 0);
    script_set_release(set);
}

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
    struct vcsd *d = arg;
    uint64_t now = clock_mono_ms();
    int calls = engine_live_calls(d->engine);
    if (calls == 0) {
        log_info("drain: no calls left");
        event_base_loopbreak(d->base);
        return;
    }
    if (!d->hung_up && now >= d->drain_deadline_ms) {
        log_info("drain: grace period over, ending %d calls", calls);
        engine_hangup_all(d->engine, "shutdown");
        d->hung_up = true;
        d->hangup_deadline_ms = now + HANGUP_WAIT_MS;
    } else if (d->hung_up && now >= d->hangup_deadline_ms) {
        log_warn("drain: %d calls did not end in time", calls);
        event_base_loopbreak(d->base);
    }
}

static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
    struct vcsd *d = arg;
    if (engine_draining(d->engine)) {
        log_info("second signal: stopping now");
        d->drain_deadline_ms = 0;
        return;
    }
    log_info("draining: new calls get 503, %d calls up get %d s", engine_live_calls(d->engine),
             d->cfg.grace_seconds);
    engine_begin_drain(d->engine);
    d->drain_deadline_ms = clock_mono_ms() + (uint64_t)d->cfg.grace_seconds * 1000u;
    struct timeval tv = { 0, DRAIN_CHECK_MS * 1000 };
    event_add(d->drain_ev, &tv);
    drain_check(-1, 0, d);
}

/* ---- start-up ----------------------------------------------------------------------------- */

static int make_dirs(const struct vcs_config *cfg, char *recordings, size_t len)
{
    if (mkdir(cfg->data_dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "vcsd: cannot create %s: %s\n", cfg->data_dir, strerror(errno));
        return -1;
    }
    char path[PATH_MAX], resolved[PATH_MAX];
    snprintf(path, sizeof path, "%s/recordings", cfg->data_dir);
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr, "vcsd: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* The recorder takes absolute paths only: a relative --data (./var in the demo) would
     * make every recording fail. */
    if (!realpath(path, resolved) || strlen(resolved) >= len) {
        fprintf(stderr, "vcsd: cannot resolve %s: %s\n", path, strerror(errno));
        return -1;
    }
    snprintf(recordings, len, "%s", resolved);
    return 0;
}

/* Billing days and months are local to billing.tz (billing/calendar.h): the process's zone,
 * set before any thread starts. Nothing else in vcsd uses local time. */
static int set_billing_tz(const struct vcs_config *cfg)
{
    char path[PATH_MAX];
    const char *tz = cfg->billing_tz;
    if (!tz[0] || tz[0] == '/' || strstr(tz, "..") ||
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz) >= (int)sizeof path ||
        access(path, R_OK) != 0) {
        fprintf(stderr, "vcsd: billing.tz: '%s' is no time zone of the system's tz database\n",
                tz);
        return -1;
    }
    setenv("TZ", tz, 1);
    tzset();
    if (cfg->fake_clock) {
        bclock_enable_fake();
        log_warn("--fake-clock: the operator may move the billing clock (tests only)");
    }
    return 0;
}
/* This thread serves the management API (and housekeeping timers). Measured with 500 calls up and
 * wrk on 200 connections: at the workers' priority it took a whole core and 68 % of the calls'
 * packets went out more than 5 ms late (11 % without wrk). A media worker must win the CPU from
 * it, so it runs at nice +API_NICE; Linux keeps nice per thread, and every other thread has
 * started by now (a thread created later from here would inherit it). */
#define API_NICE 10

static void lower_api_priority(void)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;
    int nice_now = getpriority(PRIO_PROCESS, (id_t)tid);
    if (errno == 0 && nice_now < API_NICE && setpriority(PRIO_PROCESS, (id_t)tid, API_NICE) != 0)
        log_warn("vcsd: cannot lower the API thread's priority: %s", strerror(errno));
}


static int run(struct vcsd *d)
{
    struct vcs_config *cfg = &d->cfg;
    char err[1024], recordings[600];
    if (set_billing_tz(cfg) != 0 || make_dirs(cfg, recordings, sizeof recordings) != 0)
        return 1;
    d->store = store_open(cfg->data_dir, err, sizeof err);
    if (!d->store) {
        log_error("store: %s", err);
        return 1;
    }
    if (events_start(cfg->data_dir, cfg->webhooks_allow_private, err, sizeof err) != 0) {
        log_error("%s", err);
        return 1;
    }
    d->billing = billing_create(d->base, cfg->data_dir, err, sizeof err);
    d->regions = region_dir_create();
    if (!d->billing || !d->regions) {
        log_error("%s", d->billing ? "out of memory" : err);
        return 1;
    }
    const char *roots[] = { cfg->sounds_dir, recordings, cfg->dialplans_dir, NULL };
    d->prompts = prompt_cache_create(roots);
    d->prompts_owned = true;
    d->ports = port_pool_create(cfg->rtp_port_lo, cfg->rtp_port_hi);
    if (!d->prompts || !d->ports) {
        log_error("cannot set up prompts or the RTP port range");
        return 1;
    }
    int repaired = recorder_repair_dir(recordings); /* files a crash left open */
    if (repaired > 0)
        log_warn("recordings: repaired %d files left open by a crash", repaired);
    /* The digest realm is the host our Contact names (SPEC 4: the SIP domain). */
    d->trunks = trunks_create(cfg, cfg->advertise_ip[0] ? cfg->advertise_ip : cfg->sip_host);
    if (!d->trunks) {
        log_error("cannot set up the trunk table (out of memory)");
        return 1;
    }
    d->trunk_persist = trunk_persist_open(cfg->data_dir, d->trunks, err, sizeof err);
    if (!d->trunk_persist) {
        log_error("trunks: %s", err);
        return 1;
    }
    trunks_set_persist(d->trunks, trunk_persist_reg, d->trunk_persist);
    struct engine_services svc = { .cfg = cfg, .store = d->store, .prompts = d->prompts,
                                   .ports = d->ports, .trunks = d->trunks,
                                   .billing = d->billing, .regions = d->regions };
    snprintf(svc.sandbox.dialplans_dir, sizeof svc.sandbox.dialplans_dir, "%s", cfg->dialplans_dir);
    snprintf(svc.sandbox.lua_dir, sizeof svc.sandbox.lua_dir, "%s", cfg->lua_dir);
    snprintf(svc.sandbox.sounds_dir, sizeof svc.sandbox.sounds_dir, "%s", cfg->sounds_dir);
    snprintf(svc.sandbox.recordings_dir, sizeof svc.sandbox.recordings_dir, "%s", recordings);
    svc.sandbox.max_instructions = cfg->max_instructions;
    svc.sandbox.max_memory = (size_t)cfg->max_memory_mb * 1024u * 1024u;
    svc.sandbox.max_run_ms = cfg->max_run_ms;
    const char *media_ip = cfg->advertise_ip[0] ? cfg->advertise_ip : cfg->sip_host;
    if (strcmp(media_ip, "0.0.0.0") == 0 || strcmp(media_ip, "::") == 0) {
        log_warn("sip.listen is a wildcard and sip.advertise is not set: SDP will say 127.0.0.1");
        media_ip = "127.0.0.1";
    }
    snprintf(svc.media_ip, sizeof svc.media_ip, "%s", media_ip);
    snprintf(svc.bind_ip, sizeof svc.bind_ip, "%s", cfg->sip_host);
    uint32_t prefix = 0;
    if (getrandom(&prefix, sizeof prefix, 0) != sizeof prefix)
        prefix = (uint32_t)clock_wall_ms();
    snprintf(svc.id_prefix, sizeof svc.id_prefix, "%08x", prefix);

    d->scripts = script_registry_create(&svc.sandbox);
    d->numbers = number_directory_create(d->store);
    svc.scripts = d->scripts;
    svc.numbers = d->numbers;
    if (!d->scripts || !d->numbers || do_reload(d, err, sizeof err) != 0) {
        log_error("dialplans: %s", d->scripts && d->numbers ? err : "out of memory");
        return 1;
    }
    svc.recorder = recorder_create(recordings, NULL);
    svc.tts = tts_create(NULL, err, sizeof err);
    if (!svc.recorder || !svc.tts) {
        log_error("cannot start %s", svc.recorder ? err : "the recorder");
        recorder_destroy(svc.recorder);
        tts_destroy(svc.tts);
        return 1;
    }
    d->tts = svc.tts;
    char db_path[1024];
    snprintf(db_path, sizeof db_path, "%s/vcs.db", cfg->data_dir);
    svc.compliance = compliance_gate_create(db_path, cfg->max_per_callee_day,
                                            cfg->max_per_callee_week, err, sizeof err);
    if (!svc.compliance) {
        log_error("%s", err);
        recorder_destroy(svc.recorder);
        tts_destroy(svc.tts);
        return 1;
    }
    d->engine = engine_create(&svc, err, sizeof err); /* owns the prompt cache from here */
    d->prompts_owned = false;
    if (!d->engine || engine_start(d->engine, err, sizeof err) != 0) {
        log_error("%s", err);
        return 1;
    }
    struct api_ops ops = { .ctx = d, .health = api_health, .reload = api_reload,
                           .metrics = api_metrics, .after_write = api_after_write,
                           .originate = api_originate, .calls_list = api_calls_list,
                           .call_get = api_call_get, .call_hangup = api_call_hangup,
                           .trunks = d->trunks, .gateways = engine_gateways(d->engine),
                           .limits = engine_limits(d->engine), .script_exists = api_script_exists,
                           .billing = d->billing, .regions = d->regions,
                           .max_per_callee_day = cfg->max_per_callee_day,
                           .max_per_callee_week = cfg->max_per_callee_week };
    d->api = api_start(d->base, cfg->http_host, cfg->http_port, d->store, &ops, err, sizeof err);
    if (!d->api) {
        log_error("api: %s", err);
        return 1;
    }
    struct dialer_config dc = { .max_per_callee_day = cfg->max_per_callee_day,
                                .max_per_callee_week = cfg->max_per_callee_week,
                                .place = campaign_place, .completed = campaign_completed,
                                .ctx = d->engine };
    snprintf(dc.db_path, sizeof dc.db_path, "%s/vcs.db", cfg->data_dir);
    d->dialer = dialer_create(&dc, err, sizeof err);
    if (!d->dialer || dialer_start(d->dialer, err, sizeof err) != 0) {
        log_error("%s", err);
        return 1;
    }
    struct event *term = evsignal_new(d->base, SIGTERM, on_sigterm, d);
    struct event *intr = evsignal_new(d->base, SIGINT, on_sigterm, d);
    struct event *hup = evsignal_new(d->base, SIGHUP, on_sighup, d);
    d->drain_ev = event_new(d->base, -1, EV_PERSIST, drain_check, d);
    struct event *trim = event_new(d->base, -1, EV_PERSIST, on_trim, d);
    struct timeval trim_every = { TRIM_INTERVAL_S, 0 };
    event_add(trim, &trim_every);
    struct event *numbers_sync = event_new(d->base, -1, EV_PERSIST, on_numbers_sync, d);
    struct timeval sync_every = { 1, 0 };
    event_add(numbers_sync, &sync_every);
    event_add(term, NULL);
    event_add(intr, NULL);
    event_add(hup, NULL);
    lower_api_priority();
    log_info("vcsd %s ready: sip %s:%u, http %s:%u, data %s", PACKAGE_VERSION, cfg->sip_host,
             cfg->sip_port, cfg->http_host, cfg->http_port, cfg->data_dir);
    event_base_dispatch(d->base);
    event_free(trim);
    event_free(numbers_sync);
    event_free(term);
    event_free(intr);
    event_free(hup);
    return 0;
}

/* Returns the number of CDR changes that could not be written. */
static size_t teardown(struct vcsd *d)
{
    api_stop(d->api);
    dialer_destroy(d->dialer); /* before the engine it places calls on */
    engine_destroy(d->engine);
    billing_destroy(d->billing); /* the workers have stopped: their usage is queued */
    region_dir_destroy(d->regions);
    if (d->drain_ev)
        event_free(d->drain_ev);
    script_registry_destroy(d->scripts);
    number_directory_destroy(d->numbers);
    trunk_persist_close(d->trunk_persist); /* the SIP thread, which registers, is gone */
    trunks_destroy(d->trunks);
    if (d->prompts_owned)
        prompt_cache_destroy(d->prompts);
    port_pool_destroy(d->ports);
    size_t lost = store_close(d->store);
    events_stop(); /* after the store: the last CDRs' call.completed are kept for delivery */
    for (size_t i = 0; i < d->n_script_names; i++)
        free(d->script_names[i]);
    free(d->script_names);
    if (d->base)
        event_base_free(d->base);
    libevent_global_shutdown();
    return lost;
}

/* Every call holds descriptors (RTP and RTCP sockets, its recording); a default soft limit of
 * 1024 would cap vcsd at a few hundred calls, so take what the hard limit allows. */
#define FDS_PER_CALL 3
#define FDS_RESERVED 256 /* listeners, database, SIP TCP connections, prompts being read */

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_warn("cannot raise the descriptor limit from %llu to %llu: %s",
                     (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
            rl.rlim_cur = was;
        }
    }
    unsigned long long calls = rl.rlim_cur > FDS_RESERVED ? (rl.rlim_cur - FDS_RESERVED) / FDS_PER_CALL : 0;
    log_info("descriptors: limit %llu (was %llu): room for about %llu calls (%d each)",
             (unsigned long long)rl.rlim_cur, (unsigned long long)was, calls, FDS_PER_CALL);
}

int main(int argc, char **argv)
{
    static struct vcsd d;
    if (parse_args(argc, argv, &d.cfg) != 0)
        return 2;
    log_threshold = d.cfg.log_level;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    evthread_use_pthreads();
    d.started_ms = clock_mono_ms();
    d.base = event_base_new();
    int rc = d.base ? run(&d) : 1;
    if (teardown(&d) > 0 && rc == 0) {
        log_error("vcsd stopped with CDR changes unwritten (see above)");
        return 1; /* SIGTERM promises every CDR written: say that it was not */
    }
    if (rc == 0)
        log_info("vcsd stopped");
    return rc;
}
