/* Custom policy documents (SPEC 8): the JSON statements list
 * [{"actions": ["vcs:List*", ...], "resources": ["number:+8610*", "*"]}, ...] checked and turned
 * into an iam_policy for the matcher. Checking is strict so that a stored policy always means
 * what its author read: unknown keys, empty lists, actions that name no customer action and
 * non-printable text are refused with a message naming the place. */
#ifndef VCS_IAM_POLICY_DOC_H
#define VCS_IAM_POLICY_DOC_H

#include <stddef.h>

#include <jansson.h>

#include "iam/policy.h"

#define IAM_MAX_STATEMENTS 32
#define IAM_MAX_ENTRIES 64
#define IAM_MAX_PATTERN 128

struct iam_doc; /* owns an iam_policy and everything it points to */

/* statements is borrowed (a reference is taken). NULL with err filled when it is not valid. */
struct iam_doc *iam_doc_parse(const char *name, json_t *statements, char *err, size_t errlen);
const struct iam_policy *iam_doc_policy(const struct iam_doc *d);
void iam_doc_free(struct iam_doc *d);

#endif
