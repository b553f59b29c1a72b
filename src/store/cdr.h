/* One CDR row (SPEC section 6) as the call layer hands it to the store. Plain data, fixed-size
 * strings, so that a row can be copied into a queue node without allocations per field. */
#ifndef VCS_CDR_H
#define VCS_CDR_H

#include <stdint.h>

struct cdr_row {
    char call_id[48];
    char sip_call_id[256];
    char parent_call_id[48];     /* "" = NULL */
    char direction[16];          /* "inbound" | "outbound" */
    char account[64];            /* "" = NULL */
    char from_number[64];
    char to_number[64];
    char script[128];            /* "" = NULL */
    char gateway[64];            /* "" = NULL */
    char trunk[64];              /* the customer trunk of the leg; "" = NULL */
    int64_t start_ms;            /* wall clock, ms since epoch */
    int64_t answer_ms;           /* 0 = never answered */
    int64_t end_ms;              /* 0 = still up */
    int sip_code;                /* final response; 200 if answered; 0 unknown */
    char hangup_cause[32];       /* "" while up */
    char hangup_by[16];          /* caller | callee | script | system */
    char recording[160];         /* "" = NULL; "calls/DATE/ID.wav" */
    int64_t cost_fen;            /* a leg rated by prepaid billing; 0 otherwise */
    char *vars_json;             /* JSON object text, owned by the row's producer; NULL = "{}" */
    int64_t campaign_id;         /* the campaign that placed the leg; 0 = NULL */
};

/* Billing columns derived from the times (SPEC 6): billsec rounds answered time up to seconds,
 * bill_minutes counts started minutes. */
int64_t cdr_billsec(const struct cdr_row *row);
int64_t cdr_bill_minutes(const struct cdr_row *row);

/* The store's hook once an ended row is committed: emits call.completed (events.h) with the
 * row's columns, for rows of an account. */
void cdr_completed(const struct cdr_row *row);

#endif
