/* The authorization rules (see policy.h). */
#include "iam/policy.h"

#include <string.h>

static const char *const customer_actions[] = {
    "vcs:ListNumbers",   "vcs:GetNumber",      "vcs:OrderNumbers",  "vcs:UpdateNumber",
    "vcs:ReleaseNumber", "vcs:ListOrders",     "vcs:ListCalls",     "vcs:Originate",
    "vcs:HangupCall",    "vcs:ListCdrs",       "vcs:GetRecording",  "vcs:DeleteRecording",
    "vcs:ViewTrunks",    "vcs:ManageTrunks",   "vcs:ViewCampaigns", "vcs:ManageCampaigns",
    "vcs:ManageDnc",     "vcs:ViewBilling",    "vcs:ManageWebhooks", "vcs:ViewAudit",
    NULL,
};
static const char *const main_actions[] = { "vcs:ManageUsers", "vcs:ManagePolicies", NULL };
static const char *const operator_actions[] = {
    "vcs:ManageAccounts", "vcs:Recharge",     "vcs:ApproveOrders", "vcs:ImportNumbers",
    "vcs:ViewGateways",   "vcs:Reload",       "vcs:ViewMetrics",   "vcs:SetClock",
    "vcs:ImportRegions",  NULL,
};

static const char *const all[] = { "*" };
static const char *const full_actions[] = { "vcs:*" };
static const char *const read_actions[] = { "vcs:List*", "vcs:Get*", "vcs:View*" };
static const struct iam_statement full_st[] = { { full_actions, 1, all, 1 } };
static const struct iam_statement read_st[] = { { read_actions, 3, all, 1 } };
static const struct iam_policy system_policies[] = {
    { "AI_VCSFullControlAccessPolicy", full_st, 1 },
    { "AI_VCSReadOnlyAccessPolicy", read_st, 1 },
};
static const char *const system_names[] = { "AI_VCSFullControlAccessPolicy",
                                             "AI_VCSReadOnlyAccessPolicy", NULL };

bool iam_glob(const char *p, const char *t)
{
    /* Backtracking to the last '*' only: linear in practice, never exponential. */
    const char *star = NULL, *resume = NULL;
    while (*t) {
        if (*p == '*') {
            star = p++;
            resume = t;
        } else if (*p == *t) {
            p++;
            t++;
        } else if (star) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static bool listed(const char *const *list, const char *action)
{
    for (; *list; list++) {
        if (strcmp(*list, action) == 0)
            return true;
    }
    return false;
}

enum iam_class iam_action_class(const char *action)
{
    if (!action)
        return IAM_UNKNOWN;
    if (listed(customer_actions, action))
        return IAM_CUSTOMER;
    if (listed(main_actions, action))
        return IAM_MAIN;
    if (listed(operator_actions, action))
        return IAM_OPERATOR;
    return IAM_UNKNOWN;
}

const char *const *iam_actions(enum iam_class cls)
{
    switch (cls) {
    case IAM_CUSTOMER: return customer_actions;
    case IAM_MAIN: return main_actions;
    case IAM_OPERATOR: return operator_actions;
    default: return NULL;
    }
}

bool iam_action_pattern_valid(const char *pattern)
{
    for (const char *const *a = customer_actions; *a; a++) {
        if (iam_glob(pattern, *a))
            return true;
    }
    return false;
}

static bool any_glob(const char *const *patterns, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++) {
        if (iam_glob(patterns[i], text))
            return true;
    }
    return false;
}

bool iam_allowed(const struct iam_principal *p, const char *action, const char *resource)
{
    if (!p)
        return false;
    if (!action)
        return true;
    enum iam_class cls = iam_action_class(action);
    if (cls == IAM_UNKNOWN)
        return false;
    if (p->operator)
        return true;
    if (cls == IAM_OPERATOR)
        return false;
    if (p->main)
        return true;
    if (cls == IAM_MAIN)
        return false;
    for (size_t i = 0; i < p->n_policies; i++) {
        const struct iam_policy *pol = p->policies[i];
        for (size_t k = 0; pol && k < pol->n_statements; k++) {
            const struct iam_statement *s = &pol->statements[k];
            if (any_glob(s->actions, s->n_actions, action) &&
                any_glob(s->resources, s->n_resources, resource ? resource : ""))
                return true;
        }
    }
    return false;
}

const struct iam_policy *iam_system_policy(const char *name)
{
    for (size_t i = 0; name && i < sizeof system_policies / sizeof system_policies[0]; i++) {
        if (strcmp(system_policies[i].name, name) == 0)
            return &system_policies[i];
    }
    return NULL;
}

const char *const *iam_system_policy_names(void)
{
    return system_names;
}
