/* Answering-machine detection on the 8 kHz audio received after answer, in the manner of
 * Asterisk's AMD (its documented parameters, our own code): a person says a short word and
 * waits; a machine starts late or talks long. Voice is the VAD's (media/vad.h), judged every
 * 10 ms. The decision, in the order the checks run:
 *   - silence before any word reaches initial_silence_ms          -> machine ("initial_silence")
 *   - one utterance reaches max_word_ms                            -> machine ("max_word_length")
 *   - more than max_words words                                    -> machine ("max_words")
 *   - the greeting's voice reaches greeting_ms                     -> machine ("long_greeting")
 *   - silence after the greeting reaches after_greeting_silence_ms -> human ("after_greeting_silence")
 *   - total_analysis_ms of audio without a decision                -> unknown ("too_long")
 * A word is min_word_ms of voice; it ends after between_words_silence_ms of silence.
 * No allocation; one struct amd per call, used by the call's worker thread only. */
#ifndef VCS_AMD_H
#define VCS_AMD_H

#include <stddef.h>
#include <stdint.h>

#include "media/vad.h"

struct amd_params {
    unsigned initial_silence_ms;        /* default 2500 */
    unsigned greeting_ms;               /* default 1500 */
    unsigned after_greeting_silence_ms; /* default 800 */
    unsigned total_analysis_ms;         /* default 5000 */
    unsigned min_word_ms;               /* default 100 */
    unsigned between_words_silence_ms;  /* default 50 */
    unsigned max_words;                 /* default 3 */
    unsigned max_word_ms;               /* default 5000 */
};

enum amd_result { AMD_PENDING, AMD_HUMAN, AMD_MACHINE, AMD_UNKNOWN };

/* What was measured up to the decision (ms unless named otherwise). */
struct amd_measure {
    unsigned initial_silence_ms; /* before the first word began */
    unsigned greeting_ms;        /* from the first word's start to the end of the last voice */
    unsigned voice_ms;           /* voiced time in the greeting */
    unsigned words;
    unsigned after_greeting_silence_ms; /* silence since the last voice, at the decision */
    unsigned total_ms;
    const char *cause;           /* the rule that decided (see above); NULL while pending */
};

struct amd {
    struct amd_params p;
    struct vad vad;
    enum amd_result result;
    struct amd_measure m;
    bool in_greeting;       /* a first word was heard */
    bool in_word;
    unsigned voice_run_ms;  /* consecutive voice */
    unsigned silence_run_ms;
};

void amd_params_default(struct amd_params *p);
/* 0, or -1 with a message naming the first parameter out of its range (each 1..60000 ms,
 * max_words 1..100). */
int amd_params_check(const struct amd_params *p, char *err, size_t errlen);

void amd_init(struct amd *a, const struct amd_params *p);
/* Feeds n samples (a positive multiple of VAD_SUBFRAME); returns the result, AMD_PENDING until
 * decided. Audio fed after the decision is ignored. */
enum amd_result amd_feed(struct amd *a, const int16_t *pcm, size_t n);
const char *amd_result_name(enum amd_result r); /* "human", "machine", "unknown", "pending" */

#endif
