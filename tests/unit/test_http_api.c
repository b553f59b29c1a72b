/* Unit tests for the management API (src/api/http_api.c): a real store in a temporary data
 * directory for the token, fake engine operations, and libevent's HTTP client on the same event
 * base as the server, so each request is served and answered within one loop run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "api/http_api.h"
#include "store/store.h"

struct fake_engine {
    int calls;
    int draining;
    int fail_reload;
    long version;
    char *scripts[2];
};

struct fixture {
    char dir[64];
    char token[256];
    struct event_base *base;
    struct store *st;
    struct api_server *api;
    uint16_t port;
    struct fake_engine eng;
};

struct resp {
    struct event_base *base;
    int status;
    json_t *json;
    char allow[64];
    char www_auth[64];
    char content_type[64];
};

static void fake_health(void *ctx, struct api_health *out)
{
    struct fake_engine *e = ctx;
    out->calls = e->calls;
    out->draining = e->draining;
    out->uptime_s = 7;
}

static int fake_reload(void *ctx, struct api_reload_result *res, char *err, size_t errlen)
{
    struct fake_engine *e = ctx;
    if (e->fail_reload) {
        snprintf(err, errlen, "dialplans/x.lua:2: unexpected symbol near 'end'");
        return -1;
    }
    res->version = ++e->version;
    res->n_scripts = 2;
    res->scripts = e->scripts;
    return 0;
}

/* A port that was free a moment ago: the API has no accessor for the one it bound. */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sin;
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_http_api.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char err[256];
    f->st = store_open(f->dir, err, sizeof err);
    assert_non_null(f->st);
    char path[128];
    snprintf(path, sizeof path, "%s/admin.token", f->dir);
    FILE *tf = fopen(path, "r");
    assert_non_null(tf);
    assert_non_null(fgets(f->token, sizeof f->token, tf));
    fclose(tf);
    f->token[strcspn(f->token, "\r\n")] = '\0';

    f->eng.scripts[0] = "ivr_demo";
    f->eng.scripts[1] = "notify";
    f->base = event_base_new();
    f->port = free_port();
    struct api_ops ops = { .ctx = &f->eng, .health = fake_health, .reload = fake_reload };
    f->api = api_start(f->base, "127.0.0.1", f->port, f->st, &ops, err, sizeof err);
    assert_non_null(f->api);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    api_stop(f->api);
    event_base_free(f->base);
    store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void copy_header(struct evhttp_request *req, const char *name, char *out, size_t len)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, len, "%s", v ? v : "");
}

static void on_response(struct evhttp_request *req, void *arg)
{
    struct resp *r = arg;
    if (req) {
        r->status = evhttp_request_get_response_code(req);
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        r->json = json_loadb((const char *)evbuffer_pullup(in, -1), n, 0, NULL);
        copy_header(req, "Allow", r->allow, sizeof r->allow);
        copy_header(req, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
        copy_header(req, "Content-Type", r->content_type, sizeof r->content_type);
    }
    event_base_loopbreak(r->base);
}

/* auth: the Authorization header value, or NULL for none. */
static void request(struct fixture *f, enum evhttp_cmd_type method, const char *path,
                    const char *auth, const char *body, size_t body_len, struct resp *r)
{
    memset(r, 0, sizeof *r);
    r->base = f->base;
    struct evhttp_connection *conn = evhttp_connection_base_new(f->base, NULL, "127.0.0.1",
                                                                f->port);
    evhttp_connection_set_timeout(conn, 5); /* a bug fails the test instead of hanging it */
    struct evhttp_request *req = evhttp_request_new(on_response, r);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    if (auth)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization", auth);
    if (body)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, body_len);
    assert_int_equal(evhttp_make_request(conn, req, method, path), 0);
    event_base_dispatch(f->base);
    evhttp_connection_free(conn);
}

static void authed(struct fixture *f, enum evhttp_cmd_type method, const char *path,
                   const char *body, struct resp *r)
{
    char auth[300];
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    request(f, method, path, auth, body, body ? strlen(body) : 0, r);
}

static void assert_error(const struct resp *r, int status, const char *code)
{
    assert_int_equal(r->status, status);
    assert_string_equal(r->content_type, "application/json");
    json_t *e = json_object_get(r->json, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "message")));
}

static void test_missing_token_is_401(void **state)
{
    struct resp r;
    request(*state, EVHTTP_REQ_GET, "/v1/health", NULL, NULL, 0, &r);
    assert_error(&r, 401, "unauthorized");
    assert_non_null(strstr(r.www_auth, "Bearer"));
    json_decref(r.json);
}

static void test_wrong_token_is_401(void **state)
{
    struct resp r;
    request(*state, EVHTTP_REQ_GET, "/v1/health", "Bearer not-the-token", NULL, 0, &r);
    assert_error(&r, 401, "unauthorized");
    json_decref(r.json);
    request(*state, EVHTTP_REQ_GET, "/v1/health", "Basic YWRtaW46eA==", NULL, 0, &r);
    assert_error(&r, 401, "unauthorized");
    json_decref(r.json);
}

static void test_unknown_path_needs_auth_too(void **state)
{
    struct resp r;
    request(*state, EVHTTP_REQ_GET, "/v1/nothing", NULL, NULL, 0, &r);
    assert_error(&r, 401, "unauthorized");
    json_decref(r.json);
}

static void test_health_ok(void **state)
{
    struct fixture *f = *state;
    f->eng.calls = 12;
    struct resp r;
    authed(f, EVHTTP_REQ_GET, "/v1/health?verbose=1", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    assert_true(json_is_string(json_object_get(r.json, "version")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "uptime_s")), 7);
    assert_int_equal(json_integer_value(json_object_get(r.json, "calls")), 12);
    assert_true(json_is_false(json_object_get(r.json, "draining")));
    json_decref(r.json);
}

static void test_health_draining_is_503(void **state)
{
    struct fixture *f = *state;
    f->eng.draining = 1;
    struct resp r;
    authed(f, EVHTTP_REQ_GET, "/v1/health", NULL, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "draining");
    assert_true(json_is_true(json_object_get(r.json, "draining")));
    json_decref(r.json);
}

static void test_reload_ok(void **state)
{
    struct fixture *f = *state;
    f->eng.version = 4;
    struct resp r;
    authed(f, EVHTTP_REQ_POST, "/v1/reload", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 5);
    json_t *s = json_object_get(r.json, "scripts");
    assert_int_equal(json_array_size(s), 2);
    assert_string_equal(json_string_value(json_array_get(s, 0)), "ivr_demo");
    assert_string_equal(json_string_value(json_array_get(s, 1)), "notify");
    json_decref(r.json);
    /* an empty JSON object is an accepted body too */
    authed(f, EVHTTP_REQ_POST, "/v1/reload", " {} ", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 6);
    json_decref(r.json);
}

static void test_reload_script_error_is_422(void **state)
{
    struct fixture *f = *state;
    f->eng.fail_reload = 1;
    struct resp r;
    authed(f, EVHTTP_REQ_POST, "/v1/reload", NULL, &r);
    assert_error(&r, 422, "script_error");
    const char *msg = json_string_value(json_object_get(json_object_get(r.json, "error"),
                                                        "message"));
    assert_string_equal(msg, "dialplans/x.lua:2: unexpected symbol near 'end'");
    json_decref(r.json);
    assert_int_equal(f->eng.version, 0);
}

static void test_malformed_body_is_400(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    authed(f, EVHTTP_REQ_POST, "/v1/reload", "{\"force\": tru", &r);
    assert_error(&r, 400, "bad_request");
    const char *msg = json_string_value(json_object_get(json_object_get(r.json, "error"),
                                                        "message"));
    assert_non_null(strstr(msg, "line 1 column"));
    json_decref(r.json);
    authed(f, EVHTTP_REQ_POST, "/v1/reload", "[1, 2]", &r);
    assert_error(&r, 400, "bad_request");
    json_decref(r.json);
    char auth[300];
    snprintf(auth, sizeof auth, "Bearer %s", f->token);
    request(f, EVHTTP_REQ_POST, "/v1/reload", auth, "{\"a\":\"\0\"}", 9, &r);
    assert_error(&r, 400, "bad_request");
    json_decref(r.json);
    assert_int_equal(f->eng.version, 0); /* a rejected request never reached the engine */
}

static void test_oversized_body_is_413(void **state)
{
    struct fixture *f = *state;
    size_t n = 2 * 1024 * 1024;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    struct resp r;
    authed(f, EVHTTP_REQ_POST, "/v1/reload", big, &r);
    free(big);
    assert_int_equal(r.status, 413);
    json_decref(r.json);
    assert_int_equal(f->eng.version, 0);
}

static void test_unknown_path_is_404(void **state)
{
    struct resp r;
    authed(*state, EVHTTP_REQ_GET, "/v1/nothing", NULL, &r);
    assert_error(&r, 404, "not_found");
    json_decref(r.json);
    authed(*state, EVHTTP_REQ_GET, "/v1/health/", NULL, &r);
    assert_error(&r, 404, "not_found");
    json_decref(r.json);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    struct resp r;
    authed(*state, EVHTTP_REQ_GET, "/v1/reload", NULL, &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_string_equal(r.allow, "POST");
    json_decref(r.json);
    authed(*state, EVHTTP_REQ_DELETE, "/v1/health", NULL, &r);
    assert_error(&r, 405, "method_not_allowed");
    assert_string_equal(r.allow, "GET, HEAD");
    json_decref(r.json);
}

static void test_busy_port_is_an_error(void **state)
{
    struct fixture *f = *state;
    struct api_ops ops = { .ctx = &f->eng, .health = fake_health, .reload = fake_reload };
    char err[256] = "";
    assert_null(api_start(f->base, "127.0.0.1", f->port, f->st, &ops, err, sizeof err));
    assert_non_null(strstr(err, "cannot listen on 127.0.0.1:"));
    struct api_ops none = { 0 };
    assert_null(api_start(f->base, "127.0.0.1", 0, f->st, &none, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_token_is_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_token_is_401, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_needs_auth_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_draining_is_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_script_error_is_422, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_body_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_body_is_413, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_path_is_404, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_method_is_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_port_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
