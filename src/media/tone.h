/* Call progress tones for call:tone (SPEC 5.1): named tones and the cadence syntax, parsed into a
 * tone_spec, and a generator that renders any number of 8 kHz samples of it.
 *
 * Cadence syntax: segments separated by ',', each "F1[+F2...]/MS" (up to 4 frequencies sounding
 * together for MS milliseconds) or "0/MS" (silence); the cycle repeats for as long as the caller
 * renders. Frequencies are whole Hz in 100..3999 (4000 Hz is the Nyquist frequency at 8 kHz: it
 * would render as silence); durations 0..600000 ms (a 0 ms segment is skipped) with a cycle
 * longer than 0; at most TONE_MAX_SEGMENTS segments.
 * Named tones (China / ITU-T E.180 plan for the defaults, US variants by name):
 *   beep         1000/250               busy      450/350,0/350
 *   ringback     450/1000,0/4000        busy-us   480+620/500,0/500
 *   ringback-us  440+480/2000,0/4000
 * Level: the components share a total power of -13 dBm0 (each -13 - 10*log10(n) dBm0), so any
 * tone sounds equally loud and cannot clip. Timing is exact in samples (MS * 8). Phase is
 * continuous across render calls and across segments that keep a frequency; a frequency that
 * starts (after silence or a different one) starts at phase 0, so the tone's onset makes no click. */
#ifndef VCS_TONE_H
#define VCS_TONE_H

#include <stddef.h>
#include <stdint.h>

#define TONE_RATE 8000
#define TONE_MAX_FREQS 4
#define TONE_MAX_SEGMENTS 16
#define TONE_MIN_HZ 100
#define TONE_MAX_HZ 3999
#define TONE_MAX_SEGMENT_MS 600000

struct tone_segment {
    int nfreqs;                  /* 0: silence */
    int freqs[TONE_MAX_FREQS];   /* Hz */
    uint32_t ms;
};

struct tone_spec {
    int nsegments;
    struct tone_segment seg[TONE_MAX_SEGMENTS];
};

/* Parses a tone name or a cadence. Returns 0, or -1 with a message in err naming the problem. */
int tone_parse(const char *name_or_spec, struct tone_spec *out, char *err, size_t errlen);

/* Length of one cycle in ms (what call:tone plays when no duration is given). */
uint32_t tone_cycle_ms(const struct tone_spec *spec);

/* Streaming generator: holds its own copy of the spec, so the spec may go away after init. */
struct tone_gen {
    struct tone_spec spec;
    int seg;                          /* current segment */
    uint32_t left;                    /* samples left in it */
    double phase[TONE_MAX_FREQS];     /* in cycles, [0, 1) */
    int sounding[TONE_MAX_FREQS];     /* Hz per slot now, 0 when the slot is silent */
    double amp;                       /* per-component peak, for the current segment */
    uint32_t cycle_ms;                /* 0 (an invalid spec) renders silence */
};

void tone_gen_init(struct tone_gen *g, const struct tone_spec *spec);
/* Writes the next n samples. */
void tone_gen_render(struct tone_gen *g, int16_t *out, size_t n);

#endif
