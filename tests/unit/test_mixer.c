/* The N-1 mixer: each member hears the others, never itself; silence and muting; saturation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tone_level.h"

#include "media/mixer.h"

static void fill_tone(struct mixer_member *m, double freq, double amp)
{
    for (int i = 0; i < MIXER_FRAME; i++)
        m->in[i] = (int16_t)lrint(amp * sin(2.0 * M_PI * freq * i / 8000.0));
    m->speaking = true;
}

static void test_two_party_is_exact(void **state)
{
    (void)state;
    struct mixer_member a = { 0 }, b = { 0 };
    fill_tone(&a, 400, 6000);
    fill_tone(&b, 1000, 5000);
    struct mixer_member *ms[] = { &a, &b };
    mixer_mix(ms, 2);
    assert_memory_equal(a.out, b.in, sizeof a.out); /* a hears exactly b */
    assert_memory_equal(b.out, a.in, sizeof b.out);
}

static void test_three_hear_the_other_two(void **state)
{
    (void)state;
    const double f[3] = { 400, 1000, 1800 };
    struct mixer_member m[3] = { 0 };
    struct mixer_member *ms[3];
    for (int i = 0; i < 3; i++) {
        fill_tone(&m[i], f[i], 4000);
        ms[i] = &m[i];
    }
    mixer_mix(ms, 3);
    for (int me = 0; me < 3; me++) {
        for (int other = 0; other < 3; other++) {
            double lv = tone_level(m[me].out, MIXER_FRAME, f[other]);
            if (other == me)
                assert_true(lv < 100);              /* not itself */
            else
                assert_true(lv > 3500 && lv < 4500); /* each other member, at its level */
        }
    }
}

static void test_silent_member_hears_all_and_adds_nothing(void **state)
{
    (void)state;
    struct mixer_member a = { 0 }, b = { 0 }, quiet = { 0 };
    fill_tone(&a, 400, 3000);
    fill_tone(&b, 1000, 3000);
    memset(quiet.in, 0x55, sizeof quiet.in); /* garbage left over: must not be mixed */
    quiet.speaking = false;
    struct mixer_member *ms[] = { &a, &b, &quiet };
    mixer_mix(ms, 3);
    assert_memory_equal(a.out, b.in, sizeof a.out);
    assert_memory_equal(b.out, a.in, sizeof b.out);
    for (int i = 0; i < MIXER_FRAME; i++)
        assert_int_equal(quiet.out[i], a.in[i] + b.in[i]);
}

static void test_saturates(void **state)
{
    (void)state;
    struct mixer_member m[4] = { 0 };
    struct mixer_member *ms[4];
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < MIXER_FRAME; i++)
            m[k].in[i] = k == 3 ? INT16_MIN : 30000;
        m[k].speaking = k < 3;
        ms[k] = &m[k];
    }
    mixer_mix(ms, 4);
    for (int i = 0; i < MIXER_FRAME; i++) {
        assert_int_equal(m[0].out[i], INT16_MAX); /* 60000 clipped, not wrapped */
        assert_int_equal(m[3].out[i], INT16_MAX); /* 90000 */
    }
}

static void test_lone_member_hears_silence(void **state)
{
    (void)state;
    struct mixer_member a = { 0 };
    fill_tone(&a, 400, 8000);
    struct mixer_member *ms[] = { &a };
    mixer_mix(ms, 1);
    for (int i = 0; i < MIXER_FRAME; i++)
        assert_int_equal(a.out[i], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_party_is_exact),
        cmocka_unit_test(test_three_hear_the_other_two),
        cmocka_unit_test(test_silent_member_hears_all_and_adds_nothing),
        cmocka_unit_test(test_saturates),
        cmocka_unit_test(test_lone_member_hears_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
