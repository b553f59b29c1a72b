/* Where webhook deliveries may go (SSRF): customers choose the URLs, so by default only public
 * unicast addresses are reached, never vcsd's own API on loopback, cloud metadata on
 * link-local or the operator's private networks. Pure functions: no DNS, no state. */
#ifndef VCS_WEBHOOK_ADDR_H
#define VCS_WEBHOOK_ADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

/* NULL when addr (sockaddr_in or sockaddr_in6) is public unicast, else the name of its refused
 * range (e.g. "loopback") for messages. Refused: 0/8, 127/8, RFC 1918, 100.64/10, 169.254/16,
 * 192.0.0/24, 198.18/15, 224/4, 240/4 (with 255.255.255.255); IPv6 outside 2000::/3 (::, ::1,
 * fe80::/10, fc00::/7, ff00::/8, ...) and any IPv6 form that embeds a refused IPv4 address
 * (mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16). Other families are refused. */
const char *webhook_addr_refusal(const struct sockaddr *addr);

/* The URL host as getaddrinfo takes it: an IPv6 literal loses its brackets. False when it
 * does not fit in out. */
bool webhook_host_plain(const char *host, char *out, size_t outlen);

/* For a URL host that is an IP literal ("192.0.2.1", "[2001:db8::1]", or a short form such as
 * "127.1"): its refusal as above. NULL for an allowed address or a name (never resolved here:
 * names are checked when a delivery resolves them). */
const char *webhook_host_refusal(const char *host);

#endif
