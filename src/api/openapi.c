/* /v1/openapi.json (OpenAPI 3.1), built from the route table alone so that it cannot describe
 * an endpoint that does not exist or miss one that does. The x-vcs-* fields carry what the
 * authorization check uses (action, its class, resource, whether the operator reaches every
 * account), which the policy-matrix test reads back. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

static const char *class_name(const char *action)
{
    if (!action)
        return "any";
    switch (iam_action_class(action)) {
    case IAM_CUSTOMER: return "customer";
    case IAM_MAIN: return "main";
    case IAM_OPERATOR: return "operator";
    default: return "unknown";
    }
}

static json_t *parameters(const struct api_route *r)
{
    json_t *list = json_array();
    for (const char *p = strchr(r->pattern, '{'); list && p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        if (!close)
            break;
        json_array_append_new(list, json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1,
                                              (size_t)(close - p - 1), "in", "path", "required",
                                              1, "schema", "type", "string"));
    }
    if (r->flags & API_LIST) {
        json_array_append_new(list, json_pack("{s:s,s:s,s:{s:s,s:i,s:i,s:i}}", "name", "limit",
                                              "in", "query", "schema", "type", "integer",
                                              "minimum", 1, "maximum", API_LIMIT_MAX, "default",
                                              API_LIMIT_DEFAULT));
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:{s:s}}", "name", "after", "in",
                                              "query", "description",
                                              "the \"next\" of the previous page", "schema",
                                              "type", "string"));
    }
    if (r->flags & API_OPERATOR_AS)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:{s:s}}", "name", "account", "in",
                                              "query", "description",
                                              "the operator only: act on this account", "schema",
                                              "type", "string"));
    if (r->flags & API_CREATES)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:{s:s}}", "name", "Idempotency-Key",
                                              "in", "header", "description",
                                              "same key and body within 24 h: the first answer,"
                                              " nothing created; another body: 422",
                                              "schema", "type", "string"));
    return list;
}

static json_t *request_body(const struct api_route *r)
{
    json_t *props = json_object(), *required = json_array();
    for (const struct api_field *f = r->fields; f && f->name; f++) {
        json_object_set_new(props, f->name, json_pack("{s:s,s:s}", "type", f->type,
                                                      "description", f->description));
        if (f->required)
            json_array_append_new(required, json_string(f->name));
    }
    return json_pack("{s:b,s:{s:{s:{s:s,s:o,s:o,s:b}}}}", "required",
                     json_array_size(required) > 0, "content", "application/json", "schema",
                     "type", "object", "properties", props, "required", required,
                     "additionalProperties", 0);
}

static json_t *responses(const struct api_route *r)
{
    char ok[8];
    snprintf(ok, sizeof ok, "%d", r->status);
    json_t *o = json_object();
    json_object_set_new(o, ok, json_pack("{s:s}", "description", "success"));
    json_object_set_new(o, "401", json_pack("{s:s}", "description", "no valid token"));
    if (r->action)
        json_object_set_new(o, "403", json_pack("{s:s}", "description", "forbidden (audited)"));
    if (strchr(r->pattern, '{'))
        json_object_set_new(o, "404",
                            json_pack("{s:s}", "description", "not found, or another account's"));
    if (r->fields || (r->flags & (API_LIST | API_CSV)))
        json_object_set_new(o, "400", json_pack("{s:s}", "description", "bad request"));
    return o;
}

static json_t *operation(const struct api_route *r)
{
    char id[128];
    size_t n = (size_t)snprintf(id, sizeof id, "%s", api_method_name(r->method));
    for (const char *p = r->pattern; *p && n + 1 < sizeof id; p++) {
        if (isalnum((unsigned char)*p))
            id[n++] = *p;
        else if (*p == '/' || *p == '{')
            id[n++] = '_';
    }
    id[n] = '\0';
    json_t *op = json_pack("{s:s,s:s,s:o,s:o,s:s?,s:s,s:s?,s:b,s:b,s:b}", "operationId", id,
                           "summary", r->summary, "parameters", parameters(r), "responses",
                           responses(r), "x-vcs-action", r->action, "x-vcs-class",
                           class_name(r->action), "x-vcs-resource", r->resource,
                           "x-vcs-any-account", (r->flags & API_ANY_ACCOUNT) != 0, "x-vcs-list",
                           (r->flags & API_LIST) != 0, "x-vcs-creates",
                           (r->flags & API_CREATES) != 0);
    if (op)
        json_object_set_new(op, "x-vcs-operator-account",
                            json_boolean((r->flags & API_OPERATOR_AS) != 0));
    if (op && r->fields && r->fields->name)
        json_object_set_new(op, "requestBody", request_body(r));
    if (op && (r->flags & API_CSV))
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b,s:{s:{s:{s:s}}}}", "required", 1, "content",
                                      "text/csv", "schema", "type", "string"));
    return op;
}

json_t *api_openapi(void)
{
    json_t *paths = json_object();
    for (size_t i = 0; paths && i < api_n_routes; i++) {
        const struct api_route *r = &api_routes[i];
        json_t *item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        char method[16];
        snprintf(method, sizeof method, "%s", api_method_name(r->method));
        for (char *p = method; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        json_object_set_new(item, method, operation(r));
    }
    return json_pack("{s:s,s:{s:s,s:s},s:o,s:[{s:[]}],s:{s:{s:{s:s,s:s}}}}", "openapi", "3.1.0",
                     "info", "title", "VCS management API", "version", PACKAGE_VERSION, "paths",
                     paths, "security", "bearer", "components", "securitySchemes", "bearer",
                     "type", "http", "scheme", "bearer");
}
