/* The platform's management data (SPEC 8): accounts and their users, API tokens, policies and
 * their attachments, the audit log and Idempotency-Key answers, in vcs.db beside the CDRs.
 * The API owns one iam_store and uses it from its own thread only: a connection of its own with
 * a busy timeout and short transactions, so management writes never wait for or block the CDR
 * writer for long. Tokens are "vcs_" + 16 hex id + 64 hex secret; only HMAC-SHA256 of the token
 * under a 32-byte server key (<data>/server.key, mode 0600, made with RAND_bytes) is kept, and
 * it is compared in constant time. Names of users and policies are per account. Reads return
 * jansson objects with the table's own field names; list pages are {"items": [...], "next":
 * cursor or null}, the cursor being the last item's key. */
#ifndef VCS_STORE_IAM_H
#define VCS_STORE_IAM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "iam/policy.h"

#define IAM_TOKEN_LEN 84     /* "vcs_" + 16 + 64 */
#define IAM_TOKEN_ID_LEN 16
#define IAM_NAME_MAX 32

enum iam_rc { IAM_OK = 0, IAM_NOT_FOUND, IAM_EXISTS, IAM_IN_USE, IAM_FAIL };

struct iam_store;

struct iam_store *iam_store_open(const char *data_dir, char *err, size_t errlen);
void iam_store_close(struct iam_store *s);
/* The connection itself, for the other modules of the platform's data (inventory.h). */
struct sqlite3 *iam_store_db(struct iam_store *s);

/* Names of accounts, users and policies: 1..32 of [A-Za-z0-9_.-], starting with a letter. */
int iam_name_valid(const char *name);

/* The account and user of a "vcs_" token that exists and has not expired. */
enum iam_rc iam_token_auth(struct iam_store *s, const char *token, char *account,
                           size_t accountlen, char *user, size_t userlen);
/* expires_at: ISO-8601 UTC as iso8601_ms writes it, or NULL. Fills token and id. */
enum iam_rc iam_token_create(struct iam_store *s, const char *account, const char *user,
                             const char *expires_at, char token[IAM_TOKEN_LEN + 1],
                             char id[IAM_TOKEN_ID_LEN + 1]);
enum iam_rc iam_token_revoke(struct iam_store *s, const char *account, const char *user,
                             const char *id);

struct iam_account_terms {
    int64_t rate_fen_per_minute, rent_fen_per_month, low_balance_fen;
    int64_t max_calls; /* -1: no limit */
};
/* The account, its main user (named as the account) and the main user's first token. */
enum iam_rc iam_account_create(struct iam_store *s, const char *name,
                               const struct iam_account_terms *terms,
                               char token[IAM_TOKEN_LEN + 1], char id[IAM_TOKEN_ID_LEN + 1]);
enum iam_rc iam_account_get(struct iam_store *s, const char *name, json_t **out);
enum iam_rc iam_account_list(struct iam_store *s, const char *after, int limit, json_t **page);

int iam_user_exists(struct iam_store *s, const char *account, const char *user);
enum iam_rc iam_user_create(struct iam_store *s, const char *account, const char *user);
/* IAM_IN_USE for the main user, which goes only with its account. */
enum iam_rc iam_user_delete(struct iam_store *s, const char *account, const char *user);
enum iam_rc iam_user_list(struct iam_store *s, const char *account, const char *after, int limit,
                          json_t **page);

/* statements is a checked policy document (iam_doc_parse). */
enum iam_rc iam_policy_create(struct iam_store *s, const char *account, const char *name,
                              json_t *statements);
/* IAM_IN_USE while attached to a user; system policies are not the account's (not found). */
enum iam_rc iam_policy_delete(struct iam_store *s, const char *account, const char *name);
/* The account's policies and the system ones ("system": true). */
enum iam_rc iam_policy_list(struct iam_store *s, const char *account, const char *after,
                            int limit, json_t **page);
/* IAM_EXISTS when already attached (nothing changes). */
enum iam_rc iam_policy_attach(struct iam_store *s, const char *account, const char *user,
                              const char *policy);
enum iam_rc iam_policy_detach(struct iam_store *s, const char *account, const char *user,
                              const char *policy);
/* The statements lists of every policy attached to the user (a JSON array of arrays). */
enum iam_rc iam_user_policy_docs(struct iam_store *s, const char *account, const char *user,
                                 json_t **out);

struct iam_audit_entry {
    const char *account, *user, *action, *resource, *method, *path;
    int allowed, status;
};
void iam_audit_add(struct iam_store *s, const struct iam_audit_entry *e);
/* account NULL: every account's entries (the operator). Newest last; cursor = id. */
enum iam_rc iam_audit_list(struct iam_store *s, const char *account, const char *after, int limit,
                           json_t **page);

/* The answer stored for (account, key) within the last 24 h: IAM_OK with *request_sha256 (64
 * hex), *status and *response (a string to free), or IAM_NOT_FOUND. */
enum iam_rc iam_idem_get(struct iam_store *s, const char *account, const char *key,
                         char request_sha256[65], int *status, char **response);
void iam_idem_put(struct iam_store *s, const char *account, const char *key,
                  const char *request_sha256, int status, const char *response);

#endif
