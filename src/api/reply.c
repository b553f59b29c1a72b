/* Building a handler's answer (see api_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

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

void api_reply_result(struct api_reply *r, int rc, json_t *obj, const char *what)
{
    if (rc == IAM_OK) {
        api_reply_json(r, 200, obj);
        return;
    }
    json_decref(obj);
    api_reply_store(r, rc, what);
}

void api_reply_done(struct api_reply *r, int rc, const char *what)
{
    if (rc == IAM_OK)
        r->status = 204;
    else
        api_reply_store(r, rc, what);
}

const char *api_body_name(struct api_call *c, struct api_reply *r)
{
    const char *name = json_string_value(json_object_get(c->body, "name"));
    if (iam_name_valid(name))
        return name;
    api_reply_error(r, 400, "bad_request",
                    "name must be 1 to %d of [A-Za-z0-9_.-], starting with a letter",
                    IAM_NAME_MAX);
    return NULL;
}

const char *api_csv_body(struct api_call *c, struct api_reply *r, size_t *n)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    *n = evbuffer_get_length(in);
    const char *csv = *n ? (const char *)evbuffer_pullup(in, (ev_ssize_t)*n) : "";
    if (*n && !csv) {
        api_reply_error(r, 500, "internal", "out of memory reading the body");
        return NULL;
    }
    if (memchr(csv, '\0', *n)) {
        api_reply_error(r, 400, "bad_request", "the CSV body holds a NUL byte");
        return NULL;
    }
    return csv;
}
