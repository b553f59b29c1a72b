/* Builds a prompt (see prompt_cache.h) from 8 kHz PCM made in memory: text to speech, tones.
 * The result has the same single-block layout as a decoded file, so prompt_ref/prompt_unref and
 * every playback path treat it exactly like a cached sound file. */
#ifndef VCS_PROMPT_BUILD_H
#define VCS_PROMPT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "media/prompt_cache.h"

/* Copies n samples (8 kHz mono) and adds their mu-law and A-law encodings. Returns a prompt with
 * one reference (release it with prompt_unref), or NULL when out of memory. n may be 0. */
const struct prompt *prompt_from_pcm(const int16_t *pcm, size_t n);

/* Bytes a prompt of n samples occupies, for caches that bound their memory. */
size_t prompt_footprint(size_t n);

#endif
