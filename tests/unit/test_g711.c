/* G.711 encoders checked byte for byte against libsndfile's, over every s16 value; decoders
 * checked for round-trip error bounds, idempotence and the silence bytes.
 *
 * The two libraries agree on mu-law everywhere. For A-law they disagree on 127 negative values:
 * A-law has no zero level, so ITU-T G.191 (and spandsp) map a negative sample x through its
 * one's complement ~x = -x-1, while libsndfile negates (-x). The test pins that difference down
 * exactly instead of hiding it, and checks A-law against a transcription of G.191 as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "media/g711.h"

#define ALL 65536

static int16_t every_s16[ALL];

static void fill_every_s16(void)
{
    for (int i = 0; i < ALL; i++)
        every_s16[i] = (int16_t)(i - 32768);
}

/* Encodes every s16 value with libsndfile into a raw file of the given subformat and reads
 * the bytes back. */
static void sndfile_encode_all(int subformat, uint8_t *out)
{
    char path[] = "/tmp/vcs-test-g711-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);

    SF_INFO info = { .samplerate = 8000, .channels = 1, .format = SF_FORMAT_RAW | subformat };
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    assert_int_equal(sf_write_short(sf, every_s16, ALL), ALL);
    assert_int_equal(sf_close(sf), 0);

    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(out, 1, ALL, fp), ALL);
    assert_int_equal(fgetc(fp), EOF);
    fclose(fp);
    unlink(path);
}

static void test_ulaw_matches_sndfile(void **state)
{
    static uint8_t ours[ALL], theirs[ALL];
    fill_every_s16();
    g711_ulaw_encode(ours, every_s16, ALL);
    sndfile_encode_all(SF_FORMAT_ULAW, theirs);
    for (int i = 0; i < ALL; i++) {
        if (ours[i] != theirs[i])
            fail_msg("mu-law of %d: ours 0x%02x, libsndfile 0x%02x", every_s16[i], ours[i], theirs[i]);
    }
}

static void test_alaw_matches_sndfile(void **state)
{
    static uint8_t ours[ALL], theirs[ALL];
    fill_every_s16();
    g711_alaw_encode(ours, every_s16, ALL);
    sndfile_encode_all(SF_FORMAT_ALAW, theirs);

    int differ = 0;
    for (int i = 0; i < ALL; i++) {
        int x = every_s16[i];
        if (x >= 0 || x == -1) {
            if (ours[i] != theirs[i])
                fail_msg("A-law of %d: ours 0x%02x, libsndfile 0x%02x", x, ours[i], theirs[i]);
        } else {
            /* libsndfile's code for -(x+1) = ~x's magnitude is the one's-complement answer. */
            if (ours[i] != theirs[i + 1])
                fail_msg("A-law of %d: ours 0x%02x, libsndfile(%d) 0x%02x", x, ours[i], x + 1,
                         theirs[i + 1]);
        }
        if (ours[i] != theirs[i]) {
            /* Only at a negative multiple of 16, where -x and ~x fall on two sides of a step. */
            assert_true(x < 0 && x % 16 == 0);
            differ++;
        }
    }
    assert_int_equal(differ, 127);
}

/* ITU-T G.191 A-law compression, restated: 12-bit magnitude (one's complement for negatives),
 * segment found by shifting, even bits toggled. */
static uint8_t g191_alaw(int16_t x)
{
    int mag = x < 0 ? (~x) >> 4 : x >> 4;
    int code = mag;
    if (mag > 15) {
        int seg = 1;
        while (mag > 31) {
            mag >>= 1;
            seg++;
        }
        code = (seg << 4) | (mag - 16);
    }
    if (x >= 0)
        code |= 0x80;
    return (uint8_t)(code ^ 0x55);
}

static void test_alaw_matches_g191(void **state)
{
    static uint8_t ours[ALL];
    fill_every_s16();
    g711_alaw_encode(ours, every_s16, ALL);
    for (int i = 0; i < ALL; i++) {
        if (ours[i] != g191_alaw(every_s16[i]))
            fail_msg("A-law of %d: ours 0x%02x, G.191 0x%02x", every_s16[i], ours[i],
                     g191_alaw(every_s16[i]));
    }
}

/* Within the codec's range the error is at most half a quantisation step, i.e. about 1/32 of
 * the magnitude plus the size of the finest step; beyond it the sample clips to the largest code. */
static void check_round_trip(void (*enc)(uint8_t *, const int16_t *, size_t),
                             void (*dec)(int16_t *, const uint8_t *, size_t), int max_level,
                             int fine_slack, const char *law)
{
    static uint8_t codes[ALL];
    static int16_t back[ALL];
    fill_every_s16();
    enc(codes, every_s16, ALL);
    dec(back, codes, ALL);
    for (int i = 0; i < ALL; i++) {
        int x = every_s16[i], y = back[i];
        if (x > max_level || x < -max_level) {
            if (y != (x > 0 ? max_level : -max_level))
                fail_msg("%s: %d decoded as %d, expected clipping to %d", law, x, y, max_level);
            continue;
        }
        if ((x > 0 && y < 0) || (x < 0 && y > 0))
            fail_msg("%s: %d decoded as %d (sign flipped)", law, x, y);
        if (32 * abs(x - y) > abs(x) + fine_slack)
            fail_msg("%s: %d decoded as %d (error too large)", law, x, y);
    }
}

static void test_ulaw_round_trip(void **state)
{
    check_round_trip(g711_ulaw_encode, g711_ulaw_decode, 32124, 132, "mu-law");
}

static void test_alaw_round_trip(void **state)
{
    check_round_trip(g711_alaw_encode, g711_alaw_decode, 32256, 256, "A-law");
}

/* Decoding a code and encoding the result again must land on the same level. */
static void check_codes_stable(void (*enc)(uint8_t *, const int16_t *, size_t),
                               void (*dec)(int16_t *, const uint8_t *, size_t))
{
    uint8_t codes[256], again[256];
    int16_t levels[256], levels_again[256];
    for (int c = 0; c < 256; c++)
        codes[c] = (uint8_t)c;
    dec(levels, codes, 256);
    enc(again, levels, 256);
    dec(levels_again, again, 256);
    for (int c = 0; c < 256; c++)
        assert_int_equal(levels_again[c], levels[c]);
}

static void test_codes_stable(void **state)
{
    check_codes_stable(g711_ulaw_encode, g711_ulaw_decode);
    check_codes_stable(g711_alaw_encode, g711_alaw_decode);
}

static void test_silence(void **state)
{
    int16_t zeros[160] = { 0 };
    uint8_t u[160], a[160];
    g711_ulaw_encode(u, zeros, 160);
    g711_alaw_encode(a, zeros, 160);
    for (int i = 0; i < 160; i++) {
        assert_int_equal(u[i], G711_ULAW_SILENCE);
        assert_int_equal(a[i], G711_ALAW_SILENCE);
    }

    uint8_t su = G711_ULAW_SILENCE, sa = G711_ALAW_SILENCE;
    int16_t lu, la;
    g711_ulaw_decode(&lu, &su, 1);
    g711_alaw_decode(&la, &sa, 1);
    assert_int_equal(lu, 0);
    assert_int_equal(la, 8); /* A-law's smallest positive level: it has no zero */
}

/* n == 0 writes nothing: the output keeps its sentinel values. */
static void test_empty_buffers(void **state)
{
    uint8_t codes[4] = { 0xa5, 0xa5, 0xa5, 0xa5 };
    int16_t pcm[4] = { 1234, 1234, 1234, 1234 };
    const int16_t pcm_in[4] = { 0, 1000, -1000, 32767 };
    const uint8_t codes_in[4] = { 0x00, 0x55, 0x7f, 0xff };

    g711_ulaw_encode(codes, pcm_in, 0);
    g711_alaw_encode(codes, pcm_in, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(codes[i], 0xa5);
    g711_ulaw_decode(pcm, codes_in, 0);
    g711_alaw_decode(pcm, codes_in, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pcm[i], 1234);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulaw_matches_sndfile),
        cmocka_unit_test(test_alaw_matches_sndfile),
        cmocka_unit_test(test_alaw_matches_g191),
        cmocka_unit_test(test_ulaw_round_trip),
        cmocka_unit_test(test_alaw_round_trip),
        cmocka_unit_test(test_codes_stable),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_empty_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
