/* The jitter buffer: in-order, reordered, lost, duplicated and flooded streams come out as one
 * frame per tick in timestamp order. Each test packet's bytes are its sequence number, so the
 * frames that come out say which packet they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "media/jitter.h"

#define TS0 123456789u
#define SEQ0 65530u /* wraps during every test */

static void put_packet(struct jitter *j, unsigned k, size_t frames)
{
    uint8_t payload[JITTER_MAX_PAYLOAD];
    memset(payload, (int)(k & 0xff), frames * JITTER_FRAME);
    jitter_put(j, TS0 + k * JITTER_FRAME, (uint16_t)(SEQ0 + k), payload, frames * JITTER_FRAME);
}

/* Runs ticks: before each, the packets of arrive[t] (a list ending in -1) are put; records the
 * frame id each tick (-1: nothing due). */
static int run(struct jitter *j, const int arrive[][4], int ticks, int *out)
{
    int got = 0;
    for (int t = 0; t < ticks; t++) {
        for (int i = 0; arrive[t][i] >= 0; i++)
            put_packet(j, (unsigned)arrive[t][i], 1);
        uint8_t frame[JITTER_FRAME];
        if (jitter_get(j, frame) == JITTER_FRAME) {
            for (int i = 1; i < JITTER_FRAME; i++)
                assert_int_equal(frame[i], frame[0]); /* one packet per frame, whole */
            out[t] = frame[0];
            got++;
        } else {
            out[t] = -1;
        }
    }
    return got;
}

/* The frames that came out are increasing (no packet twice, none out of order). */
static void assert_in_order(const int *out, int n)
{
    int last = -1;
    for (int t = 0; t < n; t++) {
        if (out[t] < 0)
            continue;
        assert_true(out[t] > last);
        last = out[t];
    }
}

static void test_in_order(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    assert_non_null(j);
    int arrive[100][4], out[100];
    for (int t = 0; t < 100; t++) {
        arrive[t][0] = t;
        arrive[t][1] = -1;
    }
    int got = run(j, arrive, 100, out);
    assert_in_order(out, 100);
    assert_true(got >= 95); /* a short start-up, then every tick */
    for (int t = 10; t < 100; t++)
        assert_true(out[t] >= 0);
    jitter_free(j);
}

static void test_reordered(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    int arrive[100][4], out[100];
    for (int t = 0; t < 100; t++) { /* pairs swapped: 1 0 3 2 5 4 ... */
        arrive[t][0] = t % 2 ? t - 1 : t + 1;
        arrive[t][1] = -1;
    }
    int got = run(j, arrive, 100, out);
    assert_in_order(out, 100);
    assert_true(got >= 90);
    jitter_free(j);
}

static void test_lost_and_duplicated(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    int arrive[100][4], out[100];
    for (int t = 0; t < 100; t++) {
        arrive[t][0] = t;
        arrive[t][1] = t == 30 ? 29 : -1; /* 29 twice */
        arrive[t][2] = -1;
        if (t == 50)
            arrive[t][0] = -1; /* 50 lost */
    }
    run(j, arrive, 100, out);
    assert_in_order(out, 100);
    int seen50 = 0, gaps_after_start = 0;
    for (int t = 0; t < 100; t++) {
        seen50 += out[t] == 50;
        gaps_after_start += t > 40 && t < 95 && out[t] < 0;
    }
    assert_int_equal(seen50, 0);
    assert_true(gaps_after_start >= 1); /* the lost frame is reported, to be concealed */
    struct jitter_stats st;
    jitter_get_stats(j, &st);
    assert_true(st.missing >= 1);
    jitter_free(j);
}

static void test_flood_is_bounded(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    for (unsigned k = 0; k < 500; k++)
        put_packet(j, k, 1);
    struct jitter_stats st;
    jitter_get_stats(j, &st);
    assert_true(st.dropped_full >= 500 - JITTER_SLOTS);
    uint8_t frame[JITTER_FRAME];
    for (int t = 0; t < 100; t++)
        jitter_get(j, frame); /* still works, and frees what it hands out */
    put_packet(j, 1000, 1);
    jitter_get_stats(j, &st);
    assert_int_equal(st.put, JITTER_SLOTS + 1);
    jitter_free(j); /* ASan: nothing leaked, nothing freed twice */
}

/* speexdsp neither keeps nor hands back a packet far behind its playout point (it does not
 * call the destroy callback for it): such packets must not eat the slots, or the stream goes
 * silent for good once there have been JITTER_SLOTS of them (a late duplicate now and then,
 * rare enough that the buffer does not grow its delay for them). */
static void test_hopelessly_late_packets_free_their_slots(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    uint8_t frame[JITTER_FRAME];
    const unsigned ticks = 40 * (2 * JITTER_SLOTS + 1);
    int got_at_end = 0;
    for (unsigned k = 0; k < ticks; k++) {
        put_packet(j, k, 1);
        if (k % 40 == 39)
            put_packet(j, k - 20, 1); /* a duplicate 400 ms late */
        if (jitter_get(j, frame) == JITTER_FRAME && k >= ticks - 50)
            got_at_end++;
    }
    assert_true(got_at_end >= 45);
    struct jitter_stats st;
    jitter_get_stats(j, &st);
    assert_int_equal(st.dropped_full, 0);
    jitter_free(j);
}

static void test_bad_sizes_dropped(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    uint8_t big[JITTER_MAX_PAYLOAD + 1] = { 0 };
    jitter_put(j, TS0, 1, big, sizeof big);
    jitter_put(j, TS0, 1, big, 0);
    struct jitter_stats st;
    jitter_get_stats(j, &st);
    assert_int_equal(st.dropped_size, 2);
    assert_int_equal(st.put, 0);
    jitter_free(j);
}

static void test_40ms_packets(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    int frames_seen = 0, last = -1;
    for (int t = 0; t < 100; t++) {
        if (t % 2 == 0)
            put_packet(j, (unsigned)t, 2); /* one packet every other tick, 2 frames long */
        uint8_t frame[JITTER_FRAME];
        if (jitter_get(j, frame) == JITTER_FRAME) {
            assert_true(frame[0] >= last);
            last = frame[0];
            frames_seen++;
        }
    }
    assert_true(frames_seen >= 85);
    jitter_free(j);
}

static void test_reset(void **state)
{
    (void)state;
    struct jitter *j = jitter_new();
    for (unsigned k = 0; k < 10; k++)
        put_packet(j, k, 1);
    jitter_reset(j);
    /* A restarted stream (new timestamps) plays from its own start. */
    uint8_t payload[JITTER_FRAME], frame[JITTER_FRAME];
    int got = 0;
    for (int t = 0; t < 50; t++) {
        memset(payload, 200, sizeof payload);
        jitter_put(j, 5000u + (uint32_t)t * JITTER_FRAME, (uint16_t)(7 + t), payload, sizeof payload);
        if (jitter_get(j, frame) == JITTER_FRAME) {
            assert_int_equal(frame[0], 200);
            got++;
        }
    }
    assert_true(got >= 40);
    jitter_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_lost_and_duplicated),
        cmocka_unit_test(test_flood_is_bounded),
        cmocka_unit_test(test_hopelessly_late_packets_free_their_slots),
        cmocka_unit_test(test_bad_sizes_dropped),
        cmocka_unit_test(test_40ms_packets),
        cmocka_unit_test(test_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
