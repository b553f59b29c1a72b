/* Calling windows (see window.h). */
#include "campaign/window.h"

#include <string.h>
#include <strings.h>

#include "campaign/tz.h"

#define DAY_S 86400
#define LOOKAHEAD_MIN (8 * 24 * 60)

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int day_index(const char *s, size_t len)
{
    for (int i = 0; i < 7; i++) {
        if (len == 3 && strncasecmp(s, day_names[i], 3) == 0)
            return i;
    }
    return -1;
}

int window_parse_days(const char *s, uint8_t *mask)
{
    uint8_t m = 0;
    if (!s || !*s)
        return -1;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        const char *dash = memchr(p, '-', len);
        int a = day_index(p, dash ? (size_t)(dash - p) : len);
        int b = dash ? day_index(dash + 1, len - (size_t)(dash - p) - 1) : a;
        if (a < 0 || b < 0)
            return -1;
        for (int d = a;; d = (d + 1) % 7) { /* fri-mon wraps over the weekend */
            m |= (uint8_t)(1u << d);
            if (d == b)
                break;
        }
        if (!p[len])
            break;
        p += len + 1;
    }
    *mask = m;
    return 0;
}

int window_parse_hhmm(const char *s, unsigned *minutes)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++) {
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    unsigned h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
    unsigned m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

bool window_open(const struct window *w, int64_t utc_s)
{
    int64_t local = utc_s + tz_offset(w->tz, utc_s);
    int64_t day = floor_div(local, DAY_S);
    unsigned minute = (unsigned)((local - day * DAY_S) / 60);
    int weekday = (int)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    return (w->days >> weekday & 1) && minute >= w->start_min && minute < w->end_min;
}

int64_t window_next_open(const struct window *w, int64_t utc_s)
{
    if (!w->days || w->start_min >= w->end_min)
        return -1;
    if (window_open(w, utc_s))
        return utc_s;
    int64_t t = floor_div(utc_s, 60) * 60 + 60;
    for (int i = 0; i < LOOKAHEAD_MIN; i++, t += 60) {
        if (window_open(w, t))
            return t;
    }
    return -1;
}
