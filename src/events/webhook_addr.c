/* Address ranges webhook deliveries must not reach (see webhook_addr.h). */
#include "events/webhook_addr.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct range {
    uint32_t net;
    int prefix;
    const char *name;
};

/* IANA special-purpose registry entries that are not globally reachable, plus multicast and
 * the reserved 240/4 (which holds the limited broadcast address). */
static const struct range v4_refused[] = {
    { 0x00000000, 8, "unspecified (0.0.0.0/8)" },
    { 0x0a000000, 8, "private (RFC 1918)" },
    { 0x64400000, 10, "shared address space (100.64.0.0/10, CGNAT)" },
    { 0x7f000000, 8, "loopback" },
    { 0xa9fe0000, 16, "link-local (169.254.0.0/16)" },
    { 0xac100000, 12, "private (RFC 1918)" },
    { 0xc0000000, 24, "IETF-reserved (192.0.0.0/24)" },
    { 0xc0a80000, 16, "private (RFC 1918)" },
    { 0xc6120000, 15, "reserved for benchmarking (198.18.0.0/15)" },
    { 0xe0000000, 4, "multicast" },
    { 0xf0000000, 4, "reserved or broadcast (240.0.0.0/4)" },
};

static const char *v4_refusal(uint32_t a)
{
    for (size_t i = 0; i < sizeof v4_refused / sizeof v4_refused[0]; i++) {
        uint32_t mask = UINT32_MAX << (32 - v4_refused[i].prefix);
        if ((a & mask) == v4_refused[i].net)
            return v4_refused[i].name;
    }
    return NULL;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *v6_refusal(const unsigned char a[16])
{
    static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };
    static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b };
    static const unsigned char zero[15] = { 0 };
    static const char reserved[] = "reserved (not global unicast IPv6)";
    /* A refused IPv4 address inside IPv6 reaches the same host: judged as that address. */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return v4_refusal(be32(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02)
        return v4_refusal(be32(a + 2));
    if ((a[0] & 0xe0) == 0x20)
        return NULL; /* 2000::/3, global unicast */
    if (memcmp(a, zero, 15) == 0)
        return a[15] == 1 ? "loopback" : a[15] == 0 ? "unspecified" : reserved;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link-local (fe80::/10)";
    if ((a[0] & 0xfe) == 0xfc)
        return "unique-local (fc00::/7)";
    if (a[0] == 0xff)
        return "multicast";
    return reserved;
}

const char *webhook_addr_refusal(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return v4_refusal(be32((const unsigned char *)&in->sin_addr));
    }
    if (addr->sa_family == AF_INET6)
        return v6_refusal(((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr);
    return "not an IP address";
}

bool webhook_host_plain(const char *host, char *out, size_t outlen)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= outlen)
        return false;
    memcpy(out, host, n);
    out[n] = '\0';
    return true;
}

const char *webhook_host_refusal(const char *host)
{
    char plain[256];
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM }, *ai = NULL;
    if (!webhook_host_plain(host, plain, sizeof plain) ||
        getaddrinfo(plain, NULL, &hints, &ai) != 0)
        return NULL;
    const char *why = webhook_addr_refusal(ai->ai_addr);
    freeaddrinfo(ai);
    return why;
}
