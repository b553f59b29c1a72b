/* Conference rooms without calls: the SPSC ring, joining and leaving (per account, limits),
 * the N-1 mix through the rings across two homes (two workers), mute, kick, end_on_exit,
 * listing, and a room outliving its home. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tone_level.h"

#include "conference/pcm_ring.h"
#include "conference/room.h"

static void fill_tone(int16_t *x, double freq, double amp)
{
    for (int i = 0; i < CONF_FRAME; i++)
        x[i] = (int16_t)lrint(amp * sin(2.0 * M_PI * freq * i / 8000.0));
}

static void test_ring_order_full_and_skip(void **state)
{
    (void)state;
    struct pcm_ring *r = calloc(1, sizeof *r);
    pcm_ring_init(r);
    int16_t pcm[PCM_RING_SAMPLES], out[PCM_RING_SAMPLES];
    bool voiced;
    assert_false(pcm_ring_pop(r, out, &voiced, 0));
    for (int i = 0; i < PCM_RING_SLOTS; i++) {
        pcm[0] = (int16_t)i;
        assert_true(pcm_ring_push(r, pcm, true));
    }
    pcm[0] = 99;
    assert_false(pcm_ring_push(r, pcm, true)); /* full: the new frame is dropped */
    assert_int_equal(pcm_ring_count(r), PCM_RING_SLOTS);
    assert_true(pcm_ring_pop(r, out, &voiced, 0));
    assert_true(voiced);
    assert_int_equal(out[0], 0);
    /* keep 2: the oldest waiting are skipped, the latency stays two frames */
    assert_true(pcm_ring_pop(r, out, &voiced, 2));
    assert_int_equal(out[0], PCM_RING_SLOTS - 2);
    assert_int_equal(pcm_ring_count(r), 1);
    assert_true(pcm_ring_push(r, NULL, true)); /* NULL: an unvoiced frame */
    assert_true(pcm_ring_pop(r, out, &voiced, 0));
    assert_int_equal(out[0], PCM_RING_SLOTS - 1);
    assert_true(pcm_ring_pop(r, out, &voiced, 0));
    assert_false(voiced);
    /* the counters wrap around the slots many times */
    for (int i = 0; i < 1000; i++) {
        pcm[0] = (int16_t)i;
        assert_true(pcm_ring_push(r, pcm, true));
        assert_true(pcm_ring_pop(r, out, &voiced, 0));
        assert_int_equal(out[0], i);
    }
    free(r);
}

static struct conf_member *join(struct conf_home *h, const char *account, const char *room,
                                const char *id, bool muted, bool moderator, bool end_on_exit,
                                int max)
{
    struct conf_join_opts o = { .account = account, .room = room, .call_id = id, .from = "100",
                                .muted = muted, .moderator = moderator,
                                .end_on_exit = end_on_exit, .beep = false, .max_members = max };
    enum conf_join_result res;
    struct conf_member *m = conf_join(h, &o, &res, NULL, NULL);
    assert_true(m != NULL);
    assert_int_equal(res, CONF_JOINED);
    return m;
}

/* One round: each member says its tone, the homes mix, each hears; twice so that the frames
 * said in the first round come back in the second whatever the order. */
static void round_trip(struct conf_home **homes, int nh, struct conf_member **ms,
                       const double *freqs, int n, int16_t heard[][CONF_FRAME])
{
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < n; i++) {
            int16_t said[CONF_FRAME];
            fill_tone(said, freqs[i], 4000);
            conf_member_exchange(ms[i], said, heard[i]);
        }
        for (int h = 0; h < nh; h++)
            conf_home_tick(homes[h]);
    }
    for (int i = 0; i < n; i++) {
        int16_t said[CONF_FRAME];
        fill_tone(said, freqs[i], 4000);
        conf_member_exchange(ms[i], said, heard[i]);
    }
}

static void test_each_hears_the_others_across_homes(void **state)
{
    (void)state;
    struct conf_home *homes[2] = { conf_home_new(0), conf_home_new(1) };
    int home = -1, n = 0;
    struct conf_join_opts o = { .account = "acme", .room = "sales", .call_id = "a", .from = "1" };
    enum conf_join_result res;
    struct conf_member *ms[3];
    ms[0] = conf_join(homes[0], &o, &res, &home, &n);
    assert_int_equal(home, 0);
    assert_int_equal(n, 1);
    o.call_id = "b";
    ms[1] = conf_join(homes[1], &o, &res, &home, &n); /* another worker: the room stays on 0 */
    assert_int_equal(home, 0);
    assert_int_equal(n, 2);
    o.call_id = "c";
    ms[2] = conf_join(homes[1], &o, &res, &home, &n);
    assert_int_equal(n, 3);
    const double freqs[3] = { 500, 1000, 1500 };
    int16_t heard[3][CONF_FRAME];
    round_trip(homes, 2, ms, freqs, 3, heard);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double lv = tone_level(heard[i], CONF_FRAME, freqs[j]);
            if (i == j)
                assert_true(lv < 100);
            else
                assert_true(lv > 3000);
        }

    /* muted: the others stop hearing b */
    conf_member_mute(ms[1], true);
    round_trip(homes, 2, ms, freqs, 3, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1000) < 100);
    assert_true(tone_level(heard[2], CONF_FRAME, 1000) < 100);
    assert_true(tone_level(heard[1], CONF_FRAME, 500) > 3000);
    conf_member_mute(ms[1], false);
    round_trip(homes, 2, ms, freqs, 3, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1000) > 3000);

    /* a member that left is no longer heard */
    conf_leave(ms[2]);
    round_trip(homes, 2, ms, freqs, 2, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1500) < 100);
    assert_true(tone_level(heard[0], CONF_FRAME, 1000) > 3000);
    assert_true(tone_level(heard[1], CONF_FRAME, 500) > 3000);
    conf_leave(ms[0]);
    conf_leave(ms[1]);
    conf_home_tick(homes[0]); /* drops the dead room */
    conf_home_free(homes[0]);
    conf_home_free(homes[1]);
}

static void test_rooms_are_per_account_and_listed(void **state)
{
    (void)state;
    struct conf_home *h = conf_home_new(0);
    struct conf_member *a = join(h, "acme", "sales", "a1", false, true, false, 0);
    struct conf_member *b = join(h, "beta", "sales", "b1", true, false, false, 0);
    int n;
    struct conf_member_info *list = conf_list("acme", "sales", &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].call_id, "a1");
    assert_true(list[0].moderator);
    assert_false(list[0].muted);
    assert_true(list[0].joined_ms > 0);
    free(list);
    list = conf_list("beta", "sales", &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].call_id, "b1");
    assert_true(list[0].muted);
    free(list);
    assert_null(conf_list("gamma", "sales", &n));
    assert_int_equal(n, 0);
    /* the two rooms do not hear each other */
    struct conf_home *homes[1] = { h };
    struct conf_member *ma[1] = { a };
    const double fa[1] = { 500 };
    int16_t heard[1][CONF_FRAME];
    round_trip(homes, 1, ma, fa, 1, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 500) < 100);
    /* kick only within the account */
    assert_int_equal(conf_kick("acme", "sales", "b1"), -1);
    assert_int_equal(conf_kick("beta", "sales", "b1"), 0);
    assert_int_equal(conf_member_state(b), CONF_KICKED);
    assert_int_equal(conf_member_state(a), CONF_IN);
    assert_int_equal(conf_kick("beta", "sales", "b1"), -1); /* already on its way out */
    conf_leave(b);
    conf_leave(a);
    conf_home_free(h); /* without a tick: the dead rooms go with it */
}

static void test_limit_and_end_on_exit(void **state)
{
    (void)state;
    struct conf_home *h = conf_home_new(0);
    struct conf_member *mod = join(h, "acme", "r", "m", false, true, true, 2);
    struct conf_member *x = join(h, "acme", "r", "x", false, false, false, 0);
    struct conf_join_opts o = { .account = "acme", .room = "r", .call_id = "y" };
    enum conf_join_result res;
    assert_null(conf_join(h, &o, &res, NULL, NULL));
    assert_int_equal(res, CONF_FULL);
    conf_leave(mod); /* a moderator with end_on_exit: everyone leaves */
    assert_int_equal(conf_member_state(x), CONF_CLOSED);
    conf_leave(x);
    /* the room is gone: a new one with the same name starts empty and without the limit */
    struct conf_member *p = join(h, "acme", "r", "p", false, false, false, 0);
    struct conf_member *q = join(h, "acme", "r", "q", false, false, false, 0);
    struct conf_member *s = join(h, "acme", "r", "s", false, false, false, 0);
    int n;
    free(conf_list("acme", "r", &n));
    assert_int_equal(n, 3);
    conf_leave(p);
    conf_leave(q);
    conf_leave(s);
    conf_home_tick(h);
    conf_home_free(h);
}

/* The worker that mixed a room stops while members on another worker stay: the next joiner's
 * worker adopts it and mixes again. */
static void test_room_outlives_its_home(void **state)
{
    (void)state;
    struct conf_home *h0 = conf_home_new(0), *h1 = conf_home_new(1);
    struct conf_member *a = join(h0, "acme", "r", "a", false, false, false, 0);
    struct conf_member *b = join(h1, "acme", "r", "b", false, false, false, 0);
    conf_home_free(h0);
    int home = -1;
    struct conf_join_opts o = { .account = "acme", .room = "r", .call_id = "c" };
    enum conf_join_result res;
    struct conf_member *c = conf_join(h1, &o, &res, &home, NULL);
    assert_non_null(c);
    assert_int_equal(home, 1);
    struct conf_home *homes[1] = { h1 };
    struct conf_member *ms[2] = { b, c };
    const double f[2] = { 500, 1500 };
    int16_t heard[2][CONF_FRAME];
    round_trip(homes, 1, ms, f, 2, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1500) > 3000);
    conf_leave(a);
    conf_leave(b);
    conf_leave(c);
    conf_home_free(h1);
}

/* beep = true: a join and a leave put 250 ms of 1000 Hz into everyone's mix. */
static void test_beep_on_join_and_leave(void **state)
{
    (void)state;
    struct conf_home *h = conf_home_new(0);
    struct conf_member *a = join(h, "acme", "b", "a", false, false, false, 0);
    struct conf_join_opts o = { .account = "acme", .room = "b", .call_id = "x", .beep = true };
    enum conf_join_result res;
    struct conf_member *x = conf_join(h, &o, &res, NULL, NULL);
    assert_non_null(x);
    struct conf_home *homes[1] = { h };
    struct conf_member *ms[1] = { a };
    const double f[1] = { 500 };
    int16_t heard[1][CONF_FRAME];
    round_trip(homes, 1, ms, f, 1, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1000) > 1000);
    for (int i = 0; i < 20; i++) /* 40 ticks, 800 ms: the 250 ms beep is over */
        round_trip(homes, 1, ms, f, 1, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1000) < 100);
    conf_leave(x);
    round_trip(homes, 1, ms, f, 1, heard);
    assert_true(tone_level(heard[0], CONF_FRAME, 1000) > 1000);
    conf_leave(a);
    conf_home_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_order_full_and_skip),
        cmocka_unit_test(test_each_hears_the_others_across_homes),
        cmocka_unit_test(test_rooms_are_per_account_and_listed),
        cmocka_unit_test(test_limit_and_end_on_exit),
        cmocka_unit_test(test_room_outlives_its_home),
        cmocka_unit_test(test_beep_on_join_and_leave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
