/* API tokens of the account's users (SPEC 8): issued and shown once, revoked by id. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "core/clock.h"
#include "store/iam.h"

/* "YYYY-MM-DDTHH:MM:SS[.mmm]Z" in the future, normalised as iso8601_ms writes it. */
static int parse_expiry(const char *s, char out[ISO8601_LEN])
{
    int y, mo, d, h, mi, sec, ms = 0, end = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &end) != 6)
        return -1;
    const char *rest = s + end;
    if (*rest == '.') {
        int n = 0;
        if (sscanf(rest, ".%3d%n", &ms, &n) != 1 || n != 4)
            return -1;
        rest += n;
    }
    if (strcmp(rest, "Z") != 0 || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h > 23 || mi > 59 || sec > 59 || ms < 0)
        return -1;
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi, .tm_sec = sec };
    time_t t = timegm(&tm);
    int64_t when = (int64_t)t * 1000 + ms;
    if (t == (time_t)-1 || tm.tm_mday != d || when <= clock_wall_ms())
        return -1;
    iso8601_ms(when, out);
    return 0;
}

void api_tokens_create(struct api_call *c, struct api_reply *r)
{
    const char *exp = json_string_value(json_object_get(c->body, "expires_at"));
    char expires[ISO8601_LEN];
    if (exp && parse_expiry(exp, expires) != 0) {
        api_reply_error(r, 400, "bad_request",
                        "expires_at must be a future UTC time such as 2030-01-31T12:00:00Z");
        return;
    }
    char token[IAM_TOKEN_LEN + 1], id[IAM_TOKEN_ID_LEN + 1];
    const char *user = api_param(c, "name");
    enum iam_rc rc = iam_token_create(c->api->iam, c->scope, user, exp ? expires : NULL,
                                      token, id);
    if (rc != IAM_OK) {
        api_reply_store(r, rc, "user");
        return;
    }
    api_reply_json(r, 201, json_pack("{s:s,s:s,s:s,s:s?}", "id", id, "user", user, "token",
                                     token, "expires_at", exp ? expires : NULL));
}

void api_tokens_delete(struct api_call *c, struct api_reply *r)
{
    api_reply_done(r, iam_token_revoke(c->api->iam, c->scope, api_param(c, "name"),
                                       api_param(c, "id")), "token");
}
