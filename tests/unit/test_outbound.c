/* How an outbound leg goes out: gateway order (priority, weight, down and full left out), the
 * callee's region by longest prefix, and caller ID "auto" (local presence, free channels). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "numbers/caller_id.h"
#include "numbers/regions.h"
#include "trunk/gateway_order.h"

static uint32_t lcg(void *ctx)
{
    uint32_t *s = ctx;
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void test_priority_first_and_unusable_left_out(void **state)
{
    (void)state;
    struct gateway_state gw[] = {
        { .priority = 2, .weight = 1, .up = true },
        { .priority = 1, .weight = 1, .up = true, .calls = 10, .max_channels = 10 }, /* full */
        { .priority = 1, .weight = 1, .up = false },                                  /* down */
        { .priority = 1, .weight = 1, .up = true, .calls = 9, .max_channels = 10 },
        { .priority = 3, .weight = 5, .up = true },
    };
    uint32_t seed = 7;
    int order[GATEWAY_ORDER_MAX];
    size_t n = gateway_order(gw, 5, lcg, &seed, order);
    assert_int_equal(n, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 0);
    assert_int_equal(order[2], 4);
}

static void test_weights_share_first_place(void **state)
{
    (void)state;
    struct gateway_state gw[] = {
        { .priority = 1, .weight = 3, .up = true },
        { .priority = 1, .weight = 1, .up = true },
    };
    uint32_t seed = 12345;
    int first[2] = { 0, 0 };
    for (int i = 0; i < 8000; i++) {
        int order[GATEWAY_ORDER_MAX];
        assert_int_equal(gateway_order(gw, 2, lcg, &seed, order), 2);
        assert_int_not_equal(order[0], order[1]); /* each once */
        first[order[0]]++;
    }
    /* 3:1 expected: 6000 vs 2000, well within +-300 for 8000 draws. */
    assert_in_range(first[0], 5700, 6300);
    assert_in_range(first[1], 1700, 2300);
}

static void test_none_usable(void **state)
{
    (void)state;
    struct gateway_state gw[] = { { .priority = 1, .weight = 1, .up = false } };
    uint32_t seed = 1;
    int order[GATEWAY_ORDER_MAX];
    assert_int_equal(gateway_order(gw, 1, lcg, &seed, order), 0);
    assert_int_equal(gateway_order(gw, 0, lcg, &seed, order), 0);
}

static void test_region_longest_prefix(void **state)
{
    (void)state;
    const struct region_entry e[] = {
        { "861", "china-other" }, { "86139", "shanghai" }, { "8613911", "beijing" },
        { "8610", "beijing" },    { "1380013", "beijing" },
    };
    struct region_table *t = region_table_build(e, 5);
    assert_non_null(t);
    assert_string_equal(region_lookup(t, "+8613911112222"), "beijing");
    assert_string_equal(region_lookup(t, "8613912345678"), "shanghai");
    assert_string_equal(region_lookup(t, "+861012345678"), "beijing");
    assert_string_equal(region_lookup(t, "8615000000000"), "china-other");
    assert_string_equal(region_lookup(t, "13800138000"), "beijing");
    assert_null(region_lookup(t, "4420123456"));
    assert_null(region_lookup(t, ""));
    region_table_free(t);
}

static void test_region_table_refuses_bad_entries(void **state)
{
    (void)state;
    const struct region_entry bad1[] = { { "86a", "x" } };
    const struct region_entry bad2[] = { { "86", "" } };
    const struct region_entry bad3[] = { { "", "x" } };
    assert_null(region_table_build(bad1, 1));
    assert_null(region_table_build(bad2, 1));
    assert_null(region_table_build(bad3, 1));
    struct region_table *empty = region_table_build(NULL, 0);
    assert_non_null(empty);
    assert_null(region_lookup(empty, "861"));
    region_table_free(empty);
}

static void test_caller_id_local_first_then_free(void **state)
{
    (void)state;
    const struct own_number nums[] = {
        { "+862100000001", "shanghai", true, 0, 3 },
        { "+861000000001", "beijing", true, 3, 3 },  /* full */
        { "+861000000002", "beijing", true, 1, 3 },
        { "+861000000003", "beijing", false, 0, 3 }, /* not active */
        { "+861000000004", "beijing", true, 0, 10 },
        { "+862000000001", "guangzhou", true, 2, 3 },
    };
    int order[6];
    size_t n = caller_id_order(nums, 6, "beijing", order);
    assert_int_equal(n, 4);
    assert_int_equal(order[0], 4); /* beijing, 10 free */
    assert_int_equal(order[1], 2); /* beijing, 2 free */
    assert_int_equal(order[2], 0); /* elsewhere, 3 free */
    assert_int_equal(order[3], 5); /* elsewhere, 1 free */
    n = caller_id_order(nums, 6, NULL, order); /* callee region unknown: any with a free channel */
    assert_int_equal(n, 4);
    assert_int_equal(order[0], 4);
}

static void test_caller_id_none_free(void **state)
{
    (void)state;
    const struct own_number nums[] = { { "+861000000001", "beijing", true, 3, 3 } };
    int order[1];
    assert_int_equal(caller_id_order(nums, 1, "beijing", order), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_first_and_unusable_left_out),
        cmocka_unit_test(test_weights_share_first_place),
        cmocka_unit_test(test_none_usable),
        cmocka_unit_test(test_region_longest_prefix),
        cmocka_unit_test(test_region_table_refuses_bad_entries),
        cmocka_unit_test(test_caller_id_local_first_then_free),
        cmocka_unit_test(test_caller_id_none_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
