/* Unit tests of src/core/config.c: defaults, a full file, contrib/vcsd.conf, one test per class
 * of error (each must name the file and the dotted key and leave cfg untouched), the sandbox,
 * runaway files, and the HOST:PORT, LO-HI and CIDR parsers. */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

static char tmpdir[64];
static char conf_path[128];

static int setup(void **state)
{
    strcpy(tmpdir, "/tmp/vcs-test-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(conf_path, sizeof conf_path, "%s/vcsd.conf", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    unlink(conf_path);
    rmdir(tmpdir);
    return 0;
}

static void write_conf(const char *text)
{
    FILE *f = fopen(conf_path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int load_text(struct vcs_config *cfg, const char *text, char *err, size_t errlen)
{
    write_conf(text);
    return config_load_file(cfg, conf_path, err, errlen);
}

/* The file must fail with a message containing fragment, and cfg must stay as it was. */
static void expect_error(const char *text, const char *fragment)
{
    struct vcs_config cfg, before;
    char err[512];
    config_defaults(&cfg);
    before = cfg;
    if (load_text(&cfg, text, err, sizeof err) != -1)
        fail_msg("loaded, expected an error containing '%s':\n%s", fragment, text);
    if (strstr(err, fragment) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, fragment);
    assert_memory_equal(&cfg, &before, sizeof cfg);
}

static void test_defaults(void **state)
{
    struct vcs_config c;
    memset(&c, 0x5a, sizeof c);
    config_defaults(&c);
    assert_string_equal(c.sip_host, "127.0.0.1");
    assert_int_equal(c.sip_port, 5060);
    assert_string_equal(c.advertise_ip, "");
    assert_int_equal(c.tcp_idle_seconds, 300);
    assert_int_equal(c.max_message_bytes, 65536);
    assert_int_equal(c.rate_per_second, 500);
    assert_int_equal(c.rate_burst, 1000);
    assert_int_equal(c.max_per_callee_day, 2);
    assert_int_equal(c.max_per_callee_week, 5);
    assert_int_equal(c.max_delay_ms, 20);
    assert_int_equal(c.realtime_priority, 0);
    assert_string_equal(c.http_host, "127.0.0.1");
    assert_int_equal(c.http_port, 8080);
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.dialplans_dir, "./dialplans");
    assert_string_equal(c.sounds_dir, "./sounds");
    assert_string_equal(c.lua_dir, "./lua");
    assert_int_equal(c.rtp_port_lo, 20000);
    assert_int_equal(c.rtp_port_hi, 29999);
    assert_int_equal(c.log_level, LOG_INFO);
    assert_int_equal(c.max_instructions, 10000000);
    assert_int_equal(c.max_memory_mb, 32);
    assert_int_equal(c.grace_seconds, 30);
    assert_int_equal(c.workers, 0);
    assert_int_equal(c.max_calls, 8000);
    assert_int_equal(c.max_cps, 1000);
    assert_int_equal(c.media_timeout_s, 60);
    assert_int_equal(c.media_hold_timeout_s, 3600);
    assert_true(c.media_io_uring);
    assert_int_equal(c.session_interval_s, 1800);
    assert_false(c.webhooks_allow_private);
    assert_int_equal(c.n_trunks, 0);
}

static const char full_conf[] =
    "-- every key, none at its default\n"
    "local base = '/srv/vcs'\n"
    "return {\n"
    "  sip = { listen = '[::1]:5070', advertise = '198.51.100.7', tcp_idle_seconds = 60,\n"
    "          max_message_bytes = 8192, auth_lockout_seconds = 30,\n"
    "          rate_limit = { per_second = 0, burst = 7 } },\n"
    "  http = { listen = '0.0.0.0:9090' },\n"
    "  paths = { data = base .. '/var', dialplans = base .. '/dp', sounds = base .. '/snd',\n"
    "            lua = base .. '/lua' },\n"
    "  rtp = { ports = '30000-30999' },\n"
    "  log = { level = 'debug' },\n"
    "  script = { max_instructions = 5 * 1000 * 1000, max_memory_mb = 8 },\n"
    "  shutdown = { grace_seconds = 0 },\n"
    "  engine = { workers = 4, max_calls = 100, max_cps = math.max(10, 20),\n"
    "             max_delay_ms = 0, realtime_priority = 10 },\n"
    "  media = { timeout_s = 2, hold_timeout_s = 0, io_uring = false },\n"
    "  session_timer = { interval_s = 90 },\n"
    "  webhooks = { allow_private = true },\n"
    "  trunks = {\n"
    "    { name = 'acme', account = 'acme-ltd', allow = { '203.0.113.0/24', '2001:db8::/32' } },\n"
    "    { name = 'beta', account = 'beta', allow = { '192.0.2.9' } },\n"
    "  },\n"
    "  gateways = {\n"
    "    { name = 'telecom-bj', address = '203.0.113.10:5080', transport = 'tcp',\n"
    "      username = 'vcs', password = 's3cret', register = true, codecs = { 'PCMU' },\n"
    "      max_channels = 300, priority = 2, weight = 3, options_interval_s = 0,\n"
    "      prefix = '+86', inbound = false },\n"
    "    { name = 'dns', address = 'sip.carrier-1.example.com' },\n"
    "  },\n"
    "}\n";

static void test_full_config(void **state)
{
    struct vcs_config c;
    char err[512];
    config_defaults(&c);
    int rc = load_text(&c, full_conf, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_string_equal(err, "");
    assert_string_equal(c.sip_host, "::1");
    assert_int_equal(c.sip_port, 5070);
    assert_string_equal(c.advertise_ip, "198.51.100.7");
    assert_int_equal(c.tcp_idle_seconds, 60);
    assert_int_equal(c.max_message_bytes, 8192);
    assert_int_equal(c.auth_lockout_s, 30);
    assert_int_equal(c.rate_per_second, 0);
    assert_int_equal(c.rate_burst, 7);
    assert_string_equal(c.http_host, "0.0.0.0");
    assert_int_equal(c.http_port, 9090);
    assert_string_equal(c.data_dir, "/srv/vcs/var");
    assert_string_equal(c.dialplans_dir, "/srv/vcs/dp");
    assert_string_equal(c.sounds_dir, "/srv/vcs/snd");
    assert_string_equal(c.lua_dir, "/srv/vcs/lua");
    assert_int_equal(c.rtp_port_lo, 30000);
    assert_int_equal(c.rtp_port_hi, 30999);
    assert_int_equal(c.log_level, LOG_DEBUG);
    assert_int_equal(c.max_instructions, 5000000);
    assert_int_equal(c.max_memory_mb, 8);
    assert_int_equal(c.grace_seconds, 0);
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.max_calls, 100);
    assert_int_equal(c.max_cps, 20);
    assert_int_equal(c.max_delay_ms, 0);
    assert_int_equal(c.realtime_priority, 10);
    assert_int_equal(c.media_timeout_s, 2);
    assert_int_equal(c.media_hold_timeout_s, 0);
    assert_false(c.media_io_uring);
    assert_int_equal(c.session_interval_s, 90);
    assert_true(c.webhooks_allow_private);
    assert_int_equal(c.n_trunks, 2);
    assert_string_equal(c.trunks[0].name, "acme");
    assert_string_equal(c.trunks[0].account, "acme-ltd");
    assert_int_equal(c.trunks[0].n_allow, 2);
    assert_int_equal(c.trunks[0].allow[0].family, AF_INET);
    assert_int_equal(c.trunks[0].allow[0].prefix, 24);
    assert_int_equal(c.trunks[0].allow[1].family, AF_INET6);
    assert_int_equal(c.trunks[0].allow[1].prefix, 32);
    assert_string_equal(c.trunks[1].name, "beta");
    assert_int_equal(c.trunks[1].n_allow, 1);
    assert_int_equal(c.trunks[1].allow[0].prefix, 32);
    assert_int_equal(c.n_gateways, 2);
    const struct gateway_config *g = &c.gateways[0];
    assert_string_equal(g->name, "telecom-bj");
    assert_string_equal(g->host, "203.0.113.10");
    assert_int_equal(g->port, 5080);
    assert_int_equal(g->transport, SIP_TRANSPORT_TCP);
    assert_string_equal(g->username, "vcs");
    assert_string_equal(g->password, "s3cret");
    assert_true(g->register_);
    assert_int_equal(g->n_codecs, 1);
    assert_int_equal(g->codecs[0], 0);
    assert_int_equal(g->max_channels, 300);
    assert_int_equal(g->priority, 2);
    assert_int_equal(g->weight, 3);
    assert_int_equal(g->options_interval_s, 0);
    assert_string_equal(g->prefix, "+86");
    assert_false(g->inbound);
    /* the defaults of what a gateway leaves out */
    g = &c.gateways[1];
    assert_string_equal(g->host, "sip.carrier-1.example.com");
    assert_int_equal(g->port, 5060);
    assert_int_equal(g->transport, SIP_TRANSPORT_UDP);
    assert_int_equal(g->n_codecs, 2);
    assert_int_equal(g->codecs[0], 8);
    assert_int_equal(g->codecs[1], 0);
    assert_int_equal(g->max_channels, 0);
    assert_int_equal(g->priority, 1);
    assert_int_equal(g->weight, 1);
    assert_int_equal(g->options_interval_s, 30);
    assert_string_equal(g->prefix, "");
    assert_true(g->inbound);
    assert_false(g->register_);
}

/* A partial file changes only what it names. */
static void test_partial_and_empty(void **state)
{
    struct vcs_config c, d;
    char err[512];
    config_defaults(&c);
    config_defaults(&d);
    assert_int_equal(load_text(&c, "return {}", err, sizeof err), 0);
    assert_memory_equal(&c, &d, sizeof c);
    assert_int_equal(load_text(&c, "return { engine = { max_cps = 7 } }", err, sizeof err), 0);
    d.max_cps = 7;
    assert_memory_equal(&c, &d, sizeof c);
}

/* contrib/vcsd.conf loads, and it names every key with its default: loaded over a
 * configuration where every key differs, it gives back exactly the defaults. */
static void test_contrib_file_states_defaults(void **state)
{
    const char *top = getenv("VCS_TOP_SRCDIR");
    char path[PATH_MAX], err[512];
    snprintf(path, sizeof path, "%s/contrib/vcsd.conf", top ? top : ".");
    struct vcs_config c, d;
    config_defaults(&d);
    config_defaults(&c);
    assert_int_equal(load_text(&c, full_conf, err, sizeof err), 0);
    if (config_load_file(&c, path, err, sizeof err) != 0)
        fail_msg("%s", err);
    /* The trunks the full file set stay in the array past n_trunks: compare what counts. */
    assert_int_equal(c.n_trunks, 0);
    assert_int_equal(c.n_gateways, 0);
    assert_memory_equal(&c, &d, offsetof(struct vcs_config, trunks));
}

static void test_unknown_keys(void **state)
{
    expect_error("return { colour = {} }", "vcsd.conf: colour: unknown key");
    expect_error("return { sip = { colour = 'red' } }", "vcsd.conf: sip.colour: unknown key");
    expect_error("return { sip = { rate_limit = { per_minute = 1 } } }",
                 "vcsd.conf: sip.rate_limit.per_minute: unknown key");
    expect_error("return { sip = { 'x' } }", "vcsd.conf: sip[1]: unknown key");
    expect_error("return { media = { timeout = 60 } }", "vcsd.conf: media.timeout: unknown key");
    expect_error("return { session_timer = { refresher = 'uac' } }",
                 "vcsd.conf: session_timer.refresher: unknown key");
    expect_error("return { trunks = { { name = 'a', account = 'a', allow = { '10.0.0.1' },"
                 " region = 'eu' } } }",
                 "vcsd.conf: trunks[1].region: unknown key");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1', colour = 1 } } }",
                 "vcsd.conf: gateways[1].colour: unknown key");
}

static void test_wrong_types(void **state)
{
    expect_error("return 42", "vcsd.conf: expected the file to return a table of sections, got number");
    expect_error("", "vcsd.conf: expected the file to return a table of sections, got nil");
    expect_error("return { http = 'x' }", "vcsd.conf: http: expected table, got string");
    expect_error("return { sip = { listen = 5060 } }", "vcsd.conf: sip.listen: expected string, got number");
    expect_error("return { sip = { tcp_idle_seconds = '300' } }",
                 "vcsd.conf: sip.tcp_idle_seconds: expected integer, got string");
    expect_error("return { sip = { tcp_idle_seconds = 1.5 } }",
                 "vcsd.conf: sip.tcp_idle_seconds: expected integer, got float 1.5");
    expect_error("return { script = { max_instructions = 1e7 } }",
                 "vcsd.conf: script.max_instructions: expected integer, got float 10000000");
    expect_error("return { media = { timeout_s = '60' } }",
                 "vcsd.conf: media.timeout_s: expected integer, got string");
    expect_error("return { session_timer = 1800 }", "vcsd.conf: session_timer: expected table, got number");
    expect_error("return { webhooks = { allow_private = 'yes' } }",
                 "vcsd.conf: webhooks.allow_private: expected boolean, got string");
    expect_error("return { log = { level = true } }", "vcsd.conf: log.level: expected string, got boolean");
    expect_error("return { trunks = 'acme' }", "vcsd.conf: trunks: expected a list (table), got string");
    expect_error("return { trunks = { 'acme' } }", "vcsd.conf: trunks[1]: expected table, got string");
    expect_error("return { trunks = { acme = {} } }", "vcsd.conf: trunks.acme: unexpected key in a list");
}

static void test_bad_values(void **state)
{
    expect_error("return { sip = { listen = 'abc' } }",
                 "vcsd.conf: sip.listen: expected \"HOST:PORT\", got \"abc\"");
    expect_error("return { http = { listen = '127.0.0.1:0' } }",
                 "vcsd.conf: http.listen: expected \"HOST:PORT\", got \"127.0.0.1:0\"");
    expect_error("return { sip = { listen = '::1:5060' } }",
                 "vcsd.conf: sip.listen: expected \"HOST:PORT\", got \"::1:5060\"");
    expect_error("return { sip = { advertise = 'example.com' } }",
                 "vcsd.conf: sip.advertise: expected an IP address, got \"example.com\"");
    expect_error("return { shutdown = { grace_seconds = -1 } }",
                 "vcsd.conf: shutdown.grace_seconds: -1 is out of range 0..86400");
    expect_error("return { compliance = { max_per_callee_day = -1 } }",
                 "vcsd.conf: compliance.max_per_callee_day: -1 is out of range 0..1000");
    expect_error("return { engine = { realtime_priority = 100 } }",
                 "vcsd.conf: engine.realtime_priority: 100 is out of range 0..99");
    expect_error("return { engine = { max_calls = 0 } }",
                 "vcsd.conf: engine.max_calls: 0 is out of range 1..10000000");
    expect_error("return { script = { max_instructions = 1 << 40 } }",
                 "vcsd.conf: script.max_instructions: 1099511627776 is out of range 1000..2147483647");
    expect_error("return { media = { hold_timeout_s = -1 } }",
                 "vcsd.conf: media.hold_timeout_s: -1 is out of range 0..86400");
    expect_error("return { session_timer = { interval_s = 89 } }",
                 "vcsd.conf: session_timer.interval_s: 89 is below RFC 4028's minimum of 90");
    expect_error("return { log = { level = 'loud' } }",
                 "vcsd.conf: log.level: expected \"debug\", \"info\", \"warn\" or \"error\", got \"loud\"");
    expect_error("return { rtp = { ports = '20001-29999' } }",
                 "vcsd.conf: rtp.ports: expected \"LO-HI\"");
    expect_error("return { paths = { sounds = '' } }", "vcsd.conf: paths.sounds: must not be empty");
    expect_error("return { paths = { data = 'a\\0b' } }", "vcsd.conf: paths.data: contains a NUL byte");
    expect_error("return { trunks = { { name = 'a', account = 'a', allow = { '10.0.0.0/8', '10.0.0.0/33' } } } }",
                 "vcsd.conf: trunks[1].allow[2]: expected \"ADDRESS/PREFIX\" (IPv4 or IPv6), got \"10.0.0.0/33\"");
    expect_error("return { trunks = { { name = 'a', account = 'a', allow = {} } } }",
                 "vcsd.conf: trunks[1].allow: expected 1 to 32 elements, got 0");
    expect_error("return { trunks = { { name = 'a', allow = { '10.0.0.1' } } } }",
                 "vcsd.conf: trunks[1].account: missing");
    expect_error("return { trunks = { { name = 'a', account = 'a', allow = { '10.0.0.1' } },"
                 " { name = 'a', account = 'b', allow = { '10.0.0.2' } } } }",
                 "vcsd.conf: trunks[2]: name: \"a\" is already the name of trunks[1]");
    expect_error("return { gateways = { { name = 'g' } } }", "vcsd.conf: gateways[1].address: missing");
    expect_error("return { gateways = { { name = 'g', address = 'bad host:5060' } } }",
                 "vcsd.conf: gateways[1].address: expected \"HOST[:PORT]\" (an IP address or a DNS name), got \"bad host:5060\"");
    expect_error("return { gateways = { { name = 'g', address = 'gw.example:0' } } }",
                 "vcsd.conf: gateways[1].address: expected \"HOST[:PORT]\"");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1', transport = 'tls' } } }",
                 "vcsd.conf: gateways[1].transport: expected \"udp\" or \"tcp\", got \"tls\"");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1', codecs = { 'G729' } } } }",
                 "vcsd.conf: gateways[1].codecs[1]: expected \"PCMA\" or \"PCMU\", got \"G729\"");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1', codecs = { 'PCMA', 'PCMA' } } } }",
                 "vcsd.conf: gateways[1].codecs[2]: \"PCMA\" is listed twice");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1', weight = 0 } } }",
                 "vcsd.conf: gateways[1].weight: 0 is out of range 1..1000000");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1', prefix = '0;x' } } }",
                 "vcsd.conf: gateways[1].prefix: expected digits (and + * #), got \"0;x\"");
    expect_error("return { gateways = { { name = 'g', address = '192.0.2.1' },"
                 " { name = 'g', address = '192.0.2.2' } } }",
                 "vcsd.conf: gateways[2]: name: \"g\" is already the name of gateways[1]");
    expect_error("return { trunks = { [1] = { name = 'a', account = 'a', allow = { '10.0.0.1' } },"
                 " [3] = { name = 'b', account = 'b', allow = { '10.0.0.2' } } } }",
                 "vcsd.conf: trunks: expected a list, but it has holes");
}

/* A trunk known by its digest credentials only (SPEC 3), with its limit and static address;
 * credentials come in pairs, a trunk needs an allow list or credentials, a username is one
 * trunk's. */
static void test_trunk_credentials(void **state)
{
    struct vcs_config c;
    char err[512];
    config_defaults(&c);
    assert_int_equal(c.auth_lockout_s, 600);
    assert_int_equal(load_text(&c, "return { sip = { auth_lockout_seconds = 3 }, trunks = {"
                                   " { name = 'a', account = 'a', username = 'pbx', password = 'p:w',"
                                   "   max_calls = 30, address = '192.0.2.7:5080' } } }",
                               err, sizeof err), 0);
    assert_int_equal(c.auth_lockout_s, 3);
    assert_int_equal(c.trunks[0].n_allow, 0);
    assert_string_equal(c.trunks[0].username, "pbx");
    assert_string_equal(c.trunks[0].password, "p:w");
    assert_int_equal(c.trunks[0].max_calls, 30);
    assert_string_equal(c.trunks[0].address_host, "192.0.2.7");
    assert_int_equal(c.trunks[0].address_port, 5080);
    expect_error("return { trunks = { { name = 'a', account = 'a', username = 'u' } } }",
                 "vcsd.conf: trunks[1]: username and password go together");
    expect_error("return { trunks = { { name = 'a', account = 'a' } } }",
                 "vcsd.conf: trunks[1]: needs allow, or username and password");
    expect_error("return { trunks = { { name = 'a', account = 'a', username = 'u', password = 'p' },"
                 " { name = 'b', account = 'b', username = 'u', password = 'q' } } }",
                 "vcsd.conf: trunks[2]: username: \"u\" is already the username of trunks[1]");
    expect_error("return { trunks = { { name = 'a', account = 'a', allow = { '10.0.0.1' },"
                 " max_calls = -1 } } }",
                 "vcsd.conf: trunks[1].max_calls: -1 is out of range 0..1000000");
}

/* Too long for the struct's buffer is an error, never a silent truncation. */
static void test_too_long(void **state)
{
    expect_error("local s = '/' for i = 1, 10 do s = s .. s end return { paths = { data = s } }",
                 "vcsd.conf: paths.data: too long (1024 bytes, at most 511)");
    expect_error("return { trunks = { { name = string.format('n%063d', 0), account = 'a',"
                 " allow = { '10.0.0.1' } } } }",
                 "vcsd.conf: trunks[1].name: too long (64 bytes, at most 63)");
    /* The longest name that fits is kept whole. */
    struct vcs_config c;
    char err[512];
    config_defaults(&c);
    char text[512];
    char name[64];
    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(text, sizeof text,
             "return { trunks = { { name = '%s', account = 'a', allow = { '10.0.0.1' } } } }", name);
    assert_int_equal(load_text(&c, text, err, sizeof err), 0);
    assert_string_equal(c.trunks[0].name, name);
}

static void test_lua_errors(void **state)
{
    expect_error("return {\n  sip = { listen = '1.2.3.4:5' \n", "vcsd.conf:3:");
    expect_error("local x = nil\nreturn x.y", "vcsd.conf:2: attempt to index a nil value");
    expect_error("error('boom')", "vcsd.conf:1: boom");
    expect_error("error('boom', 0)", "vcsd.conf: boom");
    expect_error("error({})", "vcsd.conf: error object is a table value");
    expect_error("\x1bLua", "vcsd.conf: attempt to load a binary chunk");

    struct vcs_config c;
    char err[512];
    config_defaults(&c);
    assert_int_equal(config_load_file(&c, "/nonexistent/vcsd.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/vcsd.conf"));
    assert_non_null(strstr(err, "No such file or directory"));
}

/* Only base, string and math: no file, process or code loading. */
static void test_sandbox(void **state)
{
    struct vcs_config c;
    char err[512];
    config_defaults(&c);
    int rc = load_text(&c,
                       "local escaped = io or os or require or package or debug or load or loadfile"
                       " or dofile or string.rep or string.find or string.gsub\n"
                       "return { log = { level = escaped and 'debug' or 'warn' },\n"
                       "         paths = { data = string.format('%s/%d', 'v', math.floor(2.5)) } }",
                       err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(c.log_level, LOG_WARN);
    assert_string_equal(c.data_dir, "v/2");
    /* string.rep("", huge) would spin inside one C call, out of the instruction hook's sight. */
    expect_error("return { paths = { data = string.rep('', 1 << 50) } }",
                 "attempt to call a nil value (field 'rep')");
    expect_error("return dofile('/etc/passwd')", "vcsd.conf:1: attempt to call a nil value (global 'dofile')");
}

static void test_runaway_loop(void **state)
{
    expect_error("while true do end", "vcsd.conf:1: instruction limit exceeded");
    /* Catching the error does not help: the next instruction raises it again. */
    expect_error("local n = 0\n"
                 "while true do pcall(function() while true do n = n + 1 end end) end",
                 "instruction limit exceeded");
}

/* Lua runs finalizers with hooks off: a file cannot set one. */
static void test_runaway_finalizer(void **state)
{
    expect_error("setmetatable({}, { __gc = function() while true do end end })\n"
                 "return { engine = { workers = 2 } }",
                 "vcsd.conf:1: attempt to call a nil value (global 'setmetatable')");
}

static void test_runaway_memory(void **state)
{
    /* 2^27 slots of a table would need 2 GiB */
    expect_error("local t = {} for i = 1, 1 << 27 do t[i] = i end return {}",
                 "vcsd.conf: memory limit exceeded");
    expect_error("local s = 'x' for i = 1, 40 do s = s .. s end return {}",
                 "vcsd.conf: memory limit exceeded");
    /* A memory error the file catches leaves a usable state behind. */
    struct vcs_config c;
    char err[512];
    config_defaults(&c);
    assert_int_equal(load_text(&c,
                               "local ok = pcall(function() local s = 'x' for i = 1, 40 do s = s .. s end end)\n"
                               "return { log = { level = ok and 'debug' or 'error' } }",
                               err, sizeof err),
                     0);
    assert_int_equal(c.log_level, LOG_ERROR);
}

static void test_parse_hostport(void **state)
{
    char host[64];
    uint16_t port = 0;
    assert_int_equal(config_parse_hostport("10.1.2.3:5060", host, sizeof host, &port), 0);
    assert_string_equal(host, "10.1.2.3");
    assert_int_equal(port, 5060);
    assert_int_equal(config_parse_hostport("[::1]:65535", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    assert_int_equal(config_parse_hostport("[2001:db8::7]:1", host, sizeof host, &port), 0);
    assert_string_equal(host, "2001:db8::7");
    assert_int_equal(port, 1);

    static const char *const bad[] = {
        "abc", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:+80", "1.2.3.4:80 ",
        " 1.2.3.4:80", ":5060", "::1:5060", "[::1]5060", "[::1]:", "[1.2.3.4]:80", "1.2.3:80",
        "localhost:80", "[::1:80", "", "1.2.3.4:99999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(host, "untouched");
        if (config_parse_hostport(bad[i], host, sizeof host, &port) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_string_equal(host, "untouched");
    }
    assert_int_equal(config_parse_hostport(NULL, host, sizeof host, &port), -1);
    /* The host buffer must hold the address: "10.1.2.3" needs 9 bytes. */
    assert_int_equal(config_parse_hostport("10.1.2.3:80", host, 8, &port), -1);
    assert_int_equal(config_parse_hostport("10.1.2.3:80", host, 9, &port), 0);
}

static void test_parse_port_range(void **state)
{
    uint16_t lo = 0, hi = 0;
    assert_int_equal(config_parse_port_range("20000-29999", &lo, &hi), 0);
    assert_int_equal(lo, 20000);
    assert_int_equal(hi, 29999);
    assert_int_equal(config_parse_port_range("2-3", &lo, &hi), 0);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 3);
    assert_int_equal(config_parse_port_range("65534-65535", &lo, &hi), 0);
    assert_int_equal(lo, 65534);
    assert_int_equal(hi, 65535);
    static const char *const bad[] = {
        "20001-29999", "20000-20000", "30000-20000", "0-10", "20000-65536", "20000", "-",
        "a-b", " 20000-29999", "20000-29999x", "20000--29999", "-20000-29999", "", "20000-",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lo = hi = 7;
        if (config_parse_port_range(bad[i], &lo, &hi) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(lo, 7);
        assert_int_equal(hi, 7);
    }
}

static struct sockaddr_in v4(const char *a)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof s);
    s.sin_family = AF_INET;
    s.sin_port = htons(5060);
    assert_int_equal(inet_pton(AF_INET, a, &s.sin_addr), 1);
    return s;
}

static struct sockaddr_in6 v6(const char *a)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof s);
    s.sin6_family = AF_INET6;
    s.sin6_port = htons(5060);
    assert_int_equal(inet_pton(AF_INET6, a, &s.sin6_addr), 1);
    return s;
}

static int in4(const struct cidr *c, const char *a)
{
    struct sockaddr_in s = v4(a);
    return cidr_contains(c, (const struct sockaddr *)&s);
}

static int in6(const struct cidr *c, const char *a)
{
    struct sockaddr_in6 s = v6(a);
    return cidr_contains(c, (const struct sockaddr *)&s);
}

static void test_cidr_v4(void **state)
{
    struct cidr c;
    assert_int_equal(config_parse_cidr("10.1.2.3/8", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    static const unsigned char net[4] = { 10, 0, 0, 0 };
    assert_memory_equal(c.addr, net, 4); /* host bits masked */
    assert_true(in4(&c, "10.0.0.0"));
    assert_true(in4(&c, "10.255.255.255"));
    assert_false(in4(&c, "11.0.0.1"));
    assert_false(in4(&c, "9.255.255.255"));

    assert_int_equal(config_parse_cidr("192.0.2.7", &c), 0);
    assert_int_equal(c.prefix, 32);
    assert_true(in4(&c, "192.0.2.7"));
    assert_false(in4(&c, "192.0.2.6"));

    assert_int_equal(config_parse_cidr("203.0.113.128/25", &c), 0);
    assert_true(in4(&c, "203.0.113.200"));
    assert_false(in4(&c, "203.0.113.127"));

    assert_int_equal(config_parse_cidr("0.0.0.0/0", &c), 0);
    assert_true(in4(&c, "198.51.100.1"));
    assert_false(in6(&c, "2001:db8::1")); /* an IPv4 network holds no IPv6 address */

    static const char *const bad[] = {
        "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0/8", "10.0.0.0/8/8", "/8", "",
        "10.0.0.0 /8", "example.com/8", "10.0.0.0/08x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_parse_cidr(bad[i], &c) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    }
}

static void test_cidr_v6(void **state)
{
    struct cidr c;
    assert_int_equal(config_parse_cidr("2001:db8::/32", &c), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 32);
    assert_true(in6(&c, "2001:db8:ffff::1"));
    assert_false(in6(&c, "2001:db9::1"));
    assert_false(in4(&c, "32.1.13.184")); /* 2001:0db8 read as IPv4 */

    assert_int_equal(config_parse_cidr("2001:db8:8000::/33", &c), 0);
    assert_true(in6(&c, "2001:db8:8000::1"));
    assert_false(in6(&c, "2001:db8:7fff::1"));

    assert_int_equal(config_parse_cidr("::1", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_true(in6(&c, "::1"));
    assert_false(in6(&c, "::2"));

    assert_int_equal(config_parse_cidr("2001:db8::1/129", &c), -1);
    assert_int_equal(config_parse_cidr("[::1]/128", &c), -1);

    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    assert_false(cidr_contains(&c, (const struct sockaddr *)&un));
    assert_false(cidr_contains(&c, NULL));
}

/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they belong to IPv4 networks. */
static void test_cidr_mapped(void **state)
{
    struct cidr c;
    assert_int_equal(config_parse_cidr("127.0.0.0/8", &c), 0);
    assert_true(in6(&c, "::ffff:127.0.0.1"));
    assert_false(in6(&c, "::ffff:128.0.0.1"));
    assert_false(in6(&c, "::1"));
    assert_false(in6(&c, "::127.0.0.1")); /* IPv4-compatible, not mapped */

    /* A network written in the mapped form is the IPv4 network. */
    assert_int_equal(config_parse_cidr("::ffff:10.9.9.9/104", &c), 0);
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_true(in4(&c, "10.1.2.3"));
    assert_true(in6(&c, "::ffff:10.1.2.3"));
    assert_false(in4(&c, "11.1.2.3"));

    /* Shorter than /96 it is an IPv6 network: mapped addresses are IPv4 peers, not in it. */
    assert_int_equal(config_parse_cidr("::ffff:0:0/95", &c), 0);
    assert_int_equal(c.family, AF_INET6);
    assert_true(in6(&c, "::fffe:1:2"));
    assert_false(in6(&c, "::ffff:10.1.2.3"));
    assert_false(in4(&c, "10.1.2.3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_partial_and_empty),
        cmocka_unit_test(test_contrib_file_states_defaults),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_trunk_credentials),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_lua_errors),
        cmocka_unit_test(test_sandbox),
        cmocka_unit_test(test_runaway_loop),
        cmocka_unit_test(test_runaway_memory),
        cmocka_unit_test(test_runaway_finalizer),
        cmocka_unit_test(test_parse_hostport),
        cmocka_unit_test(test_parse_port_range),
        cmocka_unit_test(test_cidr_v4),
        cmocka_unit_test(test_cidr_v6),
        cmocka_unit_test(test_cidr_mapped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
