/* Time sources: a monotonic clock for pacing and timeouts, wall clock for CDRs and logs. */
#ifndef VCS_CLOCK_H
#define VCS_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t clock_mono_us(void);
uint64_t clock_mono_ms(void);
/* CLOCK_MONOTONIC ms from now, as pthread_cond_timedwait wants it (on a condition variable set
 * to that clock with pthread_condattr_setclock). */
struct timespec clock_mono_deadline(unsigned ms);
int64_t clock_wall_ms(void); /* milliseconds since the Unix epoch */
/* "2026-11-24T06:15:13.123Z"; out must hold ISO8601_LEN bytes. */
#define ISO8601_LEN 32
void iso8601_ms(int64_t wall_ms, char out[ISO8601_LEN]);
/* Parses exactly what iso8601_ms writes: 0, or -1. */
int iso8601_parse_ms(const char *s, int64_t *out);

#endif
