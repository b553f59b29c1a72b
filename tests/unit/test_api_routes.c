/* Unit tests for the route table (src/api/routes.c) and the description built from it
 * (src/api/openapi.c): every route names a real action, fills its resource from its own path,
 * is unique and consistent in its flags, and appears in /v1/openapi.json; path parameters are
 * decoded and an encoded '/' is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"

static void test_routes_consistent(void **state)
{
    (void)state;
    for (size_t i = 0; i < api_n_routes; i++) {
        const struct api_route *r = &api_routes[i];
        if (r->action && iam_action_class(r->action) == IAM_UNKNOWN)
            fail_msg("%s: unknown action %s", r->pattern, r->action);
        for (const char *p = r->resource ? strchr(r->resource, '{') : NULL; p;
             p = strchr(p + 1, '{')) {
            char name[40];
            snprintf(name, sizeof name, "%.*s", (int)(strchr(p, '}') - p + 1), p);
            if (!strstr(r->pattern, name))
                fail_msg("%s: resource %s uses %s, not in the path", r->pattern, r->resource,
                         name);
        }
        for (size_t k = i + 1; k < api_n_routes; k++) {
            if (api_routes[k].method == r->method && strcmp(api_routes[k].pattern, r->pattern) == 0)
                fail_msg("%s %s declared twice", api_method_name(r->method), r->pattern);
        }
        if ((r->flags & API_CREATES) && r->method != EVHTTP_REQ_POST)
            fail_msg("%s: only a POST creates", r->pattern);
        if ((r->flags & API_LIST) && r->method != EVHTTP_REQ_GET)
            fail_msg("%s: only a GET lists", r->pattern);
        if (r->fields && r->method == EVHTTP_REQ_GET)
            fail_msg("%s: a GET takes no body", r->pattern);
        if (r->status != 200 && r->status != 201 && r->status != 204)
            fail_msg("%s: success status %d", r->pattern, r->status);
        if (!r->handler || !r->summary)
            fail_msg("%s: handler and summary are required", r->pattern);
    }
}

static void test_openapi_lists_every_route(void **state)
{
    (void)state;
    json_t *doc = api_openapi();
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    size_t ops = 0;
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item) ops += json_object_size(item);
    assert_int_equal(ops, api_n_routes);
    for (size_t i = 0; i < api_n_routes; i++) {
        char m[16];
        snprintf(m, sizeof m, "%s", api_method_name(api_routes[i].method));
        for (char *p = m; *p; p++)
            *p = (char)(*p - 'A' + 'a');
        json_t *op = json_object_get(json_object_get(paths, api_routes[i].pattern), m);
        if (!op)
            fail_msg("%s %s missing from the description", m, api_routes[i].pattern);
        const char *action = json_string_value(json_object_get(op, "x-vcs-action"));
        if (api_routes[i].action ? !action || strcmp(action, api_routes[i].action) != 0 : !!action)
            fail_msg("%s %s: x-vcs-action differs", m, api_routes[i].pattern);
    }
    json_decref(doc);
}

static const struct api_route *route(const char *pattern, enum evhttp_cmd_type m)
{
    for (size_t i = 0; i < api_n_routes; i++) {
        if (api_routes[i].method == m && strcmp(api_routes[i].pattern, pattern) == 0)
            return &api_routes[i];
    }
    fail_msg("no route %s", pattern);
    return NULL;
}

static void test_match_and_resource(void **state)
{
    (void)state;
    const struct api_route *r = route("/v1/users/{name}/tokens/{id}", EVHTTP_REQ_DELETE);
    struct api_call c = { .route = r };
    assert_true(api_route_match(r, "/v1/users/cl%65rk/tokens/ab12", &c));
    assert_string_equal(api_param(&c, "name"), "clerk");
    assert_string_equal(api_param(&c, "id"), "ab12");
    assert_string_equal(api_param(&c, "nothing"), "");
    char res[64];
    api_resource(&c, res, sizeof res);
    assert_string_equal(res, "user:clerk");
    assert_false(api_route_match(r, "/v1/users/a%2Fb/tokens/x", &c));
    assert_false(api_route_match(r, "/v1/users//tokens/x", &c));
    assert_false(api_route_match(r, "/v1/users/a/tokens/x/", &c));
    assert_false(api_route_match(r, "/v1/users/a/tokens", &c));
    assert_false(api_route_match(r, "/v1/users/a%00b/tokens/x", &c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_consistent),
        cmocka_unit_test(test_openapi_lists_every_route),
        cmocka_unit_test(test_match_and_resource),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
