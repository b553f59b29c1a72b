/* Building a handler's answer (see api_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "store/iam.h"

json_t *api_json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j;
}

void api_reply_json(struct api_reply *r, int status, json_t *obj)
{
    json_decref(r->json);
    r->json = obj;
    r->status = obj ? status : 500;
}

void api_reply_error(struct api_reply *r, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_reply_json(r, status, json_pack("{s:{s:s,s:o}}", "error", "code", code, "message",
                                        api_json_text(msg)));
}

void api_reply_store(struct api_reply *r, int rc, const char *what)
{
    switch (rc) {
    case IAM_NOT_FOUND: api_reply_error(r, 404, "not_found", "no such %s", what); break;
    case IAM_EXISTS: api_reply_error(r, 409, "conflict", "%s exists already", what); break;
    case IAM_IN_USE: api_reply_error(r, 409, "conflict", "%s is in use", what); break;
    default: api_reply_error(r, 500, "internal", "the store failed on %s", what); break;
    }
}
