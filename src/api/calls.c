/* Calls (SPEC 7): place an outbound call, list the legs up now, one leg (live, else its CDR),
 * hang one up. What is live comes from the engine through api_ops; ended calls from the CDR
 * table. A call of another account is 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "campaign/compliance.h"
#include "core/clock.h"
#include "store/mgmt_sql.h"
#include "store/store.h"

/* Whose calls: the caller's account; the operator's view covers every account. */
static const char *owner(const struct api_call *c)
{
    return c->operator ? NULL : c->account;
}

/* A number on a DNC list, or over the frequency caps, is never called: 403, as the request is
 * well-formed but the callee may not be called (now or, for dnc, at all); lists that cannot be
 * read refuse too (503: the rules fail closed). The same rules as vcs.originate and the dialer
 * (compliance.h), on the number the target dials. */
static bool refused(struct api_call *c, struct api_reply *r)
{
    const char *to = json_string_value(json_object_get(c->body, "to"));
    const char *number = to ? compliance_callee(to) : NULL;
    if (!number)
        return false;
    enum compliance verdict = compliance_check(iam_store_db(c->api->iam), c->scope, number,
                                               c->api->ops.max_per_callee_day,
                                               c->api->ops.max_per_callee_week, clock_wall_ms());
    if (verdict == COMPLIANCE_OK)
        return false;
    if (verdict == COMPLIANCE_UNKNOWN)
        api_reply_error(r, 503, compliance_code(verdict),
                        "the do-not-call lists could not be read: %s was not called; try again",
                        number);
    else
        api_reply_error(r, 403, compliance_code(verdict), verdict == COMPLIANCE_DNC
                            ? "%s is on a do-not-call list"
                            : "%s has answered as many calls as the frequency caps allow for now",
                        number);
    return true;
}

void api_calls_create(struct api_call *c, struct api_reply *r)
{
    char id[64] = "", err[256] = "";
    if (refused(c, r))
        return;
    int status = c->api->ops.originate(c->api->ops.ctx, c->scope, c->body, id, sizeof id, err,
                                       sizeof err);
    if (status == 0)
        api_reply_json(r, 201, json_pack("{s:s}", "id", id));
    else
        api_reply_error(r, status, status == 404   ? "not_found"
                                   : status == 409 ? "over_limit"
                                   : status == 503 ? "unavailable"
                                                   : "bad_request", "%s", err);
}

void api_calls_list(struct api_call *c, struct api_reply *r)
{
    json_t *all = c->api->ops.calls_list(c->api->ops.ctx, owner(c));
    if (!all) {
        api_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    /* The cursor is the id of the last leg given (legs are listed by start time, then id). */
    size_t from = 0, n = json_array_size(all);
    if (c->after[0]) {
        while (from < n && strcmp(json_string_value(json_object_get(json_array_get(all, from), "id")),
                                  c->after) != 0)
            from++;
        from = from < n ? from + 1 : n;
    }
    json_t *items = json_array();
    for (size_t i = from; items && i < n && json_array_size(items) < (size_t)c->limit; i++)
        json_array_append(items, json_array_get(all, i));
    size_t last = from + json_array_size(items);
    json_t *next = last < n && last > 0
                       ? json_copy(json_object_get(json_array_get(all, last - 1), "id"))
                       : json_null();
    json_decref(all);
    api_reply_json(r, 200, json_pack("{s:o,s:o}", "items", items, "next", next));
}

/* An ended leg's CDR row (the account's own, or any for the operator), or NULL. */
static json_t *cdr_of(struct api_call *c, const char *id)
{
    sqlite3_stmt *st = msql_prep(iam_store_db(c->api->iam),
        "SELECT call_id AS id, direction, from_number AS \"from\", to_number AS \"to\", script,"
        " 'ended' AS state, start_time, answer_time, end_time, parent_call_id, sip_call_id,"
        " account, gateway, duration_ms, billsec, sip_code, hangup_cause, hangup_by, recording"
        " FROM cdr WHERE call_id = ?1 AND (?2 IS NULL OR account = ?2)");
    if (!st)
        return NULL;
    const char *v[] = { id, owner(c) };
    msql_bind_texts(st, v, 2);
    json_t *row = sqlite3_step(st) == SQLITE_ROW ? msql_row_json(st) : NULL;
    sqlite3_finalize(st);
    return row;
}

void api_calls_get(struct api_call *c, struct api_reply *r)
{
    const char *id = api_param(c, "id");
    json_t *call = c->api->ops.call_get(c->api->ops.ctx, owner(c), id);
    if (!call)
        call = cdr_of(c, id);
    /* A leg leaves the live list when it ends, maybe before the writer thread has its CDR row
     * in the database: wait for what is queued, then look again. */
    if (!call && store_sync(c->api->st) == 0)
        call = cdr_of(c, id);
    if (call)
        api_reply_json(r, 200, call);
    else
        api_reply_error(r, 404, "not_found", "no such call");
}

void api_calls_hangup(struct api_call *c, struct api_reply *r)
{
    if (c->api->ops.call_hangup(c->api->ops.ctx, owner(c), api_param(c, "id")) == 0)
        r->status = 204;
    else
        api_reply_error(r, 404, "not_found", "no such call up");
}
