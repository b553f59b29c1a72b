/* webhook_addr: every refused range at its edges (first and last address) and just outside,
 * IPv4 embedded in IPv6 judged as IPv4, a few public addresses allowed, and URL hosts: IP
 * literals (bracketed IPv6, short IPv4 forms) judged, names left to delivery time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "events/webhook_addr.h"

static const char *judge(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    return webhook_addr_refusal((struct sockaddr *)&ss);
}

static void refused(const char *ip)
{
    if (!judge(ip))
        fail_msg("%s should be refused", ip);
}

static void allowed(const char *ip)
{
    const char *why = judge(ip);
    if (why)
        fail_msg("%s should be allowed, refused as %s", ip, why);
}

static void test_ipv4_refused(void **state)
{
    (void)state;
    static const char *const edges[] = {
        "0.0.0.0", "0.255.255.255",       /* unspecified, this network */
        "10.0.0.0", "10.255.255.255",     /* RFC 1918 */
        "100.64.0.0", "100.127.255.255",  /* CGNAT */
        "127.0.0.1", "127.255.255.254",   /* loopback */
        "169.254.0.0", "169.254.169.254", "169.254.255.255", /* link-local, cloud metadata */
        "172.16.0.0", "172.31.255.255",   /* RFC 1918 */
        "192.0.0.0", "192.0.0.255",       /* IETF */
        "192.168.0.0", "192.168.255.255", /* RFC 1918 */
        "198.18.0.0", "198.19.255.255",   /* benchmarking */
        "224.0.0.1", "239.255.255.255",   /* multicast */
        "240.0.0.0", "255.255.255.255",   /* reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        refused(edges[i]);
    assert_string_equal(judge("127.0.0.1"), "loopback");
    assert_string_equal(judge("192.168.1.1"), "private (RFC 1918)");
}

static void test_ipv4_allowed(void **state)
{
    (void)state;
    static const char *const public[] = {
        "1.1.1.1", "8.8.8.8", "93.184.216.34", "203.0.113.7",
        /* just outside the refused ranges */
        "1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255",
        "172.32.0.0", "191.255.255.255", "192.0.1.0", "192.167.255.255", "192.169.0.0",
        "198.17.255.255", "198.20.0.0", "223.255.255.255",
    };
    for (size_t i = 0; i < sizeof public / sizeof public[0]; i++)
        allowed(public[i]);
}

static void test_ipv6(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "::", "::1", "fe80::1", "febf:ffff::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
        "::ffff:255.255.255.255", "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1",
        "2002:c0a8:101::1", "::127.0.0.1", "100::1", "fec0::1", "4000::1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(bad[i]);
    assert_string_equal(judge("::1"), "loopback");
    assert_string_equal(judge("::ffff:127.0.0.1"), "loopback");
    assert_string_equal(judge("fe80::1"), "link-local (fe80::/10)");
    static const char *const good[] = {
        "2001:4860:4860::8888", "2606:4700::1111", "2a00:1450::1", "3fff:ffff::1",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        allowed(good[i]);
}

static void test_other_family(void **state)
{
    (void)state;
    struct sockaddr sa = { .sa_family = AF_UNIX };
    assert_non_null(webhook_addr_refusal(&sa));
}

static void test_url_hosts(void **state)
{
    (void)state;
    assert_string_equal(webhook_host_refusal("127.0.0.1"), "loopback");
    assert_string_equal(webhook_host_refusal("[::1]"), "loopback");
    assert_string_equal(webhook_host_refusal("[::ffff:169.254.169.254]"),
                        "link-local (169.254.0.0/16)");
    /* forms inet_aton (and so getaddrinfo) reads as 127.0.0.1 */
    assert_string_equal(webhook_host_refusal("127.1"), "loopback");
    assert_string_equal(webhook_host_refusal("2130706433"), "loopback");
    assert_string_equal(webhook_host_refusal("0x7f.1"), "loopback");
    assert_null(webhook_host_refusal("93.184.216.34"));
    assert_null(webhook_host_refusal("[2001:4860:4860::8888]"));
    assert_null(webhook_host_refusal("localhost")); /* a name: judged when delivered */
    assert_null(webhook_host_refusal("hooks.example.com"));

    char out[8];
    assert_true(webhook_host_plain("[::1]", out, sizeof out));
    assert_string_equal(out, "::1");
    assert_true(webhook_host_plain("a.b", out, sizeof out));
    assert_string_equal(out, "a.b");
    assert_false(webhook_host_plain("12345678", out, sizeof out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_refused), cmocka_unit_test(test_ipv4_allowed),
        cmocka_unit_test(test_ipv6), cmocka_unit_test(test_other_family),
        cmocka_unit_test(test_url_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
