/* trunks: sources by allow list, username and registration; managed trunks replaced whole and
 * shadowed by configured ones of the same name or username; registrations kept across an
 * update, dropped with their trunk, expiring; where a call to a trunk goes; HA1 (RFC 2617's
 * example). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "trunk/trunks.h"

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5060);
    assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
    return sin;
}

#define SA(s) ((const struct sockaddr *)&(s))

static struct trunks *make(void)
{
    static struct vcs_config cfg;
    config_defaults(&cfg);
    cfg.n_trunks = 1;
    struct trunk_config *t = &cfg.trunks[0];
    snprintf(t->name, sizeof t->name, "cfg");
    snprintf(t->account, sizeof t->account, "acct");
    t->n_allow = 1;
    assert_int_equal(config_parse_cidr("192.0.2.0/24", &t->allow[0]), 0);
    snprintf(t->username, sizeof t->username, "cfg-user");
    snprintf(t->password, sizeof t->password, "pw");
    t->max_calls = 7;
    snprintf(t->address_host, sizeof t->address_host, "192.0.2.9");
    t->address_port = 5080;
    struct trunks *tr = trunks_create(&cfg, "realm");
    assert_non_null(tr);
    return tr;
}

static struct trunk_def managed(const char *name, const char *user, const char *cidr)
{
    struct trunk_def d;
    memset(&d, 0, sizeof d);
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.account, sizeof d.account, "m-%s", name);
    snprintf(d.username, sizeof d.username, "%s", user);
    if (cidr) {
        d.n_allow = 1;
        assert_int_equal(config_parse_cidr(cidr, &d.allow[0]), 0);
    }
    return d;
}

static void test_ha1(void **state)
{
    char h[TRUNK_HA1_LEN + 1];
    trunks_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", h);
    assert_string_equal(h, "939e7578ed9e3c518a452acee763bce9");
}

static void test_lookups(void **state)
{
    struct trunks *t = make();
    struct trunk_match m;
    struct sockaddr_in in = v4("192.0.2.77"), out = v4("198.51.100.1");
    assert_true(trunks_any(t));
    assert_true(trunks_by_address(t, SA(in), &m));
    assert_string_equal(m.name, "cfg");
    assert_string_equal(m.account, "acct");
    assert_int_equal(m.max_calls, 7);
    assert_false(trunks_by_address(t, SA(out), &m));
    assert_true(trunks_by_username(t, "cfg-user", &m));
    assert_false(trunks_by_username(t, "nobody", &m));
    assert_true(trunks_config_has(t, "cfg", NULL));
    assert_true(trunks_config_has(t, "x", "cfg-user"));
    assert_false(trunks_config_has(t, "x", "y"));
    trunks_destroy(t);
}

static void test_managed_replaced_and_shadowed(void **state)
{
    struct trunks *t = make();
    uint64_t v = trunks_version(t);
    struct trunk_def defs[] = { managed("a", "ua", "198.51.100.0/24"), managed("cfg", "", NULL),
                                managed("b", "cfg-user", NULL) };
    assert_int_equal(trunks_set_managed(t, defs, 3), 0);
    assert_true(trunks_version(t) > v);
    struct trunk_match m;
    struct sockaddr_in a = v4("198.51.100.1");
    assert_true(trunks_by_address(t, SA(a), &m));
    assert_string_equal(m.account, "m-a");
    assert_true(trunks_get(t, "cfg", &m));
    assert_string_equal(m.account, "acct"); /* the configuration's, not the shadowed one */
    assert_false(trunks_get(t, "b", &m));
    assert_true(trunks_by_username(t, "cfg-user", &m));
    assert_string_equal(m.name, "cfg");
    assert_int_equal(trunks_set_managed(t, NULL, 0), 0);
    assert_false(trunks_get(t, "a", &m));
    trunks_destroy(t);
}

static void test_registration_and_route(void **state)
{
    struct trunks *t = make();
    struct trunk_def defs[] = { managed("a", "ua", NULL) };
    assert_int_equal(trunks_set_managed(t, defs, 1), 0);
    char uri[128];
    assert_int_equal(trunks_route(t, "cfg", 1000, uri, sizeof uri), 0);
    assert_string_equal(uri, "sip:192.0.2.9:5080");
    assert_int_equal(trunks_route(t, "a", 1000, uri, sizeof uri), -1); /* no address */
    assert_int_equal(trunks_route(t, "nobody", 1000, uri, sizeof uri), -1);

    struct trunk_reg r = { .trunk = "a", .contact = "sip:pbx@203.0.113.5:5062",
                           .source = "203.0.113.5", .expires_ms = 5000 };
    assert_int_equal(trunks_register(t, &r), 0);
    struct trunk_match m;
    struct sockaddr_in src = v4("203.0.113.5"), other = v4("203.0.113.6");
    assert_true(trunks_by_registered(t, SA(src), 4999, &m));
    assert_string_equal(m.name, "a");
    assert_false(trunks_by_registered(t, SA(other), 4999, &m));
    assert_false(trunks_by_registered(t, SA(src), 5000, &m)); /* expired */
    assert_int_equal(trunks_route(t, "a", 4999, uri, sizeof uri), 0);
    assert_string_equal(uri, "sip:pbx@203.0.113.5:5062");

    /* an update keeps the binding; removing the trunk drops it */
    assert_int_equal(trunks_set_managed(t, defs, 1), 0);
    assert_true(trunks_by_registered(t, SA(src), 4000, &m));
    assert_int_equal(trunks_set_managed(t, NULL, 0), 0);
    assert_false(trunks_by_registered(t, SA(src), 4000, &m));
    r.expires_ms = 0;
    assert_int_equal(trunks_register(t, &r), -1); /* no such trunk any more */

    /* unbinding: the static address again */
    struct trunk_reg c = { .trunk = "cfg", .contact = "sip:x@203.0.113.7", .source = "203.0.113.7",
                           .expires_ms = 9000 };
    assert_int_equal(trunks_register(t, &c), 0);
    assert_int_equal(trunks_route(t, "cfg", 1000, uri, sizeof uri), 0);
    assert_string_equal(uri, "sip:x@203.0.113.7");
    c.expires_ms = 0;
    assert_int_equal(trunks_register(t, &c), 0);
    assert_int_equal(trunks_route(t, "cfg", 1000, uri, sizeof uri), 0);
    assert_string_equal(uri, "sip:192.0.2.9:5080");
    trunks_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ha1),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_managed_replaced_and_shadowed),
        cmocka_unit_test(test_registration_and_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
