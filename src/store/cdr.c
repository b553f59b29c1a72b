#include "cdr.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "events/events.h"

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

static json_t *text_or_null(const char *field, size_t cap)
{
    size_t len = strnlen(field, cap);
    return len ? json_stringn_nocheck(field, len) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    char buf[ISO8601_LEN];
    if (ms <= 0)
        return json_null();
    iso8601_ms(ms, buf);
    return json_string(buf);
}
#define TEXT(row, f) text_or_null((row)->f, sizeof (row)->f)

void cdr_completed(const struct cdr_row *row)
{
    if (row->end_ms <= 0 || !row->account[0])
        return;
    json_t *vars = row->vars_json ? json_loads(row->vars_json, 0, NULL) : NULL;
    int64_t duration = row->start_ms > 0 && row->end_ms > row->start_ms
                           ? row->end_ms - row->start_ms : 0;
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:I,s:I,"
                          "s:o,s:o,s:o,s:o,s:o}",
                          "call_id", TEXT(row, call_id), "sip_call_id", TEXT(row, sip_call_id),
                          "parent_call_id", TEXT(row, parent_call_id),
                          "direction", TEXT(row, direction), "account", TEXT(row, account),
                          "from_number", TEXT(row, from_number),
                          "to_number", TEXT(row, to_number), "script", TEXT(row, script),
                          "gateway", TEXT(row, gateway), "start_time", time_or_null(row->start_ms),
                          "answer_time", time_or_null(row->answer_ms),
                          "end_time", time_or_null(row->end_ms),
                          "duration_ms", (json_int_t)duration,
                          "billsec", (json_int_t)cdr_billsec(row),
                          "bill_minutes", (json_int_t)cdr_bill_minutes(row),
                          "cost_fen", (json_int_t)0,
                          "sip_code", row->sip_code > 0 ? json_integer(row->sip_code) : json_null(),
                          "hangup_cause", TEXT(row, hangup_cause),
                          "hangup_by", TEXT(row, hangup_by), "recording", TEXT(row, recording),
                          "vars", vars ? vars : json_object());
    char account[sizeof row->account];
    snprintf(account, sizeof account, "%.*s", (int)strnlen(row->account, sizeof row->account),
             row->account);
    events_emit(account, "call.completed", o);
}
