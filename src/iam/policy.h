/* The authorization rules of SPEC 8, as a pure module (no I/O, no allocation): which principal
 * may do which action on which resource. Actions fall in three classes: customer actions
 * (vcs:ListNumbers ...), granted by policies; main-user actions (user and policy management),
 * which only an account's main user has; operator actions (accounts, recharges, order approval,
 * number import, gateways, reload, metrics), which only the operator has. The operator may do
 * everything, a main user everything on its own account but the operator actions, a sub-user
 * what one statement of one of its policies allows. Actions and resources of a statement are
 * globs where '*' matches any run of characters. */
#ifndef VCS_IAM_POLICY_H
#define VCS_IAM_POLICY_H

#include <stdbool.h>
#include <stddef.h>

enum iam_class {
    IAM_UNKNOWN = -1,
    IAM_CUSTOMER, /* granted by policies */
    IAM_MAIN,     /* the main user of the account (and the operator) */
    IAM_OPERATOR, /* the operator alone */
};

struct iam_statement {
    const char *const *actions;
    size_t n_actions;
    const char *const *resources;
    size_t n_resources;
};

struct iam_policy {
    const char *name;
    const struct iam_statement *statements;
    size_t n_statements;
};

struct iam_principal {
    bool operator; /* the main user of the operator account */
    bool main;     /* the main user of its account */
    const struct iam_policy *const *policies;
    size_t n_policies;
};

/* '*' matches any run of characters (also none); every other character matches itself. */
bool iam_glob(const char *pattern, const char *text);

enum iam_class iam_action_class(const char *action);

/* Every action of the given class, in a fixed order (NULL-terminated array). */
const char *const *iam_actions(enum iam_class cls);

/* True when the glob matches at least one customer action: a statement naming nothing real is
 * a typo that would silently grant nothing. */
bool iam_action_pattern_valid(const char *pattern);

/* action NULL: any authenticated principal. resource: "kind:name", "kind:*" for lists. */
bool iam_allowed(const struct iam_principal *p, const char *action, const char *resource);

/* AI_VCSFullControlAccessPolicy and AI_VCSReadOnlyAccessPolicy; NULL for any other name. */
const struct iam_policy *iam_system_policy(const char *name);
const char *const *iam_system_policy_names(void);

#endif
