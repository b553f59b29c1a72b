/* Billing days and months (see calendar.h). */
#include "billing/calendar.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int cal_days_in_month(int year, int month)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[(month - 1) % 12];
}

static void local_date(int64_t ms, int *y, int *m, int *d)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
    *d = tm.tm_mday;
}

/* Local midnight of y-m-d (m may run past 12). */
static int64_t local_midnight(int y, int m, int d)
{
    y += (m - 1) / 12;
    m = (m - 1) % 12 + 1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1 };
    return (int64_t)mktime(&tm) * 1000;
}

int64_t cal_period_start(int64_t issued_ms, int64_t k)
{
    if (k <= 0)
        return issued_ms;
    int y, m, d;
    local_date(issued_ms, &y, &m, &d);
    int64_t months = (int64_t)m - 1 + k;
    int ay = y + (int)(months / 12), am = (int)(months % 12) + 1;
    int dim = cal_days_in_month(ay, am);
    return local_midnight(ay, am, d < dim ? d : dim);
}

int64_t cal_period_at(int64_t issued_ms, int64_t now_ms)
{
    if (now_ms < issued_ms)
        return -1;
    int y, m, d, ny, nm, nd;
    local_date(issued_ms, &y, &m, &d);
    local_date(now_ms, &ny, &nm, &nd);
    int64_t k = ((int64_t)ny - y) * 12 + (nm - m);
    if (k < 0)
        k = 0;
    while (k > 0 && cal_period_start(issued_ms, k) > now_ms)
        k--;
    while (cal_period_start(issued_ms, k + 1) <= now_ms)
        k++;
    return k;
}

void cal_month_name(int64_t ms, char out[8])
{
    int y, m, d;
    local_date(ms, &y, &m, &d);
    snprintf(out, 8, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
}

int cal_month_parse(const char *s, int64_t *start_ms, int64_t *end_ms)
{
    int y, m, n = 0;
    if (!s || strlen(s) != 7 || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 ||
        s[4] != '-' || y < 2000 || y > 9998 || m < 1 || m > 12)
        return -1;
    *start_ms = local_midnight(y, m, 1);
    *end_ms = local_midnight(y, m + 1, 1);
    return 0;
}
