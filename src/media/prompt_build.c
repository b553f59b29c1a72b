/* One allocation holds header, PCM, mu-law and A-law, because prompt_unref() releases a prompt
 * with a single free(): the layout must match prompt_cache.c's buf_finish(). */
#include "media/prompt_build.h"

#include <stdlib.h>
#include <string.h>

#include "media/g711.h"

size_t prompt_footprint(size_t n)
{
    return sizeof(struct prompt) + n * (sizeof(int16_t) + 2);
}

const struct prompt *prompt_from_pcm(const int16_t *pcm, size_t n)
{
    if (n > (SIZE_MAX - sizeof(struct prompt)) / (sizeof(int16_t) + 2))
        return NULL;
    struct prompt *p = malloc(prompt_footprint(n));
    if (!p)
        return NULL;
    int16_t *copy = (int16_t *)(void *)(p + 1);
    uint8_t *ulaw = (uint8_t *)(copy + n);
    uint8_t *alaw = ulaw + n;
    if (n > 0)
        memcpy(copy, pcm, n * sizeof *copy);
    g711_ulaw_encode(ulaw, copy, n);
    g711_alaw_encode(alaw, copy, n);
    p->pcm = copy;
    p->ulaw = ulaw;
    p->alaw = alaw;
    p->samples = n;
    p->refs = 1;
    return p;
}
