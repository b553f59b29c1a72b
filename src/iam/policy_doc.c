/* Custom policy documents (see policy_doc.h). The policy points into the JSON strings, which the
 * document keeps a reference to, so one allocation holds all the pointer arrays. */
#include "iam/policy_doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errmsg.h"

struct iam_doc {
    struct iam_policy policy;
    json_t *json;
    char *name;
    struct iam_statement *statements;
    const char **strings;
};

static int check_pattern(const char *s, const char *where, size_t k, char *err, size_t errlen)
{
    size_t len = strlen(s);
    if (len == 0 || len > IAM_MAX_PATTERN) {
        set_err(err, errlen, "%s[%zu] must hold 1 to %d characters", where, k, IAM_MAX_PATTERN);
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            set_err(err, errlen, "%s[%zu] must be printable ASCII without spaces", where, k);
            return -1;
        }
    }
    return 0;
}

/* Counts the strings of a statement's list after checking them. */
static int check_list(json_t *st, const char *key, size_t i, size_t *count, char *err,
                      size_t errlen)
{
    json_t *list = json_object_get(st, key);
    char where[64];
    snprintf(where, sizeof where, "statements[%zu].%s", i, key);
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > IAM_MAX_ENTRIES) {
        set_err(err, errlen, "%s must be a list of 1 to %d strings", where, IAM_MAX_ENTRIES);
        return -1;
    }
    for (size_t k = 0; k < json_array_size(list); k++) {
        const char *s = json_string_value(json_array_get(list, k));
        if (!s) {
            set_err(err, errlen, "%s[%zu] must be a string", where, k);
            return -1;
        }
        if (check_pattern(s, where, k, err, errlen) != 0)
            return -1;
        if (strcmp(key, "actions") == 0 && !iam_action_pattern_valid(s)) {
            set_err(err, errlen, "%s[%zu]: \"%s\" matches no action a policy can grant", where,
                    k, s);
            return -1;
        }
    }
    *count += json_array_size(list);
    return 0;
}

static int check(json_t *statements, size_t *n_strings, char *err, size_t errlen)
{
    if (!json_is_array(statements) || json_array_size(statements) == 0 ||
        json_array_size(statements) > IAM_MAX_STATEMENTS) {
        set_err(err, errlen, "statements must be a list of 1 to %d objects", IAM_MAX_STATEMENTS);
        return -1;
    }
    *n_strings = 0;
    for (size_t i = 0; i < json_array_size(statements); i++) {
        json_t *st = json_array_get(statements, i);
        if (!json_is_object(st)) {
            set_err(err, errlen, "statements[%zu] must be an object", i);
            return -1;
        }
        const char *key;
        json_t *v;
        json_object_foreach(st, key, v) {
            if (strcmp(key, "actions") != 0 && strcmp(key, "resources") != 0) {
                set_err(err, errlen, "statements[%zu]: unknown key \"%.64s\"", i, key);
                return -1;
            }
        }
        if (check_list(st, "actions", i, n_strings, err, errlen) != 0 ||
            check_list(st, "resources", i, n_strings, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static const char *const *fill(json_t *list, const char **strings, size_t *used, size_t *n)
{
    const char **first = strings + *used;
    *n = json_array_size(list);
    for (size_t k = 0; k < *n; k++)
        strings[(*used)++] = json_string_value(json_array_get(list, k));
    return first;
}

struct iam_doc *iam_doc_parse(const char *name, json_t *statements, char *err, size_t errlen)
{
    size_t n_strings;
    if (check(statements, &n_strings, err, errlen) != 0)
        return NULL;
    size_t n = json_array_size(statements);
    struct iam_doc *d = calloc(1, sizeof *d);
    if (d) {
        d->statements = calloc(n, sizeof *d->statements);
        d->strings = calloc(n_strings, sizeof *d->strings);
        d->name = strdup(name ? name : "");
    }
    if (!d || !d->statements || !d->strings || !d->name) {
        set_err(err, errlen, "out of memory");
        iam_doc_free(d);
        return NULL;
    }
    d->json = json_incref(statements);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *st = json_array_get(statements, i);
        d->statements[i].actions =
            fill(json_object_get(st, "actions"), d->strings, &used, &d->statements[i].n_actions);
        d->statements[i].resources = fill(json_object_get(st, "resources"), d->strings, &used,
                                          &d->statements[i].n_resources);
    }
    d->policy = (struct iam_policy){ d->name, d->statements, n };
    return d;
}

const struct iam_policy *iam_doc_policy(const struct iam_doc *d)
{
    return d ? &d->policy : NULL;
}

void iam_doc_free(struct iam_doc *d)
{
    if (!d)
        return;
    json_decref(d->json);
    free(d->name);
    free(d->statements);
    free(d->strings);
    free(d);
}
