/* Calling windows in the system tz database's zones: a zone without DST (Asia/Shanghai, UTC+8)
 * and one with it (America/New_York, DST 2026-03-08 to 2026-11-01): open and closed instants,
 * the next opening across a weekend and across both DST changes; day and time parsing; zone
 * names the database does not have. Instants are Unix seconds of the UTC times in comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "campaign/tz.h"
#include "campaign/window.h"

static struct tz *zone(const char *name)
{
    char err[128];
    struct tz *z = tz_load(name, err, sizeof err);
    if (!z)
        fail_msg("%s: %s", name, err);
    return z;
}

static void test_shanghai(void **state)
{
    (void)state;
    struct tz *z = zone("Asia/Shanghai");
    struct window w = { z, 0, 9 * 60, 20 * 60 };
    assert_int_equal(window_parse_days("mon-fri", &w.days), 0);
    assert_int_equal(tz_offset(z, 1796346000), 8 * 3600);
    assert_true(window_open(&w, 1796346000));        /* Fri 2026-12-04 01:00Z = 09:00 local */
    assert_false(window_open(&w, 1796345940));       /* 08:59 local */
    assert_int_equal(window_next_open(&w, 1796345940), 1796346000);
    assert_int_equal(window_next_open(&w, 1796346000), 1796346000); /* open: now */
    assert_false(window_open(&w, 1796385600));       /* 20:00 local: the end is exclusive */
    assert_int_equal(window_next_open(&w, 1796385600), 1796605200); /* Mon 2026-12-07 01:00Z */
    tz_free(z);
}

static void test_new_york_dst(void **state)
{
    (void)state;
    struct tz *z = zone("America/New_York");
    struct window w = { z, 0, 9 * 60, 17 * 60 };
    assert_int_equal(window_parse_days("mon-fri", &w.days), 0);
    /* Before DST (EST, UTC-5): Fri 2026-03-06 09:00 local = 14:00Z. */
    assert_int_equal(tz_offset(z, 1772805600), -5 * 3600);
    assert_true(window_open(&w, 1772805600));
    assert_false(window_open(&w, 1772803800));       /* 13:30Z = 08:30 EST */
    /* After Friday's end (22:00Z = 17:00 EST) the next opening is Monday 09:00 EDT = 13:00Z,
     * an hour earlier in UTC than the Friday's. */
    assert_int_equal(window_next_open(&w, 1772834400), 1773061200);
    assert_false(window_open(&w, 1773061140));       /* Mon 12:59Z = 08:59 EDT */
    assert_int_equal(tz_offset(z, 1773061200), -4 * 3600);
    /* And back: from Fri 2026-10-30 22:00Z (18:00 EDT) to Mon 2026-11-02 09:00 EST = 14:00Z. */
    assert_true(window_open(&w, 1793365200));        /* Fri 13:00Z = 09:00 EDT */
    assert_int_equal(window_next_open(&w, 1793397600), 1793628000);
    assert_false(window_open(&w, 1793624400));       /* Mon 13:00Z = 08:00 EST */
    tz_free(z);
}

static void test_never_open(void **state)
{
    (void)state;
    struct tz *z = zone("UTC");
    struct window w = { z, 0, 9 * 60, 17 * 60 };
    assert_int_equal(window_next_open(&w, 1796346000), -1); /* no day */
    w.days = 0x7f;
    w.start_min = w.end_min;
    assert_int_equal(window_next_open(&w, 1796346000), -1); /* empty day */
    tz_free(z);
}

static void test_parse_days(void **state)
{
    (void)state;
    uint8_t m = 0;
    assert_int_equal(window_parse_days("mon-fri", &m), 0);
    assert_int_equal(m, 0x3e);
    assert_int_equal(window_parse_days("mon,wed,sat", &m), 0);
    assert_int_equal(m, 1 << 1 | 1 << 3 | 1 << 6);
    assert_int_equal(window_parse_days("fri-mon", &m), 0);
    assert_int_equal(m, 1 << 5 | 1 << 6 | 1 << 0 | 1 << 1);
    assert_int_equal(window_parse_days("Sun", &m), 0);
    assert_int_equal(m, 1);
    const char *bad[] = { "", "funday", "mon-", "mon,,tue", "mon-fri-sat", "monday", ",mon" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (window_parse_days(bad[i], &m) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
    }
}

static void test_parse_hhmm(void **state)
{
    (void)state;
    unsigned v = 0;
    assert_int_equal(window_parse_hhmm("09:00", &v), 0);
    assert_int_equal(v, 540);
    assert_int_equal(window_parse_hhmm("24:00", &v), 0);
    assert_int_equal(v, 1440);
    const char *bad[] = { "24:01", "9:00", "12:60", "1200", "ab:cd", "", "12:00 " };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (window_parse_hhmm(bad[i], &v) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
    }
}

static void test_zone_names(void **state)
{
    (void)state;
    char err[128];
    const char *bad[] = { "Nowhere/City", "../../etc/passwd", "America", "/etc/passwd",
                          "Asia//Shanghai", "Asia/./Shanghai", "zone.tab", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tz *z = tz_load(bad[i], err, sizeof err);
        if (z)
            fail_msg("\"%s\" loaded", bad[i]);
    }
    const unsigned char junk[] = "TZif2 but nothing after";
    assert_null(tz_parse(junk, sizeof junk, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shanghai),     cmocka_unit_test(test_new_york_dst),
        cmocka_unit_test(test_never_open),   cmocka_unit_test(test_parse_days),
        cmocka_unit_test(test_parse_hhmm),   cmocka_unit_test(test_zone_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
