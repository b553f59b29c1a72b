/* Billing days and months (SPEC 8): rent anniversaries and statement months, in the process's
 * local time zone, which vcsd sets to billing.tz (TZ, the system tz database) before any thread
 * starts. A number issued at issued_ms pays period 0 from that moment and period k >= 1 from
 * the local midnight of its k-th monthly anniversary: the same day of the month, or the month's
 * last day when it has no such day (issued Jan 31 -> Feb 28/29, Mar 31, Apr 30 ...). Pure
 * functions of their arguments and TZ; times are milliseconds since the Unix epoch. */
#ifndef VCS_BILLING_CALENDAR_H
#define VCS_BILLING_CALENDAR_H

#include <stdint.h>

/* The start of period k (k >= 0) of a number issued at issued_ms. */
int64_t cal_period_start(int64_t issued_ms, int64_t k);
/* The period in progress at now_ms: -1 before issued_ms. */
int64_t cal_period_at(int64_t issued_ms, int64_t now_ms);
/* "YYYY-MM" (years 2000-9998): 0 with the local month's [start, end), else -1. */
int cal_month_parse(const char *s, int64_t *start_ms, int64_t *end_ms);
/* The local month of ms as "YYYY-MM". */
void cal_month_name(int64_t ms, char out[8]);
/* 1..31 */
int cal_days_in_month(int year, int month);

#endif
