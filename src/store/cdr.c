#include "cdr.h"

int64_t cdr_billsec(const struct cdr_row *row)
{
    /* A wall-clock step can put the end before the answer: that bills nothing, never negative. */
    if (row->answer_ms <= 0 || row->end_ms <= 0 || row->end_ms <= row->answer_ms)
        return 0;
    return (row->end_ms - row->answer_ms + 999) / 1000;
}

int64_t cdr_bill_minutes(const struct cdr_row *row)
{
    return (cdr_billsec(row) + 59) / 60;
}
