/* say_number / say_digits (SPEC 5.1): the prompt lists for English and Chinese, their Hanzi
 * reading (say_hanzi, shared with TTS), errors, and that every prompt the functions can name
 * has its text file in sounds/ with the words the table promises.
 * The sounds folder is $VCS_TOP_SRCDIR/sounds (set by make check), else ./sounds. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media/say.h"

/* The names joined by spaces, or "error N". */
static const char *joined(int count, const char **names)
{
    static char buf[2048];
    if (count < 0) {
        snprintf(buf, sizeof buf, "error %d", count);
        return buf;
    }
    buf[0] = '\0';
    for (int i = 0; i < count; i++) {
        if (i)
            strcat(buf, " ");
        strcat(buf, names[i]);
    }
    return buf;
}

static void expect_number(long long n, const char *lang, const char *want)
{
    const char *names[SAY_MAX_NAMES];
    int k = say_number(n, lang, names, SAY_MAX_NAMES);
    const char *got = joined(k, names);
    if (strcmp(got, want) != 0)
        fail_msg("say_number(%lld, %s) = \"%s\", want \"%s\"", n, lang, got, want);
}

static void expect_hanzi(long long n, const char *want)
{
    char buf[128];
    int len = say_hanzi(n, buf, sizeof buf);
    if (len < 0 || strcmp(buf, want) != 0)
        fail_msg("say_hanzi(%lld) = \"%s\" (%d), want \"%s\"", n, len < 0 ? "" : buf, len, want);
    assert_int_equal((size_t)len, strlen(want));
}

static void test_english_numbers(void **state)
{
    (void)state;
    expect_number(0, "en", "en/0");
    expect_number(7, "en", "en/7");
    expect_number(10, "en", "en/10");
    expect_number(11, "en", "en/11");
    expect_number(15, "en", "en/15");
    expect_number(19, "en", "en/19");
    expect_number(20, "en", "en/20");
    expect_number(21, "en", "en/20 en/1");
    expect_number(99, "en", "en/90 en/9");
    expect_number(100, "en", "en/1 en/hundred");
    expect_number(101, "en", "en/1 en/hundred en/1");
    expect_number(110, "en", "en/1 en/hundred en/10");
    expect_number(999, "en", "en/9 en/hundred en/90 en/9");
    expect_number(1000, "en", "en/1 en/thousand");
    expect_number(1001, "en", "en/1 en/thousand en/1");
    expect_number(1024, "en", "en/1 en/thousand en/20 en/4");
    expect_number(2005, "en", "en/2 en/thousand en/5");
    expect_number(10086, "en", "en/10 en/thousand en/80 en/6");
    expect_number(100000, "en", "en/1 en/hundred en/thousand");
    expect_number(1000000, "en", "en/1 en/million");
    expect_number(1000001, "en", "en/1 en/million en/1");
    expect_number(1000000000, "en", "en/1 en/billion");
    expect_number(2000000300, "en", "en/2 en/billion en/3 en/hundred");
    expect_number(-5, "en", "en/minus en/5");
    expect_number(-1024, "en", "en/minus en/1 en/thousand en/20 en/4");
    expect_number(LLONG_MAX, "en",
                  "en/9 en/quintillion en/2 en/hundred en/20 en/3 en/quadrillion en/3 "
                  "en/hundred en/70 en/2 en/trillion en/30 en/6 en/billion en/8 en/hundred "
                  "en/50 en/4 en/million en/7 en/hundred en/70 en/5 en/thousand en/8 "
                  "en/hundred en/7");
    expect_number(LLONG_MIN, "en",
                  "en/minus en/9 en/quintillion en/2 en/hundred en/20 en/3 en/quadrillion en/3 "
                  "en/hundred en/70 en/2 en/trillion en/30 en/6 en/billion en/8 en/hundred "
                  "en/50 en/4 en/million en/7 en/hundred en/70 en/5 en/thousand en/8 "
                  "en/hundred en/8");
}

static void test_chinese_numbers(void **state)
{
    (void)state;
    expect_number(0, "zh", "zh/0");
    expect_number(7, "zh", "zh/7");
    expect_number(10, "zh", "zh/10");
    expect_number(11, "zh", "zh/10 zh/1");
    expect_number(15, "zh", "zh/10 zh/5");
    expect_number(20, "zh", "zh/2 zh/10");
    expect_number(21, "zh", "zh/2 zh/10 zh/1");
    expect_number(99, "zh", "zh/9 zh/10 zh/9");
    expect_number(100, "zh", "zh/1 zh/100");
    expect_number(101, "zh", "zh/1 zh/100 zh/0 zh/1");
    expect_number(110, "zh", "zh/1 zh/100 zh/1 zh/10");
    expect_number(1000, "zh", "zh/1 zh/1000");
    expect_number(1001, "zh", "zh/1 zh/1000 zh/0 zh/1");
    expect_number(1024, "zh", "zh/1 zh/1000 zh/0 zh/2 zh/10 zh/4");
    expect_number(2005, "zh", "zh/liang zh/1000 zh/0 zh/5");
    expect_number(10086, "zh", "zh/1 zh/10000 zh/0 zh/8 zh/10 zh/6");
    expect_number(100000, "zh", "zh/10 zh/10000");
    expect_number(1000000, "zh", "zh/1 zh/100 zh/10000");
    expect_number(-5, "zh", "zh/minus zh/5");
    expect_number(200000000, "zh", "zh/liang zh/100000000");
}

/* The Hanzi reading, which is what the Chinese prompt list spells. */
static void test_hanzi(void **state)
{
    (void)state;
    expect_hanzi(0, "零");
    expect_hanzi(2, "二");
    expect_hanzi(7, "七");
    expect_hanzi(10, "十");
    expect_hanzi(11, "十一");
    expect_hanzi(15, "十五");
    expect_hanzi(20, "二十");
    expect_hanzi(21, "二十一");
    expect_hanzi(99, "九十九");
    expect_hanzi(100, "一百");
    expect_hanzi(101, "一百零一");
    expect_hanzi(110, "一百一十");
    expect_hanzi(200, "二百");
    expect_hanzi(1000, "一千");
    expect_hanzi(1001, "一千零一");
    expect_hanzi(1010, "一千零一十");
    expect_hanzi(1024, "一千零二十四");
    expect_hanzi(2005, "两千零五");
    expect_hanzi(2222, "两千二百二十二");
    expect_hanzi(10000, "一万");
    expect_hanzi(10086, "一万零八十六");
    expect_hanzi(12000, "一万两千");
    expect_hanzi(20000, "两万");
    expect_hanzi(22222, "两万两千二百二十二");
    expect_hanzi(100000, "十万");
    expect_hanzi(100010, "十万零一十");
    expect_hanzi(120000, "十二万");
    expect_hanzi(1000000, "一百万");
    expect_hanzi(10001000, "一千万一千");
    expect_hanzi(10000001, "一千万零一");
    expect_hanzi(100000000, "一亿");
    expect_hanzi(100001000, "一亿零一千");
    expect_hanzi(100100000, "一亿零一十万");
    expect_hanzi(110000000, "一亿一千万");
    expect_hanzi(123456789, "一亿两千三百四十五万六千七百八十九");
    expect_hanzi(200000000, "两亿");
    expect_hanzi(1000000000000LL, "一万亿");
    expect_hanzi(10000000000000000LL, "一亿亿");
    expect_hanzi(-5, "负五");
    expect_hanzi(-10, "负十");
    expect_hanzi(LLONG_MAX,
                 "九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零七");
    expect_hanzi(LLONG_MIN,
                 "负九百二十二亿三千三百七十二万零三百六十八亿五千四百七十七万五千八百零八");
    char small[4];
    assert_int_equal(say_hanzi(1024, small, sizeof small), -1);
}

static void test_digits(void **state)
{
    (void)state;
    const char *names[SAY_MAX_NAMES];
    int k = say_digits("0123456789*#", "en", names, SAY_MAX_NAMES);
    assert_string_equal(joined(k, names),
                        "en/0 en/1 en/2 en/3 en/4 en/5 en/6 en/7 en/8 en/9 en/star en/pound");
    k = say_digits("10086#", "zh", names, SAY_MAX_NAMES);
    assert_string_equal(joined(k, names), "zh/1 zh/0 zh/0 zh/8 zh/6 zh/pound");
    k = say_digits("*", "zh", names, SAY_MAX_NAMES);
    assert_string_equal(joined(k, names), "zh/star");
    assert_int_equal(say_digits("", "en", names, SAY_MAX_NAMES), 0);
}

static void test_errors(void **state)
{
    (void)state;
    const char *names[SAY_MAX_NAMES];
    assert_int_equal(say_number(5, "fr", names, SAY_MAX_NAMES), SAY_ELANG);
    assert_int_equal(say_number(5, NULL, names, SAY_MAX_NAMES), SAY_ELANG);
    assert_int_equal(say_digits("12", "de", names, SAY_MAX_NAMES), SAY_ELANG);
    assert_int_equal(say_digits("12a", "en", names, SAY_MAX_NAMES), SAY_EDIGIT);
    assert_int_equal(say_digits("1 2", "zh", names, SAY_MAX_NAMES), SAY_EDIGIT);
    assert_int_equal(say_digits("-1", "en", names, SAY_MAX_NAMES), SAY_EDIGIT);
    assert_int_equal(say_digits(NULL, "en", names, SAY_MAX_NAMES), SAY_EDIGIT);
    /* "one thousand twenty four" needs 4 names: 3 is too few, exactly 4 is enough. */
    assert_int_equal(say_number(1024, "en", names, 3), SAY_ESPACE);
    assert_int_equal(say_number(1024, "en", names, 4), 4);
    assert_int_equal(say_digits("123", "zh", names, 2), SAY_ESPACE);
    assert_int_equal(say_number(1, "en", NULL, 5), SAY_ESPACE);
    assert_string_equal(say_strerror(SAY_ELANG), "unknown language (use \"en\" or \"zh\")");
    assert_string_equal(say_strerror(SAY_EDIGIT), "digits may only be 0-9, * and #");
    assert_string_equal(say_strerror(SAY_ESPACE), "too many words to say");
}

/* Every number a long long can hold fits SAY_MAX_NAMES; the worst cases are the ones with the
 * most non-zero digits. */
static void test_bounds(void **state)
{
    (void)state;
    const long long worst[] = { LLONG_MIN, LLONG_MAX, -777777777777777777LL,
                                -1111111111111111111LL, -999999999999999999LL };
    const char *names[SAY_MAX_NAMES];
    for (size_t i = 0; i < sizeof worst / sizeof worst[0]; i++) {
        assert_true(say_number(worst[i], "en", names, SAY_MAX_NAMES) > 0);
        assert_true(say_number(worst[i], "zh", names, SAY_MAX_NAMES) > 0);
        char buf[128];
        assert_true(say_hanzi(worst[i], buf, sizeof buf) > 0);
    }
}

/* sounds/<name>.txt exists for every name, holding exactly the promised words. */
static void test_prompt_files(void **state)
{
    (void)state;
    const char *top = getenv("VCS_TOP_SRCDIR");
    int count = 0;
    for (const char *name; (name = say_prompt_name(count)) != NULL; count++) {
        char path[512], line[256] = "";
        snprintf(path, sizeof path, "%s/sounds/%s.txt", top ? top : ".", name);
        FILE *f = fopen(path, "r");
        if (!f)
            fail_msg("missing prompt text %s", path);
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
        const char *want = say_prompt_text(name);
        assert_non_null(want);
        if (strcmp(line, want) != 0)
            fail_msg("%s holds \"%s\", want \"%s\"", path, line, want);
    }
    assert_int_equal(count, 38 + 19);
    assert_null(say_prompt_name(-1));
    assert_null(say_prompt_text("en/eleventy"));
    assert_string_equal(say_prompt_text("zh/liang"), "两");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_english_numbers),
        cmocka_unit_test(test_chinese_numbers),
        cmocka_unit_test(test_hanzi),
        cmocka_unit_test(test_digits),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_prompt_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
