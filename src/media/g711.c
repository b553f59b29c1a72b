/* G.711 over whole buffers. Encoding calls spandsp's reference inlines in a loop the compiler
 * can see through; decoding uses two 256-entry tables filled from the same reference once, so a
 * 20 ms packet costs 160 table reads. */
#include "media/g711.h"

#include <pthread.h>

#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

static int16_t ulaw_table[256];
static int16_t alaw_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_build(void)
{
    for (int i = 0; i < 256; i++) {
        ulaw_table[i] = ulaw_to_linear((uint8_t)i);
        alaw_table[i] = alaw_to_linear((uint8_t)i);
    }
}

void g711_ulaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = linear_to_ulaw(src[i]);
}

void g711_alaw_encode(uint8_t *dst, const int16_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = linear_to_alaw(src[i]);
}

void g711_ulaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    pthread_once(&tables_once, tables_build);
    for (size_t i = 0; i < n; i++)
        dst[i] = ulaw_table[src[i]];
}

void g711_alaw_decode(int16_t *dst, const uint8_t *src, size_t n)
{
    pthread_once(&tables_once, tables_build);
    for (size_t i = 0; i < n; i++)
        dst[i] = alaw_table[src[i]];
}
