/* Text to speech for call:say (SPEC 5.1): libespeak-ng, cached 8 kHz prompts.
 *
 * Voices: "en" (espeak-ng en-us) and "zh" (cmn-latn-pinyin: espeak's "zh" needs mbrola and its
 * "cmn" is broken in 1.51); anything else is an error. Text is plain UTF-8, 1..TTS_MAX_TEXT
 * bytes, no control characters and no markup: SSML is never interpreted, and text that looks
 * like a tag ("<speak", "</", "<!", "<?") is refused rather than read out as punctuation.
 * For "zh", Arabic numbers are rewritten in Hanzi first (tts_zh_numerals), because espeak reads
 * them wrongly (1024 as 一千二十四, 3.5 as 三五).
 *
 * espeak-ng is not thread-safe, so one synthesis thread per tts object owns it, behind a process
 * lock shared by every tts object; requests reach it through a queue, so no caller ever waits
 * for a synthesis. espeak-ng is initialised once per process and never terminated (1.51
 * deadlocks in espeak_Terminate after a second espeak_Initialize); its memory stays reachable.
 * Output (22050 Hz) is resampled to 8 kHz with speexdsp (quality 3) into a struct prompt, so
 * playback treats it like any sound file.
 *
 * Cache: voice + text -> prompt, least recently used evicted beyond max_entries or max_bytes.
 * Entries are referenced prompts: eviction never frees audio that a call is playing.
 * Requests for the same text while it is being synthesised share that one synthesis.
 * Counters: a hit is a request answered without a synthesis of its own (tts_get returning a
 * prompt, or tts_request answered from the cache or by a synthesis already under way); a miss
 * is a synthesis. tts_get returning NULL counts nothing: the tts_request that follows counts. */
#ifndef VCS_TTS_H
#define VCS_TTS_H

#include <stddef.h>
#include <stdint.h>

#include "media/prompt_cache.h"

#define TTS_MAX_TEXT 2000                       /* bytes */
#define TTS_DEFAULT_MAX_ENTRIES 256
#define TTS_DEFAULT_MAX_BYTES ((size_t)32 << 20)

struct tts_limits {
    size_t max_entries; /* 0: TTS_DEFAULT_MAX_ENTRIES */
    size_t max_bytes;   /* 0: TTS_DEFAULT_MAX_BYTES; a prompt bigger than this is not cached */
};

struct tts_stats {
    uint64_t hits, misses;
    uint64_t failures;  /* syntheses that gave no audio */
    uint64_t evictions;
    size_t entries, bytes;
};

struct tts;

/* limits may be NULL (defaults). Returns NULL with err filled if espeak-ng cannot start. */
struct tts *tts_create(const struct tts_limits *limits, char *err, size_t errlen);
/* Joins the thread; requests still queued are answered with "shutting down". Must not be called
 * from a done() callback. */
void tts_destroy(struct tts *t);

/* Checks voice and text as tts_request does: 0, or -1 with a message ("unknown voice 'fr'
 * (use \"en\" or \"zh\")", "text too long: 2500 bytes, at most 2000"). voice NULL means "en". */
int tts_check(const char *voice, const char *text, char *err, size_t errlen);

/* Fast path, any thread: the cached prompt with a reference taken (prompt_unref it), or NULL. */
const struct prompt *tts_get(struct tts *t, const char *voice, const char *text);

/* Synthesises (or finds) text on the TTS thread and calls done() there, exactly once, with a
 * referenced prompt, or with NULL and a message. Try tts_get first: a request for cached text
 * still waits its turn behind syntheses queued before it. Returns 0 when queued; -1 with err
 * filled when the input is invalid (see tts_check) or the tts is shutting down, and done() is
 * not called. */
typedef void tts_done_fn(void *arg, const struct prompt *p, const char *err);
int tts_request(struct tts *t, const char *voice, const char *text, tts_done_fn *done, void *arg,
                char *err, size_t errlen);

void tts_get_stats(struct tts *t, struct tts_stats *out);

/* Pure: text with its Arabic numbers in Hanzi, as Mandarin reads them. Returns a malloc'd
 * string (NULL when out of memory).
 *   1024 -> 一千零二十四   10086 -> 一万零八十六   2005 -> 两千零五 (see say.h for 两)
 *   3.5 -> 三点五 (decimals digit by digit: 3.14 -> 三点一四)   50% or 50％ -> 百分之五十
 *   -5 -> 负五 (a '-' right before a number and not after a letter or digit)
 *   12,345 -> 一万两千三百四十五 (commas between groups of exactly three digits)
 * Digit strings are read digit by digit (零一二...九, 一 not 幺): a run of 10 or more digits
 * (13800138000), a run with a leading 0 (010, 007), and groups of 3 or more
 * digits joined by '-' (400-800-8888, read with a pause for each '-'). Anything else is copied
 * unchanged. */
char *tts_zh_numerals(const char *text);

#endif
