/* G.711 mu-law and A-law from spandsp: A-law bit-exact with ITU-T G.191; mu-law treats negative
 * samples like libsndfile and the Sun reference (see tests/unit/test_g711.c).
 * Whole-buffer functions, so callers never loop per sample through a function call. */
#ifndef VCS_G711_H
#define VCS_G711_H

#include <stddef.h>
#include <stdint.h>

void g711_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n);
void g711_alaw_encode(uint8_t *dst, const int16_t *src, size_t n);
void g711_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n);
void g711_alaw_decode(int16_t *dst, const uint8_t *src, size_t n);

/* The encoded byte of digital silence (linear 0). */
#define G711_ULAW_SILENCE 0xFF
#define G711_ALAW_SILENCE 0xD5

#endif
