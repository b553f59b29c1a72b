/* Billing maths: anniversaries in billing.tz (month ends, leap years, local midnight), the
 * period in progress, statement months; prepaid admission, minute reservations and the cost
 * of a leg (rate x started minutes, never more than reserved, the balance never overdrawn). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "billing/calendar.h"
#include "billing/prepaid.h"
#include "core/clock.h"

static int64_t at(const char *iso)
{
    int64_t ms = -1;
    assert_int_equal(iso8601_parse_ms(iso, &ms), 0);
    return ms;
}

static void check_start(int64_t issued, int64_t k, const char *want)
{
    char got[ISO8601_LEN];
    iso8601_ms(cal_period_start(issued, k), got);
    assert_string_equal(got, want);
}

static void test_month_end_anniversaries(void **state)
{
    (void)state;
    /* Issued 2027-01-31 10:00 in Shanghai (UTC+8). */
    int64_t issued = at("2027-01-31T02:00:00.000Z");
    check_start(issued, 0, "2027-01-31T02:00:00.000Z");
    check_start(issued, 1, "2027-02-27T16:00:00.000Z"); /* Feb 28 00:00 local */
    check_start(issued, 2, "2027-03-30T16:00:00.000Z"); /* Mar 31 */
    check_start(issued, 3, "2027-04-29T16:00:00.000Z"); /* Apr 30 */
    check_start(issued, 12, "2028-01-30T16:00:00.000Z");
    check_start(issued, 13, "2028-02-28T16:00:00.000Z"); /* a leap year: Feb 29 */
    /* Issued on the 15th: the same day every month, across the year end. */
    int64_t mid = at("2027-11-15T03:00:00.000Z");
    check_start(mid, 1, "2027-12-14T16:00:00.000Z");
    check_start(mid, 2, "2028-01-14T16:00:00.000Z");
}

static void test_period_at(void **state)
{
    (void)state;
    int64_t issued = at("2027-01-31T02:00:00.000Z");
    assert_int_equal(cal_period_at(issued, issued - 1), -1);
    assert_int_equal(cal_period_at(issued, issued), 0);
    assert_int_equal(cal_period_at(issued, at("2027-02-27T15:59:59.999Z")), 0);
    assert_int_equal(cal_period_at(issued, at("2027-02-27T16:00:00.000Z")), 1);
    assert_int_equal(cal_period_at(issued, at("2027-03-30T15:59:59.999Z")), 1);
    assert_int_equal(cal_period_at(issued, at("2027-03-30T16:00:00.000Z")), 2);
    assert_int_equal(cal_period_at(issued, at("2030-01-31T00:00:00.000Z")), 36);
    /* Issued late on a day that is already the next in Shanghai. */
    int64_t late = at("2027-03-31T17:00:00.000Z"); /* Apr 1 01:00 local */
    assert_int_equal(cal_period_at(late, at("2027-04-30T16:00:00.000Z")), 1);
}

static void test_months(void **state)
{
    (void)state;
    int64_t a, b;
    assert_int_equal(cal_month_parse("2027-02", &a, &b), 0);
    assert_int_equal(a, at("2027-01-31T16:00:00.000Z"));
    assert_int_equal(b, at("2027-02-28T16:00:00.000Z"));
    assert_int_equal(cal_month_parse("2027-12", &a, &b), 0);
    assert_int_equal(b, at("2027-12-31T16:00:00.000Z"));
    const char *bad[] = { "2027-13", "2027-00", "2027-1", "27-01", "2027-01-01", "2027/01",
                          "x", "", "1999-01", NULL };
    for (const char **s = bad; *s; s++)
        assert_int_equal(cal_month_parse(*s, &a, &b), -1);
    assert_int_equal(cal_days_in_month(2028, 2), 29);
    assert_int_equal(cal_days_in_month(2100, 2), 28);
    assert_int_equal(cal_days_in_month(2000, 2), 29);
}

static void test_admission_and_minutes(void **state)
{
    (void)state;
    struct prepaid *p = prepaid_create();
    struct prepaid_leg a, b;
    assert_int_equal(prepaid_admit(p, "nobody", &a), -1); /* unknown: nothing to pay with */
    assert_int_equal(prepaid_set_account(p, "acme", &(struct prepaid_terms){ 50, 20, 0, 0 }), 0);
    assert_int_equal(prepaid_admit(p, "acme", &a), 0);
    assert_int_equal(prepaid_admit(p, "acme", &b), 0);
    int64_t bal, res;
    assert_true(prepaid_get(p, "acme", &bal, &res));
    assert_int_equal(bal, 50);
    assert_int_equal(res, 40);
    /* 10 left: no third leg, no second minute for either. */
    struct prepaid_leg c;
    assert_int_equal(prepaid_admit(p, "acme", &c), -1);
    assert_int_equal(prepaid_minute(p, &a), -1);
    /* b ends unanswered: its reservation comes back, it costs nothing. */
    int64_t minutes;
    assert_int_equal(prepaid_leg_end(p, &b, 0, &minutes), 0);
    assert_int_equal(minutes, 0);
    assert_int_equal(prepaid_minute(p, &a), 0); /* now a's second minute fits */
    assert_int_equal(prepaid_leg_end(p, &a, 61, &minutes), 40);
    assert_int_equal(minutes, 2);
    assert_true(prepaid_get(p, "acme", &bal, &res));
    assert_int_equal(bal, 10); /* 40 unposted */
    assert_int_equal(res, 0);
    assert_int_equal(prepaid_held(p, "acme"), 40);
    prepaid_posted(p, "acme", 40, 10);
    assert_int_equal(prepaid_held(p, "acme"), 0);
    assert_true(prepaid_get(p, "acme", &bal, &res));
    assert_int_equal(bal, 10);
    prepaid_destroy(p);
}

/* SPEC 10: balance.low once per crossing, again only after the balance was back up. */
static void test_low_balance_crossing(void **state)
{
    (void)state;
    struct prepaid *p = prepaid_create();
    int64_t bal, low;
    assert_false(prepaid_low_crossed(p, "acme", &bal, &low)); /* unknown */
    struct prepaid_terms t = { .balance_fen = 100, .rate_fen = 20, .low_balance_fen = 50,
                               .max_calls = 3 };
    assert_int_equal(prepaid_set_account(p, "acme", &t), 0);
    assert_int_equal(prepaid_max_calls(p, "acme"), 3);
    assert_int_equal(prepaid_max_calls(p, "nobody"), 0);
    assert_false(prepaid_low_crossed(p, "acme", &bal, &low)); /* 100: above */
    /* Legs' usage counts while still unposted: 100 - 40 = 60 is above, 60 - 20 below. */
    struct prepaid_leg leg;
    int64_t minutes;
    assert_int_equal(prepaid_admit(p, "acme", &leg), 0);
    assert_int_equal(prepaid_minute(p, &leg), 0);
    assert_int_equal(prepaid_leg_end(p, &leg, 61, &minutes), 40);
    assert_false(prepaid_low_crossed(p, "acme", &bal, &low));
    assert_int_equal(prepaid_admit(p, "acme", &leg), 0);
    assert_int_equal(prepaid_leg_end(p, &leg, 5, &minutes), 20);
    assert_true(prepaid_low_crossed(p, "acme", &bal, &low));
    assert_int_equal(bal, 40);
    assert_int_equal(low, 50);
    prepaid_posted(p, "acme", 60, 40); /* in the ledger now: the same crossing, once */
    assert_false(prepaid_low_crossed(p, "acme", &bal, &low));
    t.balance_fen = 40;
    t.balance_fen = 10; /* lower still: the same crossing */
    prepaid_set_account(p, "acme", &t);
    assert_false(prepaid_low_crossed(p, "acme", &bal, &low));
    t.balance_fen = 50; /* a recharge to the threshold, then rent below it: again */
    prepaid_set_account(p, "acme", &t);
    assert_false(prepaid_low_crossed(p, "acme", &bal, &low));
    t.balance_fen = 49;
    prepaid_set_account(p, "acme", &t);
    assert_true(prepaid_low_crossed(p, "acme", &bal, &low));
    assert_int_equal(bal, 49);
    /* An account already low when first recorded has not crossed. */
    t.balance_fen = 0;
    prepaid_set_account(p, "fresh", &t);
    assert_false(prepaid_low_crossed(p, "fresh", &bal, &low));
    prepaid_destroy(p);
}

static void test_cost_is_started_minutes(void **state)
{
    (void)state;
    struct prepaid *p = prepaid_create();
    prepaid_set_account(p, "acme", &(struct prepaid_terms){ 100000, 20, 0, 0 });
    const struct { int64_t billsec, minutes; } cases[] = {
        { 1, 1 }, { 59, 1 }, { 60, 1 }, { 61, 2 }, { 120, 2 }, { 121, 3 }, { 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct prepaid_leg leg;
        assert_int_equal(prepaid_admit(p, "acme", &leg), 0);
        for (int64_t m = 1; m < cases[i].minutes; m++)
            assert_int_equal(prepaid_minute(p, &leg), 0);
        int64_t minutes;
        assert_int_equal(prepaid_leg_end(p, &leg, cases[i].billsec, &minutes),
                         20 * cases[i].minutes);
        assert_int_equal(minutes, cases[i].minutes);
    }
    /* A second past the last reserved minute is not charged beyond the reservation. */
    struct prepaid_leg leg;
    assert_int_equal(prepaid_admit(p, "acme", &leg), 0);
    int64_t minutes;
    assert_int_equal(prepaid_leg_end(p, &leg, 61, &minutes), 20);
    assert_int_equal(minutes, 1);
    prepaid_destroy(p);
}

int main(void)
{
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_month_end_anniversaries),
        cmocka_unit_test(test_period_at),
        cmocka_unit_test(test_months),
        cmocka_unit_test(test_admission_and_minutes),
        cmocka_unit_test(test_low_balance_crossing),
        cmocka_unit_test(test_cost_is_started_minutes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
