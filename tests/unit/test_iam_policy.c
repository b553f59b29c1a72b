/* Unit tests for the authorization rules (src/iam/policy.c) and policy documents
 * (src/iam/policy_doc.c): globs, the three classes of actions, the system policies, custom
 * statements on resources, and the refusal of documents that would not mean what they say. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "iam/policy.h"
#include "iam/policy_doc.h"

static void test_glob(void **state)
{
    (void)state;
    assert_true(iam_glob("*", ""));
    assert_true(iam_glob("*", "number:+861012345678"));
    assert_true(iam_glob("number:+8610*", "number:+861012345678"));
    assert_false(iam_glob("number:+8610*", "number:+862012345678"));
    assert_true(iam_glob("vcs:List*", "vcs:ListNumbers"));
    assert_false(iam_glob("vcs:List*", "vcs:GetNumber"));
    assert_true(iam_glob("a*b*c", "aXXbYYbZc"));
    assert_false(iam_glob("a*b*c", "aXXbYYbZ"));
    assert_true(iam_glob("exact", "exact"));
    assert_false(iam_glob("exact", "exactly"));
    assert_false(iam_glob("", "x"));
    assert_true(iam_glob("**", "x"));
}

static void test_classes(void **state)
{
    (void)state;
    assert_int_equal(iam_action_class("vcs:ListNumbers"), IAM_CUSTOMER);
    assert_int_equal(iam_action_class("vcs:ViewAudit"), IAM_CUSTOMER);
    assert_int_equal(iam_action_class("vcs:ManageUsers"), IAM_MAIN);
    assert_int_equal(iam_action_class("vcs:ManagePolicies"), IAM_MAIN);
    assert_int_equal(iam_action_class("vcs:ManageAccounts"), IAM_OPERATOR);
    assert_int_equal(iam_action_class("vcs:Reload"), IAM_OPERATOR);
    assert_int_equal(iam_action_class("vcs:Nothing"), IAM_UNKNOWN);
    assert_int_equal(iam_action_class(NULL), IAM_UNKNOWN);
    size_t n = 0;
    for (const char *const *a = iam_actions(IAM_CUSTOMER); *a; a++)
        n++;
    assert_int_equal(n, 20); /* the SPEC 8 list */
}

static const struct iam_principal operator_p = { .operator = true, .main = true };
static const struct iam_principal main_p = { .main = true };

static void test_operator_and_main(void **state)
{
    (void)state;
    assert_true(iam_allowed(&operator_p, "vcs:ManageAccounts", "account:*"));
    assert_true(iam_allowed(&operator_p, "vcs:ListNumbers", "number:+1"));
    assert_true(iam_allowed(&operator_p, "vcs:ManageUsers", "user:x"));
    assert_false(iam_allowed(&main_p, "vcs:ManageAccounts", "account:*"));
    assert_false(iam_allowed(&main_p, "vcs:Reload", "*"));
    assert_true(iam_allowed(&main_p, "vcs:ManageUsers", "user:x"));
    assert_true(iam_allowed(&main_p, "vcs:Originate", "*"));
    /* Unknown actions are nobody's, not even the operator's: a typo in a route fails closed. */
    assert_false(iam_allowed(&operator_p, "vcs:Typo", "*"));
    assert_true(iam_allowed(&main_p, NULL, NULL));
    assert_false(iam_allowed(NULL, NULL, NULL));
}

static void test_system_policies(void **state)
{
    (void)state;
    const struct iam_policy *full = iam_system_policy("AI_VCSFullControlAccessPolicy");
    const struct iam_policy *ro = iam_system_policy("AI_VCSReadOnlyAccessPolicy");
    assert_non_null(full);
    assert_non_null(ro);
    assert_null(iam_system_policy("AI_Other"));
    const struct iam_policy *fp[] = { full }, *rp[] = { ro };
    struct iam_principal f = { .policies = fp, .n_policies = 1 };
    struct iam_principal r = { .policies = rp, .n_policies = 1 };
    for (const char *const *a = iam_actions(IAM_CUSTOMER); *a; a++) {
        assert_true(iam_allowed(&f, *a, "number:+1"));
        bool read = strncmp(*a, "vcs:List", 8) == 0 || strncmp(*a, "vcs:Get", 7) == 0 ||
                    strncmp(*a, "vcs:View", 8) == 0;
        assert_int_equal(iam_allowed(&r, *a, "number:+1"), read);
    }
    /* Full control is every customer action, never user management nor the operator's. */
    assert_false(iam_allowed(&f, "vcs:ManageUsers", "user:*"));
    assert_false(iam_allowed(&f, "vcs:ManagePolicies", "policy:*"));
    assert_false(iam_allowed(&f, "vcs:ManageAccounts", "account:*"));
    assert_false(iam_allowed(&r, "vcs:ViewGateways", "*"));
    struct iam_principal none = { 0 };
    assert_false(iam_allowed(&none, "vcs:ListNumbers", "number:*"));
}

static struct iam_doc *doc(const char *text, char *err, size_t errlen)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    struct iam_doc *d = iam_doc_parse("p", j, err, errlen);
    json_decref(j);
    return d;
}

static void test_custom_policy(void **state)
{
    (void)state;
    char err[256];
    struct iam_doc *d = doc("[{\"actions\": [\"vcs:GetNumber\", \"vcs:UpdateNumber\"],"
                            "  \"resources\": [\"number:+8610*\"]},"
                            " {\"actions\": [\"vcs:List*\"], \"resources\": [\"*\"]}]",
                            err, sizeof err);
    assert_non_null(d);
    const struct iam_policy *pp[] = { iam_doc_policy(d) };
    struct iam_principal p = { .policies = pp, .n_policies = 1 };
    assert_true(iam_allowed(&p, "vcs:GetNumber", "number:+861012345678"));
    assert_false(iam_allowed(&p, "vcs:GetNumber", "number:+862012345678"));
    assert_true(iam_allowed(&p, "vcs:UpdateNumber", "number:+8610"));
    assert_false(iam_allowed(&p, "vcs:ReleaseNumber", "number:+861012345678"));
    assert_true(iam_allowed(&p, "vcs:ListCdrs", "cdr:*"));
    assert_false(iam_allowed(&p, "vcs:ManageUsers", "user:x"));
    iam_doc_free(d);

    /* A policy cannot grant what is the main user's or the operator's. */
    d = doc("[{\"actions\": [\"*\"], \"resources\": [\"*\"]}]", err, sizeof err);
    assert_non_null(d);
    const struct iam_policy *all[] = { iam_doc_policy(d) };
    struct iam_principal q = { .policies = all, .n_policies = 1 };
    assert_true(iam_allowed(&q, "vcs:Originate", "*"));
    assert_false(iam_allowed(&q, "vcs:ManagePolicies", "policy:*"));
    assert_false(iam_allowed(&q, "vcs:Recharge", "account:x"));
    iam_doc_free(d);
}

static void test_bad_documents(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        { "[]", "statements must be" },
        { "{}", "statements must be" },
        { "[1]", "statements[0] must be an object" },
        { "[{\"actions\": [\"vcs:GetNumber\"]}]", "statements[0].resources must be" },
        { "[{\"actions\": [], \"resources\": [\"*\"]}]", "statements[0].actions must be" },
        { "[{\"actions\": [\"vcs:Nope\"], \"resources\": [\"*\"]}]", "matches no action" },
        { "[{\"actions\": [\"vcs:ManageUsers\"], \"resources\": [\"*\"]}]", "matches no action" },
        { "[{\"actions\": [\"vcs:GetNumber\"], \"resources\": [\"a b\"]}]", "printable" },
        { "[{\"actions\": [\"vcs:GetNumber\"], \"resources\": [7]}]", "must be a string" },
        { "[{\"actions\": [\"vcs:GetNumber\"], \"resources\": [\"*\"], \"effect\": \"deny\"}]",
          "unknown key" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        struct iam_doc *d = doc(cases[i].json, err, sizeof err);
        if (d || !strstr(err, cases[i].msg))
            fail_msg("%s: got %s, wanted \"%s\"", cases[i].json, d ? "a policy" : err,
                     cases[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_operator_and_main),
        cmocka_unit_test(test_system_policies),
        cmocka_unit_test(test_custom_policy),
        cmocka_unit_test(test_bad_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
