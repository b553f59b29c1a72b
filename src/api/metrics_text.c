/* Prometheus text exposition. See metrics_text.h. */
#include "api/metrics_text.h"

#include <event2/buffer.h>

void metrics_family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct evbuffer *out, const char *name, const char *labels, unsigned long long value)
{
    if (labels)
        evbuffer_add_printf(out, "%s{%s} %llu\n", name, labels, value);
    else
        evbuffer_add_printf(out, "%s %llu\n", name, value);
}

void metrics_one(struct evbuffer *out, const char *name, const char *type, const char *help,
                 unsigned long long value)
{
    metrics_family(out, name, type, help);
    metrics_sample(out, name, NULL, value);
}

void metrics_histogram(struct evbuffer *out, const char *name, const char *labels,
                       const double *bounds_s, const uint64_t *le, size_t n, uint64_t count,
                       double sum_s)
{
    for (size_t i = 0; i < n; i++)
        evbuffer_add_printf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, bounds_s[i],
                            (unsigned long long)le[i]);
    evbuffer_add_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n%s_sum{%s} %.6f\n%s_count{%s} %llu\n",
                        name, labels, (unsigned long long)count, name, labels, sum_s, name, labels,
                        (unsigned long long)count);
}
