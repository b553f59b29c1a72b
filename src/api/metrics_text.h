/* Prometheus text exposition (format 0.0.4) written into a growing evbuffer, so that /metrics is
 * never cut however many families the engine reports. Each subsystem's figures are one
 * metrics_one() line (or a family and its labelled samples) in the daemon's metrics callback. */
#ifndef VCS_METRICS_TEXT_H
#define VCS_METRICS_TEXT_H

struct evbuffer;

#include <stddef.h>
#include <stdint.h>

/* "# HELP" and "# TYPE" lines; type is "counter", "gauge" or "histogram". */
void metrics_family(struct evbuffer *out, const char *name, const char *type, const char *help);
/* One sample; labels is the text inside the braces (e.g. result="hit") or NULL. */
void metrics_sample(struct evbuffer *out, const char *name, const char *labels, unsigned long long value);
/* A family with one unlabelled sample. */
void metrics_one(struct evbuffer *out, const char *name, const char *type, const char *help,
                 unsigned long long value);

/* One labelled histogram's samples (after its "histogram" family): name_bucket for each upper
 * bound in seconds with the cumulative count le[i], then +Inf (= count), name_sum and
 * name_count. labels: the text inside the braces (e.g. worker="0"), placed before le. */
void metrics_histogram(struct evbuffer *out, const char *name, const char *labels,
                       const double *bounds_s, const uint64_t *le, size_t n, uint64_t count,
                       double sum_s);

#endif
