/* Configuration: built-in defaults, the Lua configuration file, and the parsers shared with the
 * command-line flags.
 * The file runs in a throw-away Lua state that has only the base, string and math libraries
 * (no load, dofile, io, os or require), under an instruction budget and a memory budget, so a
 * broken file ends in an error message, never a hang. Its result is checked against one schema
 * table; an unknown key, a wrong type, a value out of range or too long for its buffer is an
 * error naming the file and the dotted key. cfg is changed only when the whole file is valid. */
#include "config.h"
#include "core/lua_bounded.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <lualib.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A configuration is a page of literals: these bounds are far above any real file. */
#define CONF_MAX_INSTRUCTIONS 10000000
#define CONF_MAX_MEMORY ((size_t)16 << 20)

void config_defaults(struct vcs_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->sip_host, "127.0.0.1");
    cfg->sip_port = 5060;
    cfg->tcp_idle_seconds = 300;
    cfg->max_message_bytes = 65536;
    cfg->udp_buffer_kb = 1024;
    cfg->rate_per_second = 500; /* below max_cps: one source cannot take every slot */
    cfg->rate_burst = 1000;
    cfg->auth_lockout_s = 600; /* SPEC 4: 10 minutes */
    strcpy(cfg->http_host, "127.0.0.1");
    cfg->http_port = 8080;
    strcpy(cfg->data_dir, "./var");
    strcpy(cfg->dialplans_dir, "./dialplans");
    strcpy(cfg->sounds_dir, "./sounds");
    strcpy(cfg->lua_dir, "./lua");
    cfg->rtp_port_lo = 20000;
    cfg->rtp_port_hi = 29999;
    cfg->log_level = LOG_INFO;
    cfg->max_instructions = 10000000;
    cfg->max_memory_mb = 32;
    cfg->max_run_ms = 100;
    cfg->grace_seconds = 30;
    cfg->workers = 0;
    cfg->max_calls = 8000;
    cfg->max_cps = 1000; /* measured sustainable on 2 cores with headroom: bench/RESULTS.md */
    cfg->max_delay_ms = 20;
    cfg->record_all_calls = true; /* SPEC 8: every answered call, for compliance */
    cfg->media_timeout_s = 60;
    cfg->media_hold_timeout_s = 3600;
    cfg->media_io_uring = true;
    cfg->session_interval_s = 1800;
    cfg->max_per_callee_day = 2;  /* SPEC 9 */
    cfg->max_per_callee_week = 5;
    snprintf(cfg->billing_tz, sizeof cfg->billing_tz, "%s", "Asia/Shanghai");
    cfg->n_trunks = 0;
    cfg->n_gateways = 0;
}

/* ---- parsers shared with the flags ----------------------------------------------------------- */

/* Decimal digits only (no sign, no blanks), value <= max. */
static int parse_decimal(const char *s, const char *end, unsigned long max, unsigned long *out)
{
    if (s == end)
        return -1;
    unsigned long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

int config_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
    const char *h, *colon;
    size_t hl;
    int family;
    if (s == NULL)
        return -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
        family = AF_INET6;
    } else {
        colon = strchr(s, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return -1; /* an IPv6 address must be bracketed */
        h = s;
        hl = (size_t)(colon - h);
        family = AF_INET;
    }
    char addr[INET6_ADDRSTRLEN];
    unsigned char bin[16];
    if (hl == 0 || hl >= sizeof addr || hl >= hostlen)
        return -1;
    memcpy(addr, h, hl);
    addr[hl] = '\0';
    if (inet_pton(family, addr, bin) != 1)
        return -1;
    unsigned long p;
    if (parse_decimal(colon + 1, colon + 1 + strlen(colon + 1), 65535, &p) < 0 || p == 0)
        return -1;
    memcpy(host, addr, hl + 1);
    *port = (uint16_t)p;
    return 0;
}

int config_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
    if (s == NULL)
        return -1;
    const char *dash = strchr(s, '-');
    unsigned long a, b;
    if (dash == NULL || parse_decimal(s, dash, 65535, &a) < 0 ||
        parse_decimal(dash + 1, dash + 1 + strlen(dash + 1), 65535, &b) < 0)
        return -1;
    /* RTP takes the even port of a pair, RTCP the odd one above it. */
    if (a == 0 || a % 2 != 0 || a >= b)
        return -1;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

static void cidr_mask(struct cidr *c)
{
    int len = c->family == AF_INET ? 4 : 16;
    for (int i = 0; i < len; i++) {
        int bits = c->prefix - i * 8;
        if (bits <= 0)
            c->addr[i] = 0;
        else if (bits < 8)
            c->addr[i] &= (unsigned char)(0xff << (8 - bits));
    }
}

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int config_parse_cidr(const char *s, struct cidr *out)
{
    if (s == NULL)
        return -1;
    const char *slash = strchr(s, '/');
    size_t al = slash ? (size_t)(slash - s) : strlen(s);
    char addr[INET6_ADDRSTRLEN];
    if (al == 0 || al >= sizeof addr)
        return -1;
    memcpy(addr, s, al);
    addr[al] = '\0';
    struct cidr c;
    memset(&c, 0, sizeof c);
    if (inet_pton(AF_INET, addr, c.addr) == 1)
        c.family = AF_INET;
    else if (inet_pton(AF_INET6, addr, c.addr) == 1)
        c.family = AF_INET6;
    else
        return -1;
    int max = c.family == AF_INET ? 32 : 128;
    c.prefix = max;
    if (slash != NULL) {
        unsigned long p;
        if (parse_decimal(slash + 1, slash + 1 + strlen(slash + 1), (unsigned long)max, &p) < 0)
            return -1;
        c.prefix = (int)p;
    }
    /* ::ffff:a.b.c.d/n with n >= 96 is the IPv4 network a.b.c.d/(n-96): store it as such so that
     * one comparison serves plain and mapped addresses alike. */
    if (c.family == AF_INET6 && c.prefix >= 96 && memcmp(c.addr, v4mapped_prefix, 12) == 0) {
        memmove(c.addr, c.addr + 12, 4);
        memset(c.addr + 4, 0, 12);
        c.family = AF_INET;
        c.prefix -= 96;
    }
    cidr_mask(&c);
    *out = c;
    return 0;
}

int cidr_contains(const struct cidr *c, const struct sockaddr *addr)
{
    const unsigned char *a;
    int family;
    if (c == NULL || addr == NULL)
        return 0;
    if (addr->sa_family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)addr)->sin_addr;
        family = AF_INET;
    } else if (addr->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
        a = a6->s6_addr;
        family = AF_INET6;
        if (memcmp(a, v4mapped_prefix, 12) == 0) {
            a += 12;
            family = AF_INET;
        }
    } else {
        return 0;
    }
    if (family != c->family)
        return 0;
    int full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(a, c->addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == c->addr[full];
}

/* ---- the schema: one row per key, with its setter -------------------------------------------- */

struct walk {
    const char *file;
    char *err;
    size_t errlen;
};

struct field;
/* Checks the value at idx and stores it into base (the struct the field's offsets refer to). */
typedef int (*setter)(struct walk *w, lua_State *L, int idx, const struct field *f,
                      const char *path, char *base);

struct field {
    const char *key;
    setter set;
    size_t off, off2, size; /* main member, second member (port, hi, list), buffer size */
    long long min, max;     /* integer range, or list length */
    const struct field *sub;
    bool required;
};

/* ---- checking and storing values ------------------------------------------------------------- */

#define KEY_PATH_LEN 160

static int fail(struct walk *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct walk *w, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->errlen > 0)
        snprintf(w->err, w->errlen, "%s: %s%s%s", w->file, path, *path ? ": " : "", msg);
    return -1;
}

/* A value from the file, fit to quote in a message: printable, at most 48 bytes. */
static void quote(char out[64], const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 48; i++)
        out[n++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* The dotted path of a key (sip.listen) or of a list element (trunks[2]). */
static void key_path(char out[KEY_PATH_LEN], const char *parent, lua_State *L, int kidx)
{
    if (lua_type(L, kidx) == LUA_TSTRING) {
        size_t len;
        const char *k = lua_tolstring(L, kidx, &len);
        char q[64];
        quote(q, k, len);
        snprintf(out, KEY_PATH_LEN, "%s%s%s", parent, *parent ? "." : "", q);
    } else if (lua_isinteger(L, kidx)) {
        snprintf(out, KEY_PATH_LEN, "%s[%lld]", parent, (long long)lua_tointeger(L, kidx));
    } else {
        snprintf(out, KEY_PATH_LEN, "%s[<%s>]", parent, luaL_typename(L, kidx));
    }
}

/* The string at idx, or NULL after an error naming its type. Embedded NUL bytes are refused:
 * the C side would silently cut the value there. q receives the quotable form. */
static const char *need_string(struct walk *w, lua_State *L, int idx, const char *path,
                               size_t *len, char q[64])
{
    if (lua_type(L, idx) != LUA_TSTRING) {
        fail(w, path, "expected string, got %s", luaL_typename(L, idx));
        return NULL;
    }
    const char *s = lua_tolstring(L, idx, len);
    quote(q, s, *len);
    if (strlen(s) != *len) {
        fail(w, path, "contains a NUL byte");
        return NULL;
    }
    return s;
}

static int need_integer(struct walk *w, lua_State *L, int idx, const struct field *f,
                        const char *path, long long *out)
{
    if (lua_type(L, idx) != LUA_TNUMBER)
        return fail(w, path, "expected integer, got %s", luaL_typename(L, idx));
    if (!lua_isinteger(L, idx))
        return fail(w, path, "expected integer, got float %.14g", (double)lua_tonumber(L, idx));
    long long v = (long long)lua_tointeger(L, idx);
    if (v < f->min || v > f->max)
        return fail(w, path, "%lld is out of range %lld..%lld", v, f->min, f->max);
    *out = v;
    return 0;
}

/* Zero-fills the rest of the buffer, so that equal configurations compare equal byte for byte. */
static void store_string(char *dst, size_t size, const char *s, size_t len)
{
    memset(dst, 0, size);
    memcpy(dst, s, len);
}

/* Checks that the value at idx is a list (keys exactly 1..n) of f->min..f->max elements. */
static int need_list(struct walk *w, lua_State *L, int idx, const struct field *f,
                     const char *path, size_t *n)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return fail(w, path, "expected a list (table), got %s", luaL_typename(L, idx));
    long long count = 0, top = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) {
            char kp[KEY_PATH_LEN];
            key_path(kp, path, L, -2);
            return fail(w, kp, "unexpected key in a list");
        }
        if (lua_tointeger(L, -2) > top)
            top = lua_tointeger(L, -2);
        count++;
        lua_pop(L, 1);
    }
    if (top != count)
        return fail(w, path, "expected a list, but it has holes");
    if (count < f->min || count > f->max)
        return fail(w, path, "expected %lld to %lld elements, got %lld", f->min, f->max, count);
    *n = (size_t)count;
    return 0;
}

static int walk_table(struct walk *w, lua_State *L, int idx, const struct field *fields,
                      const char *path, char *base)
{
    unsigned long seen = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char p[KEY_PATH_LEN];
        key_path(p, path, L, -2);
        const struct field *f = NULL;
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t klen;
            const char *k = lua_tolstring(L, -2, &klen);
            /* lengths compared too: "sip\0x" is not "sip" */
            for (const struct field *g = fields; g->key != NULL && f == NULL; g++)
                f = strlen(g->key) == klen && memcmp(g->key, k, klen) == 0 ? g : NULL;
        }
        if (f == NULL)
            return fail(w, p, "unknown key");
        seen |= 1ul << (f - fields);
        if (f->set(w, L, lua_gettop(L), f, p, base) < 0)
            return -1;
        lua_pop(L, 1);
    }
    for (const struct field *f = fields; f->key != NULL; f++) {
        if (f->required && !(seen & (1ul << (f - fields)))) {
            char p[KEY_PATH_LEN];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", f->key);
            return fail(w, p, "missing");
        }
    }
    return 0;
}

static int set_section(struct walk *w, lua_State *L, int idx, const struct field *f,
                       const char *path, char *base)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        return fail(w, path, "expected table, got %s", luaL_typename(L, idx));
    return walk_table(w, L, idx, f->sub, path, base);
}

static int set_int(struct walk *w, lua_State *L, int idx, const struct field *f,
                   const char *path, char *base)
{
    long long v;
    if (need_integer(w, L, idx, f, path, &v) < 0)
        return -1;
    *(int *)(void *)(base + f->off) = (int)v;
    return 0;
}

static int set_long(struct walk *w, lua_State *L, int idx, const struct field *f,
                    const char *path, char *base)
{
    long long v;
    if (need_integer(w, L, idx, f, path, &v) < 0)
        return -1;
    *(long *)(void *)(base + f->off) = (long)v;
    return 0;
}

/* RFC 4028: a session interval below 90 s (the Min-SE floor) is refused by peers; 0 = off. */
static int set_session_interval(struct walk *w, lua_State *L, int idx, const struct field *f,
                                const char *path, char *base)
{
    long long v;
    if (need_integer(w, L, idx, f, path, &v) < 0)
        return -1;
    if (v != 0 && v < 90)
        return fail(w, path, "%lld is below RFC 4028's minimum of 90 (0 turns timers off)", v);
    *(int *)(void *)(base + f->off) = (int)v;
    return 0;
}

static int set_bool(struct walk *w, lua_State *L, int idx, const struct field *f,
                    const char *path, char *base)
{
    if (lua_type(L, idx) != LUA_TBOOLEAN)
        return fail(w, path, "expected boolean, got %s", luaL_typename(L, idx));
    *(bool *)(void *)(base + f->off) = lua_toboolean(L, idx);
    return 0;
}

static int set_str(struct walk *w, lua_State *L, int idx, const struct field *f,
                   const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    if (len == 0)
        return fail(w, path, "must not be empty");
    if (len >= f->size)
        return fail(w, path, "too long (%zu bytes, at most %zu)", len, f->size - 1);
    store_string(base + f->off, f->size, s, len);
    return 0;
}

static int set_hostport(struct walk *w, lua_State *L, int idx, const struct field *f,
                        const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    char host[INET6_ADDRSTRLEN];
    if (config_parse_hostport(s, host, sizeof host, (uint16_t *)(void *)(base + f->off2)) < 0)
        return fail(w, path, "expected \"HOST:PORT\", got \"%s\"", q);
    store_string(base + f->off, f->size, host, strlen(host));
    return 0;
}

/* An address for SDP and Contact, or "" for the SIP listen host. */
static int set_ip(struct walk *w, lua_State *L, int idx, const struct field *f,
                  const char *path, char *base)
{
    size_t len;
    char q[64];
    unsigned char bin[16];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    if (len > 0 && inet_pton(AF_INET, s, bin) != 1 && inet_pton(AF_INET6, s, bin) != 1)
        return fail(w, path, "expected an IP address, got \"%s\"", q);
    store_string(base + f->off, f->size, s, len);
    return 0;
}

static int set_portrange(struct walk *w, lua_State *L, int idx, const struct field *f,
                         const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    if (config_parse_port_range(s, (uint16_t *)(void *)(base + f->off),
                                (uint16_t *)(void *)(base + f->off2)) < 0)
        return fail(w, path, "expected \"LO-HI\" (LO even, LO < HI <= 65535), got \"%s\"", q);
    return 0;
}

static int set_loglevel(struct walk *w, lua_State *L, int idx, const struct field *f,
                        const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    if (log_level_parse(s, (enum log_level *)(void *)(base + f->off)) < 0)
        return fail(w, path, "expected \"debug\", \"info\", \"warn\" or \"error\", got \"%s\"", q);
    return 0;
}

/* Defaults of a list element before its keys are read (NULL: all zero). */
typedef void (*element_init)(char *elem);
/* What the schema cannot say about element i of elems (p: its path); NULL: nothing. */
typedef int (*element_check)(struct walk *w, const char *elems, size_t i, const char *path,
                             const char *p);

/* A trunk is recognised by its source address or by its credentials (without either it could
 * never match), which come in pairs, and a username identifies one trunk. */
static int check_trunk(struct walk *w, const char *elems, size_t i, const char *path,
                       const char *p)
{
    const struct trunk_config *trunks = (const struct trunk_config *)(const void *)elems;
    const struct trunk_config *t = &trunks[i];
    if (!t->username[0] != !t->password[0])
        return fail(w, p, "username and password go together");
    if (t->n_allow == 0 && !t->username[0])
        return fail(w, p, "needs allow, or username and password");
    for (size_t j = 0; j < i && t->username[0]; j++) {
        if (strcmp(trunks[j].username, t->username) == 0)
            return fail(w, p, "username: \"%s\" is already the username of %s[%zu]",
                        t->username, path, j + 1);
    }
    return 0;
}

static void gateway_init(char *elem)
{
    struct gateway_config *g = (struct gateway_config *)(void *)elem;
    g->port = 5060;
    g->transport = SIP_TRANSPORT_UDP;
    g->n_codecs = 2;
    g->codecs[0] = 8; /* PCMA */
    g->codecs[1] = 0; /* PCMU */
    g->priority = 1;
    g->weight = 1;
    g->options_interval_s = 30;
    g->inbound = true;
}

/* A list of tables whose first member is a unique `char name[64]`: trunks, gateways.
 * f->size is the element size, f->off the count, f->off2 the array. */
static int set_named_list(struct walk *w, lua_State *L, int idx, const struct field *f,
                          const char *path, char *base, element_init init, element_check check)
{
    size_t n;
    if (need_list(w, L, idx, f, path, &n) < 0)
        return -1;
    char *elems = base + f->off2;
    for (size_t i = 0; i < n; i++) {
        char p[KEY_PATH_LEN];
        char *elem = elems + i * f->size;
        snprintf(p, sizeof p, "%s[%zu]", path, i + 1);
        lua_rawgeti(L, idx, (lua_Integer)(i + 1));
        if (lua_type(L, -1) != LUA_TTABLE)
            return fail(w, p, "expected table, got %s", luaL_typename(L, -1));
        memset(elem, 0, f->size);
        if (init)
            init(elem);
        if (walk_table(w, L, lua_gettop(L), f->sub, p, elem) < 0)
            return -1;
        lua_pop(L, 1);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(elems + j * f->size, elem) == 0)
                return fail(w, p, "name: \"%s\" is already the name of %s[%zu]", elem, path,
                            j + 1);
        }
        if (check && check(w, elems, i, path, p) < 0)
            return -1;
    }
    *(int *)(void *)(base + f->off) = (int)n;
    return 0;
}

static int set_trunks(struct walk *w, lua_State *L, int idx, const struct field *f,
                      const char *path, char *base)
{
    return set_named_list(w, L, idx, f, path, base, NULL, check_trunk);
}

static int set_gateways(struct walk *w, lua_State *L, int idx, const struct field *f,
                        const char *path, char *base)
{
    return set_named_list(w, L, idx, f, path, base, gateway_init, NULL);
}

/* A gateway's address: "HOST[:PORT]", HOST an IPv4 address, a bracketed IPv6 address or a DNS
 * name (letters, digits, '-' and '.'). */
static int set_sip_address(struct walk *w, lua_State *L, int idx, const struct field *f,
                           const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    char *host = base + f->off;
    uint16_t *port = (uint16_t *)(void *)(base + f->off2);
    if (config_parse_hostport(s, host, f->size, port) == 0)
        return 0;
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : len;
    unsigned long pv = 5060;
    bool ok = hl > 0 && hl < f->size && s[0] != '-' && s[0] != '.' &&
              (!colon || parse_decimal(colon + 1, s + len, 65535, &pv) == 0) && pv > 0;
    for (size_t i = 0; ok && i < hl; i++)
        ok = isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '.';
    if (!ok)
        return fail(w, path, "expected \"HOST[:PORT]\" (an IP address or a DNS name), got \"%s\"",
                    q);
    store_string(host, f->size, s, hl);
    *port = (uint16_t)pv;
    return 0;
}

static int set_transport(struct walk *w, lua_State *L, int idx, const struct field *f,
                         const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    enum sip_transport *t = (enum sip_transport *)(void *)(base + f->off);
    if (strcmp(s, "udp") == 0)
        *t = SIP_TRANSPORT_UDP;
    else if (strcmp(s, "tcp") == 0)
        *t = SIP_TRANSPORT_TCP;
    else
        return fail(w, path, "expected \"udp\" or \"tcp\", got \"%s\"", q);
    return 0;
}

/* Checks one string element i of a list (its path p, quotable form q) and stores it in out. */
typedef int (*string_element)(struct walk *w, const char *p, const char *s, const char *q,
                              size_t i, void *out);

/* A list of strings, each through one(): the count goes to f->off, the elements to f->off2. */
static int set_string_list(struct walk *w, lua_State *L, int idx, const struct field *f,
                           const char *path, char *base, string_element one)
{
    size_t n;
    if (need_list(w, L, idx, f, path, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char p[KEY_PATH_LEN], q[64];
        size_t len;
        snprintf(p, sizeof p, "%s[%zu]", path, i + 1);
        lua_rawgeti(L, idx, (lua_Integer)(i + 1));
        const char *s = need_string(w, L, -1, p, &len, q);
        if (s == NULL || one(w, p, s, q, i, base + f->off2) < 0)
            return -1;
        lua_pop(L, 1);
    }
    *(int *)(void *)(base + f->off) = (int)n;
    return 0;
}

/* codecs = { "PCMA", "PCMU" }: payload types in offer order, each at most once. */
static int codec_element(struct walk *w, const char *p, const char *s, const char *q, size_t i,
                         void *out)
{
    int *pts = out;
    if (strcmp(s, "PCMA") == 0)
        pts[i] = 8;
    else if (strcmp(s, "PCMU") == 0)
        pts[i] = 0;
    else
        return fail(w, p, "expected \"PCMA\" or \"PCMU\", got \"%s\"", q);
    for (size_t j = 0; j < i; j++)
        if (pts[j] == pts[i])
            return fail(w, p, "\"%s\" is listed twice", q);
    return 0;
}

static int set_codecs(struct walk *w, lua_State *L, int idx, const struct field *f,
                      const char *path, char *base)
{
    return set_string_list(w, L, idx, f, path, base, codec_element);
}

/* Digits, '+', '*' and '#' only, possibly empty: it is put in front of a dialled number. */
static int set_dial_prefix(struct walk *w, lua_State *L, int idx, const struct field *f,
                           const char *path, char *base)
{
    size_t len;
    char q[64];
    const char *s = need_string(w, L, idx, path, &len, q);
    if (s == NULL)
        return -1;
    if (len >= f->size)
        return fail(w, path, "too long (%zu bytes, at most %zu)", len, f->size - 1);
    if (strspn(s, "0123456789+*#") != len)
        return fail(w, path, "expected digits (and + * #), got \"%s\"", q);
    store_string(base + f->off, f->size, s, len);
    return 0;
}

static int cidr_element(struct walk *w, const char *p, const char *s, const char *q, size_t i,
                        void *out)
{
    if (config_parse_cidr(s, &((struct cidr *)out)[i]) < 0)
        return fail(w, p, "expected \"ADDRESS/PREFIX\" (IPv4 or IPv6), got \"%s\"", q);
    return 0;
}

static int set_cidrs(struct walk *w, lua_State *L, int idx, const struct field *f,
                     const char *path, char *base)
{
    return set_string_list(w, L, idx, f, path, base, cidr_element);
}

/* ---- the keys -------------------------------------------------------------------------------- */

#define CFG(m) offsetof(struct vcs_config, m)
#define CFG_SIZE(m) sizeof ((struct vcs_config *)0)->m
#define TRK(m) offsetof(struct trunk_config, m)
#define TRK_SIZE(m) sizeof ((struct trunk_config *)0)->m
#define GW(m) offsetof(struct gateway_config, m)
#define GW_SIZE(m) sizeof ((struct gateway_config *)0)->m
#define GW_INT(k, m, lo, hi) { .key = k, .set = set_int, .off = GW(m), .min = lo, .max = hi }
#define GW_STR(k, m) { .key = k, .set = set_str, .off = GW(m), .size = GW_SIZE(m) }
#define GW_BOOL(k, m) { .key = k, .set = set_bool, .off = GW(m) }
#define SECTION(k, fields) { .key = k, .set = set_section, .sub = fields }
#define INT(k, m, lo, hi) { .key = k, .set = set_int, .off = CFG(m), .min = lo, .max = hi }
#define LONG(k, m, lo, hi) { .key = k, .set = set_long, .off = CFG(m), .min = lo, .max = hi }
#define STR(k, m) { .key = k, .set = set_str, .off = CFG(m), .size = CFG_SIZE(m) }
#define BOOL(k, m) { .key = k, .set = set_bool, .off = CFG(m) }
#define HOSTPORT(k, h, p) \
    { .key = k, .set = set_hostport, .off = CFG(h), .off2 = CFG(p), .size = CFG_SIZE(h) }

/* set_hostport and set_ip store any valid address without a length check. */
_Static_assert(CFG_SIZE(sip_host) >= INET6_ADDRSTRLEN && CFG_SIZE(http_host) >= INET6_ADDRSTRLEN &&
                   CFG_SIZE(advertise_ip) >= INET6_ADDRSTRLEN,
               "address buffers hold any IPv6 address");

static const struct field rate_fields[] = {
    INT("per_second", rate_per_second, 0, 10000000), /* 0 disables the limit */
    INT("burst", rate_burst, 1, 10000000),
    { 0 },
};

static const struct field sip_fields[] = {
    HOSTPORT("listen", sip_host, sip_port),
    { .key = "advertise", .set = set_ip, .off = CFG(advertise_ip), .size = CFG_SIZE(advertise_ip) },
    INT("tcp_idle_seconds", tcp_idle_seconds, 1, 86400),
    INT("max_message_bytes", max_message_bytes, 1024, 16 << 20),
    INT("udp_buffer_kb", udp_buffer_kb, 64, 1 << 20),
    SECTION("rate_limit", rate_fields),
    INT("auth_lockout_seconds", auth_lockout_s, 1, 86400),
    { 0 },
};

static const struct field http_fields[] = {
    HOSTPORT("listen", http_host, http_port),
    { 0 },
};

static const struct field paths_fields[] = {
    STR("data", data_dir),
    STR("dialplans", dialplans_dir),
    STR("sounds", sounds_dir),
    STR("lua", lua_dir),
    { 0 },
};

static const struct field rtp_fields[] = {
    { .key = "ports", .set = set_portrange, .off = CFG(rtp_port_lo), .off2 = CFG(rtp_port_hi) },
    { 0 },
};

static const struct field log_fields[] = {
    { .key = "level", .set = set_loglevel, .off = CFG(log_level) },
    { 0 },
};

static const struct field script_fields[] = {
    LONG("max_instructions", max_instructions, 1000, INT_MAX), /* a Lua hook count is an int */
    LONG("max_memory_mb", max_memory_mb, 1, 65536),
    LONG("max_run_ms", max_run_ms, 10, 60000),
    { 0 },
};

static const struct field shutdown_fields[] = {
    INT("grace_seconds", grace_seconds, 0, 86400),
    { 0 },
};

static const struct field engine_fields[] = {
    INT("workers", workers, 0, 1024), /* 0: one per core */
    INT("max_calls", max_calls, 1, 10000000),
    INT("max_cps", max_cps, 1, 1000000),
    INT("max_delay_ms", max_delay_ms, 0, 10000), /* 0: no delay-based admission */
    INT("realtime_priority", realtime_priority, 0, 99), /* 0: the workers stay SCHED_OTHER */
    { 0 },
};

static const struct field recording_fields[] = {
    BOOL("all_calls", record_all_calls),
    { 0 },
};

static const struct field media_fields[] = {
    INT("timeout_s", media_timeout_s, 0, 86400),        /* 0: no inactivity timeout */
    INT("hold_timeout_s", media_hold_timeout_s, 0, 86400),
    BOOL("io_uring", media_io_uring),
    { 0 },
};

static const struct field session_timer_fields[] = {
    { .key = "interval_s", .set = set_session_interval, .off = CFG(session_interval_s), .min = 0,
      .max = 86400 },
    { 0 },
};

static const struct field compliance_fields[] = {
    INT("max_per_callee_day", max_per_callee_day, 0, 1000), /* 0: no cap */
    INT("max_per_callee_week", max_per_callee_week, 0, 1000),
    { 0 },
};

static const struct field billing_fields[] = {
    STR("tz", billing_tz),
    { 0 },
};

static const struct field webhooks_fields[] = {
    BOOL("allow_private", webhooks_allow_private),
    { 0 },
};

static const struct field trunk_fields[] = {
    { .key = "name", .set = set_str, .off = TRK(name), .size = TRK_SIZE(name), .required = true },
    { .key = "account", .set = set_str, .off = TRK(account), .size = TRK_SIZE(account),
      .required = true },
    { .key = "allow", .set = set_cidrs, .off = TRK(n_allow), .off2 = TRK(allow), .min = 1,
      .max = CONFIG_MAX_CIDRS },
    { .key = "username", .set = set_str, .off = TRK(username), .size = TRK_SIZE(username) },
    { .key = "password", .set = set_str, .off = TRK(password), .size = TRK_SIZE(password) },
    { .key = "max_calls", .set = set_int, .off = TRK(max_calls), .min = 0, .max = 1000000 },
    { .key = "address", .set = set_hostport, .off = TRK(address_host), .off2 = TRK(address_port),
      .size = TRK_SIZE(address_host) },
    { 0 },
};

static const struct field gateway_fields[] = {
    { .key = "name", .set = set_str, .off = GW(name), .size = GW_SIZE(name), .required = true },
    { .key = "address", .set = set_sip_address, .off = GW(host), .off2 = GW(port),
      .size = GW_SIZE(host), .required = true },
    { .key = "transport", .set = set_transport, .off = GW(transport) },
    GW_STR("username", username),
    GW_STR("password", password),
    GW_BOOL("register", register_),
    { .key = "codecs", .set = set_codecs, .off = GW(n_codecs), .off2 = GW(codecs), .min = 1,
      .max = CONFIG_MAX_CODECS },
    GW_INT("max_channels", max_channels, 0, 1000000),
    GW_INT("priority", priority, 0, 1000000),
    GW_INT("weight", weight, 1, 1000000),
    GW_INT("options_interval_s", options_interval_s, 0, 86400),
    { .key = "prefix", .set = set_dial_prefix, .off = GW(prefix), .size = GW_SIZE(prefix) },
    GW_BOOL("inbound", inbound),
    { 0 },
};

static const struct field top_fields[] = {
    SECTION("sip", sip_fields),
    SECTION("http", http_fields),
    SECTION("paths", paths_fields),
    SECTION("rtp", rtp_fields),
    SECTION("log", log_fields),
    SECTION("script", script_fields),
    SECTION("shutdown", shutdown_fields),
    SECTION("engine", engine_fields),
    SECTION("recording", recording_fields),
    SECTION("media", media_fields),
    SECTION("session_timer", session_timer_fields),
    SECTION("compliance", compliance_fields),
    SECTION("billing", billing_fields),
    SECTION("webhooks", webhooks_fields),
    { .key = "trunks", .set = set_trunks, .off = CFG(n_trunks), .off2 = CFG(trunks), .min = 0,
      .max = CONFIG_MAX_TRUNKS, .size = sizeof(struct trunk_config), .sub = trunk_fields },
    { .key = "gateways", .set = set_gateways, .off = CFG(n_gateways), .off2 = CFG(gateways),
      .min = 0, .max = CONFIG_MAX_GATEWAYS, .size = sizeof(struct gateway_config),
      .sub = gateway_fields },
    { 0 },
};

/* ---- loading --------------------------------------------------------------------------------- */

struct load {
    struct walk w;
    struct vcs_config *cfg;
    int load_status; /* of luaL_loadfilex, so that a memory error keeps its status */
    int ok;
};

/* Runs under lua_pcall: everything that may allocate in the Lua state is protected. */
static int load_protected(lua_State *L)
{
    struct load *ld = lua_touserdata(L, 1);
    lua_bounded_open(L);
    ld->load_status = luaL_loadfilex(L, ld->w.file, "t"); /* text only: bytecode is unchecked */
    if (ld->load_status != LUA_OK)
        return lua_error(L);
    lua_bounded_arm(L);
    lua_call(L, 0, 1);
    if (lua_type(L, -1) != LUA_TTABLE) {
        fail(&ld->w, "", "expected the file to return a table of sections, got %s",
             luaL_typename(L, -1));
        return 0;
    }
    ld->ok = walk_table(&ld->w, L, lua_gettop(L), top_fields, "", (char *)ld->cfg) == 0;
    return 0;
}

int config_load_file(struct vcs_config *cfg, const char *path, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    struct vcs_config *tmp = malloc(sizeof *tmp);
    struct lua_budget b = { 0, CONF_MAX_MEMORY, CONF_MAX_INSTRUCTIONS };
    lua_State *L = tmp ? lua_bounded_new(&b) : NULL;
    if (L == NULL) {
        free(tmp);
        if (errlen > 0)
            snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    *tmp = *cfg;
    struct load ld = { { path, err, errlen }, tmp, LUA_OK, 0 };
    lua_pushcfunction(L, load_protected);
    lua_pushlightuserdata(L, &ld);
    int status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK && ld.load_status != LUA_OK)
        status = ld.load_status;
    if (status == LUA_ERRMEM) {
        if (errlen > 0)
            snprintf(err, errlen, "%s: memory limit exceeded (%zu MiB)", path,
                     CONF_MAX_MEMORY >> 20);
    } else if (status != LUA_OK && errlen > 0) {
        size_t plen = strlen(path);
        const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (msg == NULL)
            snprintf(err, errlen, "%s: error object is a %s value", path, luaL_typename(L, -1));
        else if (strncmp(msg, path, plen) == 0 && msg[plen] == ':')
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "%s: %s", path, msg); /* error("...", 0) has no position */
    }
    lua_close(L);
    if (status == LUA_OK && ld.ok)
        *cfg = *tmp;
    free(tmp);
    return status == LUA_OK && ld.ok ? 0 : -1;
}
