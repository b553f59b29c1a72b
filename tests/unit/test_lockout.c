/* lockout: five failures within the window lock an address for the lock time, four do not,
 * failures that fell out of the (sliding) window do not count, the lock ends, other addresses
 * and an IPv6 /64 are keyed as the rate limiter's are, and a flood of other sources cannot
 * evict a locked address from a full table. The clock is a parameter: nothing here sleeps. */
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

#include "sip/lockout.h"

#define SEC 1000000ull
#define WINDOW (60 * SEC)
#define LOCK (600 * SEC)

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    }
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void test_five_within_window_lock(void **state)
{
    struct lockout *lo = lockout_create(64, 5, WINDOW, LOCK);
    struct sockaddr_storage a = addr("192.0.2.1"), b = addr("192.0.2.2");
    uint64_t t = 1000 * SEC;
    for (int i = 0; i < 4; i++)
        assert_false(lockout_fail(lo, SA(a), t + (uint64_t)i * 10 * SEC));
    assert_false(lockout_locked(lo, SA(a), t + 40 * SEC));
    assert_true(lockout_fail(lo, SA(a), t + 59 * SEC));
    assert_true(lockout_locked(lo, SA(a), t + 59 * SEC));
    assert_false(lockout_locked(lo, SA(b), t + 59 * SEC));
    assert_true(lockout_locked(lo, SA(a), t + 59 * SEC + LOCK - 1));
    assert_false(lockout_locked(lo, SA(a), t + 59 * SEC + LOCK));
    /* counting starts afresh after the lock */
    assert_false(lockout_fail(lo, SA(a), t + 59 * SEC + LOCK + 1));
    lockout_destroy(lo);
}

static void test_sliding_window(void **state)
{
    struct lockout *lo = lockout_create(64, 5, WINDOW, LOCK);
    struct sockaddr_storage a = addr("192.0.2.1");
    uint64_t t = 1000 * SEC;
    /* one failure every 20 s: never five within 60 s */
    for (int i = 0; i < 20; i++)
        assert_false(lockout_fail(lo, SA(a), t + (uint64_t)i * 20 * SEC));
    assert_false(lockout_locked(lo, SA(a), t + 400 * SEC));
    /* four quick ones after an old one: the old one no longer counts */
    t += 1000 * SEC;
    assert_false(lockout_fail(lo, SA(a), t));
    for (int i = 1; i <= 4; i++)
        assert_false(lockout_fail(lo, SA(a), t + WINDOW + (uint64_t)i * SEC));
    assert_true(lockout_fail(lo, SA(a), t + WINDOW + 5 * SEC));
    lockout_destroy(lo);
}

static void test_ipv6_prefix_is_one_source(void **state)
{
    struct lockout *lo = lockout_create(64, 2, WINDOW, LOCK);
    struct sockaddr_storage x = addr("2001:db8:1:2::1"), y = addr("2001:db8:1:2::ffff");
    struct sockaddr_storage z = addr("2001:db8:1:3::1");
    assert_false(lockout_fail(lo, SA(x), SEC));
    assert_true(lockout_fail(lo, SA(y), 2 * SEC));
    assert_true(lockout_locked(lo, SA(x), 3 * SEC));
    assert_false(lockout_locked(lo, SA(z), 3 * SEC));
    lockout_destroy(lo);
}

/* A full table evicts addresses that are not locked first: a flood of failures from spoofed
 * sources neither grows the table nor frees a locked address. */
static void test_flood_keeps_locks(void **state)
{
    struct lockout *lo = lockout_create(8, 2, WINDOW, LOCK);
    struct sockaddr_storage a = addr("198.51.100.7");
    assert_false(lockout_fail(lo, SA(a), SEC));
    assert_true(lockout_fail(lo, SA(a), SEC));
    char ip[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        struct sockaddr_storage s = addr(ip);
        assert_false(lockout_fail(lo, SA(s), 2 * SEC + (uint64_t)i));
    }
    assert_true(lockout_locked(lo, SA(a), 3 * SEC));
    lockout_destroy(lo);
}

static void test_bad_arguments(void **state)
{
    assert_null(lockout_create(0, 5, WINDOW, LOCK));
    assert_null(lockout_create(64, 0, WINDOW, LOCK));
    assert_null(lockout_create(64, LOCKOUT_MAX_FAILURES + 1, WINDOW, LOCK));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_five_within_window_lock),
        cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_ipv6_prefix_is_one_source),
        cmocka_unit_test(test_flood_keeps_locks),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
