/* vcsd configuration: built-in defaults, then the Lua configuration file (-c), then flags.
 * The file returns a table of sections (see contrib/vcsd.conf); every key has a default, and an
 * unknown key or a value of the wrong type is an error that names the key. */
#ifndef VCS_CONFIG_H
#define VCS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_MAX_TRUNKS 64
#define CONFIG_MAX_CIDRS 32
#define CONFIG_MAX_GATEWAYS 64
#define CONFIG_MAX_CODECS 4

struct cidr {
    int family;            /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network byte order, masked */
    int prefix;            /* bits */
};

struct trunk_config {
    char name[64];
    char account[64];
    int n_allow;
    struct cidr allow[CONFIG_MAX_CIDRS];
    /* digest credentials (both or neither): INVITE and REGISTER from anywhere */
    char username[64];
    char password[128];
    int max_calls;                /* legs up at once on the trunk; 0: the account's limit only */
    char address_host[64];        /* where calls to the trunk go when it has not registered */
    uint16_t address_port;        /* 0: no static address */
};

enum sip_transport { SIP_TRANSPORT_UDP, SIP_TRANSPORT_TCP };

/* A carrier gateway (SPEC 3): where outbound legs leave and PSTN calls come in. */
struct gateway_config {
    char name[64];
    char host[256];               /* IP address or DNS name (resolved off the SIP thread) */
    uint16_t port;                /* 5060 when the address names none */
    enum sip_transport transport; /* udp */
    char username[64], password[128]; /* digest credentials for the carrier's 401/407 */
    bool register_;               /* REGISTER with the credentials and keep it refreshed */
    int n_codecs;
    int codecs[CONFIG_MAX_CODECS]; /* RTP payload types in offer order: PCMA 8, PCMU 0 */
    int max_channels;             /* legs up at once (INVITE sent to end); 0 = no limit */
    int priority;                 /* 1; lower is tried first */
    int weight;                   /* 1; shares among equal priorities */
    int options_interval_s;       /* 30; 0 = no probes */
    char prefix[32];              /* prepended to the dialled number */
    bool inbound;                 /* true: INVITEs from its address are PSTN calls */
};

struct vcs_config {
    /* sip = { listen=, advertise=, tcp_idle_seconds=, max_message_bytes=, udp_buffer_kb=,
     *         rate_limit = { per_second=, burst= } } */
    char sip_host[64];
    uint16_t sip_port;
    char advertise_ip[64];        /* address put in SDP and Contact; default: the SIP host */
    int tcp_idle_seconds;         /* 300 */
    int max_message_bytes;        /* 65536 */
    int udp_buffer_kb;            /* SIP UDP socket receive/send buffers (1024; the kernel caps them) */
    int rate_per_second;          /* per source address, new requests (500, below max_cps); 0 = off */
    int rate_burst;
    int auth_lockout_s;           /* sip.auth_lockout_seconds: digest brute-force lock-out (600) */
    /* http = { listen= } */
    char http_host[64];
    uint16_t http_port;
    /* paths = { data=, dialplans=, sounds= } */
    char data_dir[512];
    char dialplans_dir[512];
    char sounds_dir[512];
    char lua_dir[512];            /* shipped Lua modules (require "vcs.ivr"); default ./lua */
    /* rtp = { ports = "20000-29999" } */
    uint16_t rtp_port_lo, rtp_port_hi;
    /* log = { level= } */
    enum log_level log_level;
    /* script = { max_instructions=, max_memory_mb=, max_run_ms= } */
    long max_instructions;        /* 10,000,000 between two waits */
    long max_memory_mb;           /* 32 per call */
    long max_run_ms;              /* 100: wall-clock time between two waits */
    /* shutdown = { grace_seconds= } */
    int grace_seconds;            /* 30 */
    /* engine = { workers=, max_calls=, max_cps=, max_delay_ms=, realtime_priority= } admission
     * control, and the media workers' scheduling */
    int workers;                  /* 0 = one per core */
    int max_calls;                /* calls up at once; over it INVITE gets 503 */
    int max_cps;                  /* new calls per second; over it INVITE gets 503 */
    int max_delay_ms;             /* 20: queueing delay that admission keeps under; 0 = off */
    int realtime_priority;        /* 0 = off; 1-99: the workers run SCHED_RR at this priority */
    /* recording = { all_calls= } whole-call stereo recording (SPEC 8) */
    bool record_all_calls;        /* true; a script may turn it off or on per call */
    /* compliance = { max_per_callee_day=, max_per_callee_week= } frequency caps (SPEC 9):
     * answered outbound calls per callee and account, days and weeks (from Monday) in UTC */
    int max_per_callee_day;       /* 2; 0: no cap */
    int max_per_callee_week;      /* 5; 0: no cap */
    /* billing = { tz= } the day and month of rent and statements (an IANA name) */
    char billing_tz[64];          /* Asia/Shanghai */
    bool fake_clock;              /* --fake-clock only: POST /v1/admin/clock moves billing time */
    /* media = { timeout_s=, hold_timeout_s=, io_uring= }: an answered call that receives no
     * RTP/RTCP this long is hung up (cause media_timeout); 0 = never */
    int media_timeout_s;          /* 60 */
    int media_hold_timeout_s;     /* 3600, while the peer holds the call (sendonly/inactive) */
    bool media_io_uring;          /* true: the media tick batches its socket I/O (rtp_io.h) */
    /* session_timer = { interval_s= } RFC 4028 Session-Expires we ask for; 0 = no timers */
    int session_interval_s;       /* 1800 (at least 90, the RFC's Min-SE floor) */
    /* webhooks = { allow_private= } */
    bool webhooks_allow_private;  /* false: deliveries reach public unicast addresses only */
    /* trunks = { { name=, account=, allow = { "203.0.113.0/24", ... }, username=, password=,
     *              max_calls=, address= }, ... }: allow, credentials or both */
    int n_trunks;
    struct trunk_config trunks[CONFIG_MAX_TRUNKS];
    /* gateways = { { name=, address=, transport=, username=, password=, register=, codecs=,
     *                max_channels=, priority=, weight=, options_interval_s=, prefix=,
     *                inbound= }, ... } */
    int n_gateways;
    struct gateway_config gateways[CONFIG_MAX_GATEWAYS];
};

void config_defaults(struct vcs_config *cfg);
/* Loads a Lua configuration file over cfg. Returns 0, or -1 with a message naming the file and
 * the offending key (e.g. "vcsd.conf: sip.listen: expected string, got number"). */
int config_load_file(struct vcs_config *cfg, const char *path, char *err, size_t errlen);
/* Helpers shared with the command-line flags; 0 ok, -1 invalid. */
int config_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);
int config_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);
int config_parse_cidr(const char *s, struct cidr *out);
/* 1 when addr (sockaddr_in or sockaddr_in6) lies inside c. */
struct sockaddr;
int cidr_contains(const struct cidr *c, const struct sockaddr *addr);

#endif
