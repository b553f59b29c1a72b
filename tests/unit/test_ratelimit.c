/* ratelimit: burst then refusal, exact refill over simulated time (the clock is a parameter,
 * so nothing here depends on real time), independent sources, IPv4/IPv6 keying (port ignored,
 * IPv4-mapped IPv6 = IPv4, an IPv6 /64 is one source), eviction when the table is full, the
 * disabled mode and argument checks. Leaks are left to AddressSanitizer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sip/ratelimit.h"

#define SEC 1000000ull

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* How many requests in a row are allowed at time t. */
static int drain(struct ratelimit *rl, const struct sockaddr *src, uint64_t t)
{
    int n = 0;
    while (ratelimit_allow(rl, src, t))
        n++;
    return n;
}

static void test_burst_then_refusal(void **state)
{
    struct ratelimit *rl = ratelimit_create(10, 5, 64);
    assert_non_null(rl);
    struct sockaddr_storage a = v4("192.0.2.1", 5060);
    uint64_t t = 1000 * SEC;
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_allow(rl, SA(a), t));
    assert_false(ratelimit_allow(rl, SA(a), t));
    assert_false(ratelimit_allow(rl, SA(a), t));
    assert_int_equal(ratelimit_refused(rl), 2);
    ratelimit_destroy(rl);
}

static void test_refill_is_exact(void **state)
{
    /* 3 per second: one token every 333333.33 us. Integer maths must neither lose nor gain a
     * fraction, on one long gap or over many small steps. */
    struct ratelimit *rl = ratelimit_create(3, 1000, 64);
    assert_non_null(rl);
    struct sockaddr_storage a = v4("192.0.2.1", 5060);
    assert_int_equal(drain(rl, SA(a), 0), 1000);

    assert_false(ratelimit_allow(rl, SA(a), 333333)); /* 0.999999 of a token */
    assert_true(ratelimit_allow(rl, SA(a), 333334));  /* 1.000002 */
    assert_false(ratelimit_allow(rl, SA(a), 333334));

    /* Polled every 997 us for 100 s, then once at exactly 100 s: the last poll completes the
     * 300th token and not a microsecond earlier. */
    uint64_t start = 333334, end = start + 100 * SEC;
    int allowed = 0;
    for (uint64_t now = start + 997; now < end; now += 997)
        allowed += ratelimit_allow(rl, SA(a), now);
    /* 0.000002 carried + 3 * 99.999xxx s: 299 whole tokens before the end... */
    assert_int_equal(allowed, 299);
    /* ...and 300.000002 at exactly the end. */
    assert_true(ratelimit_allow(rl, SA(a), end));
    assert_false(ratelimit_allow(rl, SA(a), end));
    ratelimit_destroy(rl);
}

static void test_refill_caps_at_burst(void **state)
{
    struct ratelimit *rl = ratelimit_create(100, 20, 64);
    assert_non_null(rl);
    struct sockaddr_storage a = v4("198.51.100.3", 1);
    assert_int_equal(drain(rl, SA(a), 0), 20);
    assert_int_equal(drain(rl, SA(a), SEC / 10), 10);         /* 0.1 s at 100/s */
    assert_int_equal(drain(rl, SA(a), 3600 * SEC), 20);       /* an hour later: only the burst */
    assert_int_equal(drain(rl, SA(a), UINT64_MAX / 2), 20);   /* huge gaps do not overflow */
    assert_int_equal(drain(rl, SA(a), UINT64_MAX), 20);
    ratelimit_destroy(rl);
}

static void test_clock_step_back(void **state)
{
    struct ratelimit *rl = ratelimit_create(1, 2, 64);
    assert_non_null(rl);
    struct sockaddr_storage a = v4("198.51.100.3", 1);
    assert_int_equal(drain(rl, SA(a), 50 * SEC), 2);
    assert_int_equal(drain(rl, SA(a), 10 * SEC), 0); /* earlier time: no refill, no wrap */
    assert_int_equal(drain(rl, SA(a), 51 * SEC), 1);
    ratelimit_destroy(rl);
}

static void test_sources_independent_port_ignored(void **state)
{
    struct ratelimit *rl = ratelimit_create(1, 3, 64);
    assert_non_null(rl);
    struct sockaddr_storage a1 = v4("192.0.2.1", 5060);
    struct sockaddr_storage a2 = v4("192.0.2.1", 40000); /* same host, other port */
    struct sockaddr_storage b = v4("192.0.2.2", 5060);
    assert_true(ratelimit_allow(rl, SA(a1), 0));
    assert_true(ratelimit_allow(rl, SA(a2), 0));
    assert_true(ratelimit_allow(rl, SA(a1), 0));
    assert_false(ratelimit_allow(rl, SA(a2), 0));
    assert_int_equal(drain(rl, SA(b), 0), 3);
    assert_int_equal(ratelimit_refused(rl), 2); /* a2's refusal and the drain's last try */
    ratelimit_destroy(rl);
}

static void test_ipv6_keying(void **state)
{
    struct ratelimit *rl = ratelimit_create(1, 2, 64);
    assert_non_null(rl);
    /* One /64 is one source, whatever the interface identifier. */
    struct sockaddr_storage h1 = v6("2001:db8:1:2::1", 5060);
    struct sockaddr_storage h2 = v6("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 5062);
    assert_true(ratelimit_allow(rl, SA(h1), 0));
    assert_true(ratelimit_allow(rl, SA(h2), 0));
    assert_false(ratelimit_allow(rl, SA(h1), 0));
    /* The neighbouring /64 is independent. */
    struct sockaddr_storage other = v6("2001:db8:1:3::1", 5060);
    assert_int_equal(drain(rl, SA(other), 0), 2);
    /* An IPv4-mapped source counts as that IPv4 address, not as the ::ffff:0:0/64 prefix. */
    struct sockaddr_storage m1 = v6("::ffff:192.0.2.7", 5060);
    struct sockaddr_storage m2 = v6("::ffff:192.0.2.8", 5060);
    struct sockaddr_storage p1 = v4("192.0.2.7", 5060);
    assert_true(ratelimit_allow(rl, SA(m1), 0));
    assert_true(ratelimit_allow(rl, SA(p1), 0));
    assert_false(ratelimit_allow(rl, SA(m1), 0));
    assert_int_equal(drain(rl, SA(m2), 0), 2);
    ratelimit_destroy(rl);
}

static void test_unknown_family_shares_one_bucket(void **state)
{
    struct ratelimit *rl = ratelimit_create(1, 2, 64);
    assert_non_null(rl);
    struct sockaddr_storage u;
    memset(&u, 0, sizeof(u));
    u.ss_family = AF_UNIX;
    assert_true(ratelimit_allow(rl, SA(u), 0));
    assert_true(ratelimit_allow(rl, NULL, 0));
    assert_false(ratelimit_allow(rl, SA(u), 0));
    /* ...and does not collide with real addresses. */
    struct sockaddr_storage f = v6("ffff:ffff:ffff:ffff::", 1);
    assert_int_equal(drain(rl, SA(f), 0), 2);
    ratelimit_destroy(rl);
}

static void test_least_recent_is_evicted(void **state)
{
    /* 8 slots (one probe window): the ninth source replaces the least recently seen. */
    struct ratelimit *rl = ratelimit_create(1, 1, 8);
    assert_non_null(rl);
    struct sockaddr_storage x = v4("192.0.2.99", 1);
    assert_true(ratelimit_allow(rl, SA(x), 0));
    assert_false(ratelimit_allow(rl, SA(x), 0));
    uint64_t t = 1;
    for (uint32_t i = 0; i < 7; i++, t++) {
        struct sockaddr_storage a = v4("10.0.0.0", 1);
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a000000u + i);
        assert_true(ratelimit_allow(rl, SA(a), t));
    }
    assert_false(ratelimit_allow(rl, SA(x), t++)); /* 8 sources, 8 slots: x is still known */
    for (uint32_t i = 7; i < 15; i++, t++) {       /* 7 to evict the others, 1 more for x */
        struct sockaddr_storage a = v4("10.0.0.0", 1);
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a000000u + i);
        assert_true(ratelimit_allow(rl, SA(a), t));
    }
    assert_true(ratelimit_allow(rl, SA(x), t)); /* forgotten, so a fresh bucket */
    ratelimit_destroy(rl);
}

static void test_table_full_eviction(void **state)
{
    /* 8 slots, 10000 sources: no crash, and the table never holds more than it was given. */
    struct ratelimit *rl = ratelimit_create(1, 1, 8);
    assert_non_null(rl);
    uint64_t t = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        struct sockaddr_storage a = v4("10.0.0.0", 1);
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a000000u + i);
        assert_true(ratelimit_allow(rl, SA(a), t)); /* each new source gets its burst */
        t += 10;
    }
    /* A source that keeps sending stays limited while newcomers flood the table: fewer of them
     * arrive between its requests than there are slots, so the least recently seen is always
     * someone else. */
    struct sockaddr_storage abuser = v4("203.0.113.66", 1);
    assert_true(ratelimit_allow(rl, SA(abuser), t));
    for (uint32_t i = 0; i < 1000; i++) {
        struct sockaddr_storage a = v4("10.0.0.0", 1);
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0b000000u + i);
        t += 10;
        ratelimit_allow(rl, SA(a), t);
        if (i % 4 == 0)
            assert_false(ratelimit_allow(rl, SA(abuser), t));
    }
    ratelimit_destroy(rl);
}

static void test_recently_seen_survive(void **state)
{
    /* With a table as large as the working set, each source keeps its own bucket. */
    struct ratelimit *rl = ratelimit_create(1, 2, 4096);
    assert_non_null(rl);
    for (uint32_t i = 0; i < 256; i++) {
        struct sockaddr_storage a = v4("10.0.0.0", 1);
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a000000u + i);
        assert_int_equal(drain(rl, SA(a), 0), 2);
    }
    for (uint32_t i = 0; i < 256; i++) {
        struct sockaddr_storage a = v4("10.0.0.0", 1);
        ((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(0x0a000000u + i);
        assert_false(ratelimit_allow(rl, SA(a), 0));
    }
    assert_int_equal(ratelimit_refused(rl), 512);
    ratelimit_destroy(rl);
}

static void test_disabled(void **state)
{
    struct ratelimit *rl = ratelimit_create(0, 0, 0);
    assert_non_null(rl);
    struct sockaddr_storage a = v4("192.0.2.1", 5060);
    for (int i = 0; i < 100000; i++)
        assert_true(ratelimit_allow(rl, SA(a), 0));
    assert_int_equal(ratelimit_refused(rl), 0);
    ratelimit_destroy(rl);
}

static void test_bad_arguments(void **state)
{
    assert_null(ratelimit_create(-1, 5, 64));
    assert_null(ratelimit_create(10, 0, 64));
    assert_null(ratelimit_create(10, -3, 64));
    assert_null(ratelimit_create(10, 5, 0));
    assert_null(ratelimit_create(2000000, 5, 64));
    assert_null(ratelimit_create(10, 2000000, 64));
    ratelimit_destroy(NULL);
    assert_true(ratelimit_allow(NULL, NULL, 0));
    assert_int_equal(ratelimit_refused(NULL), 0);
}

static void test_large_rates(void **state)
{
    /* The largest accepted values keep the integer maths in range. */
    struct ratelimit *rl = ratelimit_create(1000000, 1000000, 16);
    assert_non_null(rl);
    struct sockaddr_storage a = v4("192.0.2.1", 5060);
    assert_int_equal(drain(rl, SA(a), 0), 1000000);
    assert_int_equal(drain(rl, SA(a), 1), 1); /* one microsecond at 1e6/s */
    assert_int_equal(drain(rl, SA(a), UINT64_MAX), 1000000);
    ratelimit_destroy(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refusal),
        cmocka_unit_test(test_refill_is_exact),
        cmocka_unit_test(test_refill_caps_at_burst),
        cmocka_unit_test(test_clock_step_back),
        cmocka_unit_test(test_sources_independent_port_ignored),
        cmocka_unit_test(test_ipv6_keying),
        cmocka_unit_test(test_unknown_family_shares_one_bucket),
        cmocka_unit_test(test_least_recent_is_evicted),
        cmocka_unit_test(test_table_full_eviction),
        cmocka_unit_test(test_recently_seen_survive),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_large_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
