/* Concurrency limits: all-or-none tickets, the scope that refused, exact counts under churn from
 * several threads (never above a maximum, back to zero at the end). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "limits/limits.h"

static struct limit_claim claim(const char *number, int nmax, const char *account, int amax,
                                const char *gateway, int gmax)
{
    struct limit_claim c = { 0 };
    c.key[LIMIT_NUMBER] = number;
    c.max[LIMIT_NUMBER] = nmax;
    c.key[LIMIT_ACCOUNT] = account;
    c.max[LIMIT_ACCOUNT] = amax;
    c.key[LIMIT_GATEWAY] = gateway;
    c.max[LIMIT_GATEWAY] = gmax;
    return c;
}

static void test_number_limit_refuses_and_takes_nothing(void **state)
{
    (void)state;
    struct limits *l = limits_create();
    struct limit_claim c = claim("+861012345678", 3, "acme", 10, NULL, 0);
    struct limit_ticket t[4];
    enum limit_scope full = LIMIT_SCOPES;
    for (int i = 0; i < 3; i++)
        assert_int_equal(limits_acquire(l, &c, &t[i], &full), 0);
    assert_int_equal(limits_acquire(l, &c, &t[3], &full), -1);
    assert_int_equal(full, LIMIT_NUMBER);
    assert_string_equal(limit_reason(full), "number limit");
    assert_false(t[3].taken);
    assert_int_equal(limits_count(l, LIMIT_NUMBER, "+861012345678"), 3);
    assert_int_equal(limits_count(l, LIMIT_ACCOUNT, "acme"), 3); /* the refusal took no account slot */
    limits_release(l, &t[3]);                                    /* not taken: no effect */
    limits_release(l, &t[0]);
    limits_release(l, &t[0]);                                    /* twice: once */
    assert_int_equal(limits_count(l, LIMIT_NUMBER, "+861012345678"), 2);
    assert_int_equal(limits_acquire(l, &c, &t[0], &full), 0);
    for (int i = 0; i < 3; i++)
        limits_release(l, &t[i]);
    assert_int_equal(limits_count(l, LIMIT_NUMBER, "+861012345678"), 0);
    assert_int_equal(limits_count(l, LIMIT_ACCOUNT, "acme"), 0);
    limits_destroy(l);
}

static void test_account_limit_across_numbers(void **state)
{
    (void)state;
    struct limits *l = limits_create();
    struct limit_ticket t[3];
    enum limit_scope full;
    struct limit_claim a = claim("n1", 10, "acme", 2, NULL, 0);
    struct limit_claim b = claim("n2", 10, "acme", 2, NULL, 0);
    struct limit_claim other = claim("n3", 10, "other", 2, NULL, 0);
    assert_int_equal(limits_acquire(l, &a, &t[0], &full), 0);
    assert_int_equal(limits_acquire(l, &b, &t[1], &full), 0);
    assert_int_equal(limits_acquire(l, &b, &t[2], &full), -1);
    assert_int_equal(full, LIMIT_ACCOUNT);
    assert_int_equal(limits_acquire(l, &other, &t[2], &full), 0); /* another account is not affected */
    assert_int_equal(limits_count(l, LIMIT_NUMBER, "n2"), 1);
    for (int i = 0; i < 3; i++)
        limits_release(l, &t[i]);
    limits_destroy(l);
}

static void test_unlimited_is_counted(void **state)
{
    (void)state;
    struct limits *l = limits_create();
    struct limit_claim c = claim(NULL, 0, "acme", 0, "gw1", 0);
    struct limit_ticket t[100];
    enum limit_scope full;
    for (int i = 0; i < 100; i++)
        assert_int_equal(limits_acquire(l, &c, &t[i], &full), 0);
    assert_int_equal(limits_count(l, LIMIT_GATEWAY, "gw1"), 100);
    assert_int_equal(limits_count(l, LIMIT_NUMBER, ""), 0);
    for (int i = 0; i < 100; i++)
        limits_release(l, &t[i]);
    assert_int_equal(limits_count(l, LIMIT_GATEWAY, "gw1"), 0);
    limits_destroy(l);
}

static void test_many_keys(void **state)
{
    (void)state;
    struct limits *l = limits_create();
    static struct limit_ticket t[2000];
    char keys[2000][16];
    enum limit_scope full;
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], sizeof keys[i], "+86%08d", i);
        struct limit_claim c = claim(keys[i], 1, "acme", 0, NULL, 0);
        assert_int_equal(limits_acquire(l, &c, &t[i], &full), 0);
        assert_int_equal(limits_acquire(l, &c, &(struct limit_ticket){ 0 }, &full), -1);
    }
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(limits_count(l, LIMIT_NUMBER, keys[i]), 1);
        limits_release(l, &t[i]);
    }
    assert_int_equal(limits_count(l, LIMIT_ACCOUNT, "acme"), 0);
    limits_destroy(l);
}

/* ---- churn ---- */

#define THREADS 4
#define ROUNDS 20000
#define NMAX 3
#define GMAX 10

static struct limits *churn_l;
static atomic_int up_number, up_gateway, worst_number, worst_gateway;
static atomic_long granted;

static void note_max(atomic_int *worst, int v)
{
    int w = atomic_load(worst);
    while (v > w && !atomic_compare_exchange_weak(worst, &w, v))
        ;
}

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    struct limit_ticket held[8] = { 0 };
    for (int r = 0; r < ROUNDS; r++) {
        seed = seed * 1103515245u + 12345u;
        int slot = (int)((seed >> 16) % 8);
        if (held[slot].taken) {
            if (held[slot].held[LIMIT_NUMBER])
                atomic_fetch_sub(&up_number, 1);
            atomic_fetch_sub(&up_gateway, 1);
            limits_release(churn_l, &held[slot]);
            continue;
        }
        /* Half the legs use the limited number; all use the gateway. */
        bool on_number = (seed >> 8) & 1;
        struct limit_claim c = claim(on_number ? "+8613800000000" : NULL, NMAX, "acme", 0, "gw", GMAX);
        enum limit_scope full;
        if (limits_acquire(churn_l, &c, &held[slot], &full) == 0) {
            atomic_fetch_add(&granted, 1);
            if (on_number)
                note_max(&worst_number, atomic_fetch_add(&up_number, 1) + 1);
            note_max(&worst_gateway, atomic_fetch_add(&up_gateway, 1) + 1);
        }
    }
    for (int i = 0; i < 8; i++) {
        if (held[i].taken) {
            if (held[i].held[LIMIT_NUMBER])
                atomic_fetch_sub(&up_number, 1);
            atomic_fetch_sub(&up_gateway, 1);
            limits_release(churn_l, &held[i]);
        }
    }
    return NULL;
}

static void test_exact_under_churn(void **state)
{
    (void)state;
    churn_l = limits_create();
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    /* Counted up after each grant and down before each release, the test's counters never
     * exceed what the limiter holds: a value above a maximum proves it let too many in. */
    assert_true(atomic_load(&worst_number) <= NMAX);
    assert_true(atomic_load(&worst_gateway) <= GMAX);
    assert_true(atomic_load(&granted) > ROUNDS / 4);
    assert_int_equal(limits_count(churn_l, LIMIT_NUMBER, "+8613800000000"), 0);
    assert_int_equal(limits_count(churn_l, LIMIT_GATEWAY, "gw"), 0);
    assert_int_equal(limits_count(churn_l, LIMIT_ACCOUNT, "acme"), 0);
    limits_destroy(churn_l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_limit_refuses_and_takes_nothing),
        cmocka_unit_test(test_account_limit_across_numbers),
        cmocka_unit_test(test_unlimited_is_counted),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_exact_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
