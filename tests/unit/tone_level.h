/* For the mixing tests: the amplitude of a tone in n samples at 8 kHz (Goertzel), normalised
 * to that of a pure tone, so that "hears 1000 Hz" reads as a level in sample units. */
#ifndef VCS_TEST_TONE_LEVEL_H
#define VCS_TEST_TONE_LEVEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

static inline double tone_level(const int16_t *x, size_t n, double freq)
{
    double w = 2.0 * M_PI * freq / 8000.0, s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s = x[i] + 2.0 * cos(w) * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return 2.0 * sqrt(s1 * s1 + s2 * s2 - 2.0 * cos(w) * s1 * s2) / (double)n;
}

#endif
