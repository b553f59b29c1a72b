/* The platform's management data (see iam.h). */
#include "store/iam.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/digest.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "store/db_open.h"
#include "store/mgmt_sql.h"

/* The API thread waits at most this long for the CDR writer's transaction to end. */
#define IAM_BUSY_TIMEOUT_MS 2000
#define SERVER_KEY_BYTES 32
#define IDEM_TTL_MS (24 * 3600 * 1000LL)
/* A record of something already done (an idempotency key, an audit entry) is worth a longer
 * wait than a request: tried this many times while another connection writes, each try
 * waiting out IAM_BUSY_TIMEOUT_MS (6 s in all). */
#define RECORD_TRIES 3

struct iam_store {
    sqlite3 *db;
    unsigned char key[SERVER_KEY_BYTES];
};

static int token_hmac(const struct iam_store *s, const char *token, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), s->key, sizeof s->key, (const unsigned char *)token, strlen(token),
              md, &mdlen) || mdlen != 32)
        return -1;
    hex_encode(md, mdlen, out);
    return 0;
}

static void now_iso(char out[ISO8601_LEN])
{
    iso8601_ms(clock_wall_ms(), out);
}

int iam_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > IAM_NAME_MAX || !isalpha((unsigned char)name[0]))
        return 0;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
            return 0;
    }
    return 1;
}

/* ---- tokens ----------------------------------------------------------------------------- */

static int random_hex(char *out, size_t bytes)
{
    unsigned char raw[64];
    if (bytes > sizeof raw || RAND_bytes(raw, (int)bytes) != 1)
        return -1;
    hex_encode(raw, bytes, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

/* Inside the caller's transaction. */
static enum iam_rc insert_token(struct iam_store *s, const char *account, const char *user,
                                const char *expires_at, char token[IAM_TOKEN_LEN + 1],
                                char id[IAM_TOKEN_ID_LEN + 1])
{
    char secret[65], mac[65], now[ISO8601_LEN];
    if (random_hex(id, IAM_TOKEN_ID_LEN / 2) != 0 || random_hex(secret, 32) != 0)
        return IAM_FAIL;
    snprintf(token, IAM_TOKEN_LEN + 1, "vcs_%s%s", id, secret);
    OPENSSL_cleanse(secret, sizeof secret);
    if (token_hmac(s, token, mac) != 0)
        return IAM_FAIL;
    now_iso(now);
    const char *v[] = { id, account, user, mac, now, expires_at };
    return msql_run(s->db, "INSERT INTO user_tokens(id, account, user, hmac_sha256, created_at,"
                  " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", v, 6) == SQLITE_DONE
               ? IAM_OK : IAM_FAIL;
}

enum iam_rc iam_token_auth(struct iam_store *s, const char *token, char *account,
                           size_t accountlen, char *user, size_t userlen)
{
    if (!token || strlen(token) != IAM_TOKEN_LEN || strncmp(token, "vcs_", 4) != 0)
        return IAM_NOT_FOUND;
    char id[IAM_TOKEN_ID_LEN + 1], mac[65], now[ISO8601_LEN];
    memcpy(id, token + 4, IAM_TOKEN_ID_LEN);
    id[IAM_TOKEN_ID_LEN] = '\0';
    if (token_hmac(s, token, mac) != 0)
        return IAM_FAIL;
    now_iso(now);
    sqlite3_stmt *st = msql_prep(s->db, "SELECT account, user, hmac_sha256, expires_at FROM user_tokens"
                               " WHERE id = ?1");
    if (!st)
        return IAM_FAIL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    enum iam_rc rc = IAM_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *stored = (const char *)sqlite3_column_text(st, 2);
        const char *expires = (const char *)sqlite3_column_text(st, 3);
        if (stored && strlen(stored) == 64 && CRYPTO_memcmp(stored, mac, 64) == 0 &&
            (!expires || strcmp(expires, now) > 0) &&
            msql_copy_text(st, 0, account, accountlen) == 0 && msql_copy_text(st, 1, user, userlen) == 0)
            rc = IAM_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int iam_user_exists(struct iam_store *s, const char *account, const char *user)
{
    const char *v[] = { account, user };
    return msql_count(s->db, "SELECT count(*) FROM users WHERE account = ?1 AND name = ?2", v, 2) == 1;
}

enum iam_rc iam_token_create(struct iam_store *s, const char *account, const char *user,
                             const char *expires_at, char token[IAM_TOKEN_LEN + 1],
                             char id[IAM_TOKEN_ID_LEN + 1])
{
    if (msql_begin(s->db) != 0)
        return IAM_FAIL;
    enum iam_rc rc = iam_user_exists(s, account, user)
                         ? insert_token(s, account, user, expires_at, token, id)
                         : IAM_NOT_FOUND;
    return msql_commit(s->db, rc);
}

enum iam_rc iam_token_revoke(struct iam_store *s, const char *account, const char *user,
                             const char *id)
{
    const char *v[] = { account, user, id };
    if (msql_run(s->db, "DELETE FROM user_tokens WHERE account = ?1 AND user = ?2 AND id = ?3", v, 3) !=
        SQLITE_DONE)
        return IAM_FAIL;
    return sqlite3_changes(s->db) ? IAM_OK : IAM_NOT_FOUND;
}

/* ---- accounts and users ----------------------------------------------------------------- */

enum iam_rc iam_account_create(struct iam_store *s, const char *name,
                               const struct iam_account_terms *t,
                               char token[IAM_TOKEN_LEN + 1], char id[IAM_TOKEN_ID_LEN + 1])
{
    char now[ISO8601_LEN];
    now_iso(now);
    if (msql_begin(s->db) != 0)
        return IAM_FAIL;
    enum iam_rc rc = IAM_FAIL;
    sqlite3_stmt *st = msql_prep(s->db, "INSERT INTO accounts(name, balance_fen, created_at,"
                               " rate_fen_per_minute, rent_fen_per_month, max_calls,"
                               " low_balance_fen) VALUES (?1, 0, ?2, ?3, ?4, ?5, ?6)");
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, t->rate_fen_per_minute);
        sqlite3_bind_int64(st, 4, t->rent_fen_per_month);
        if (t->max_calls >= 0)
            sqlite3_bind_int64(st, 5, t->max_calls);
        sqlite3_bind_int64(st, 6, t->low_balance_fen);
        int r = sqlite3_step(st);
        rc = r == SQLITE_DONE ? IAM_OK : (r & 0xff) == SQLITE_CONSTRAINT ? IAM_EXISTS : IAM_FAIL;
        sqlite3_finalize(st);
    }
    const char *v[] = { name, now };
    if (rc == IAM_OK && msql_run(s->db, "INSERT INTO users(account, name, main, created_at)"
                               " VALUES (?1, ?1, 1, ?2)", v, 2) != SQLITE_DONE)
        rc = IAM_FAIL;
    if (rc == IAM_OK)
        rc = insert_token(s, name, name, NULL, token, id);
    return msql_commit(s->db, rc);
}

static const char account_columns[] =
    "SELECT name, balance_fen, rate_fen_per_minute, rent_fen_per_month, max_calls,"
    " low_balance_fen, created_at FROM accounts";

enum iam_rc iam_account_get(struct iam_store *s, const char *name, json_t **out)
{
    *out = NULL;
    char sql[256];
    snprintf(sql, sizeof sql, "%s WHERE name = ?1", account_columns);
    sqlite3_stmt *st = msql_prep(s->db, sql);
    if (!st)
        return IAM_FAIL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = msql_row_json(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return *out ? IAM_OK : IAM_FAIL;
    return rc == SQLITE_DONE ? IAM_NOT_FOUND : IAM_FAIL;
}

enum iam_rc iam_account_list(struct iam_store *s, const char *after, int limit, json_t **out)
{
    char sql[256];
    snprintf(sql, sizeof sql, "%s WHERE name > ?1 ORDER BY name LIMIT ?2", account_columns);
    sqlite3_stmt *st = msql_prep(s->db, sql);
    if (st)
        sqlite3_bind_text(st, 1, after ? after : "", -1, SQLITE_TRANSIENT);
    return msql_page(s->db, st, 2, limit, "name", out);
}

enum iam_rc iam_user_create(struct iam_store *s, const char *account, const char *user)
{
    char now[ISO8601_LEN];
    now_iso(now);
    const char *v[] = { account, user, now };
    int rc = msql_run(s->db, "INSERT INTO users(account, name, main, created_at) VALUES (?1, ?2, 0, ?3)",
                 v, 3);
    return rc == SQLITE_DONE ? IAM_OK : rc == SQLITE_CONSTRAINT ? IAM_EXISTS : IAM_FAIL;
}

enum iam_rc iam_user_delete(struct iam_store *s, const char *account, const char *user)
{
    const char *v[] = { account, user };
    int64_t main = msql_count(s->db, "SELECT main FROM users WHERE account = ?1 AND name = ?2", v, 2);
    if (main < 0)
        return IAM_NOT_FOUND;
    if (main)
        return IAM_IN_USE;
    /* Tokens and attachments go with the user (ON DELETE CASCADE). */
    if (msql_run(s->db, "DELETE FROM users WHERE account = ?1 AND name = ?2", v, 2) != SQLITE_DONE)
        return IAM_FAIL;
    return sqlite3_changes(s->db) ? IAM_OK : IAM_NOT_FOUND;
}

enum iam_rc iam_user_list(struct iam_store *s, const char *account, const char *after, int limit,
                          json_t **out)
{
    sqlite3_stmt *st = msql_prep(s->db, "SELECT u.name, u.main, u.created_at,"
                               " (SELECT json_group_array(policy) FROM user_policies p"
                               "  WHERE p.account = u.account AND p.user = u.name) AS policies,"
                               " (SELECT count(*) FROM user_tokens t"
                               "  WHERE t.account = u.account AND t.user = u.name) AS tokens"
                               " FROM users u WHERE u.account = ?1 AND u.name > ?2"
                               " ORDER BY u.name LIMIT ?3");
    if (st) {
        sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_TRANSIENT);
    }
    return msql_page(s->db, st, 3, limit, "name", out);
}

/* ---- policies --------------------------------------------------------------------------- */

static json_t *policy_json(const struct iam_policy *p)
{
    json_t *sts = json_array();
    for (size_t i = 0; sts && i < p->n_statements; i++) {
        const struct iam_statement *x = &p->statements[i];
        json_t *a = json_array(), *r = json_array();
        for (size_t k = 0; a && k < x->n_actions; k++)
            json_array_append_new(a, json_string(x->actions[k]));
        for (size_t k = 0; r && k < x->n_resources; k++)
            json_array_append_new(r, json_string(x->resources[k]));
        json_array_append_new(sts, json_pack("{s:o,s:o}", "actions", a, "resources", r));
    }
    return sts;
}

/* The system policies are rows of account '' written from their C definitions, so that lists
 * and attachments treat them like any other and they can never drift from the matcher. */
static int write_system_policies(struct iam_store *s)
{
    char now[ISO8601_LEN];
    now_iso(now);
    for (const char *const *n = iam_system_policy_names(); *n; n++) {
        json_t *sts = policy_json(iam_system_policy(*n));
        char *text = sts ? json_dumps(sts, JSON_COMPACT) : NULL;
        json_decref(sts);
        const char *v[] = { *n, text, now };
        int rc = text ? msql_run(s->db, "INSERT INTO policies(account, name, statements, created_at)"
                               " VALUES ('', ?1, ?2, ?3) ON CONFLICT(account, name)"
                               " DO UPDATE SET statements = excluded.statements", v, 3)
                      : SQLITE_NOMEM;
        free(text);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

enum iam_rc iam_policy_create(struct iam_store *s, const char *account, const char *name,
                              json_t *statements)
{
    if (iam_system_policy(name))
        return IAM_EXISTS;
    char now[ISO8601_LEN];
    now_iso(now);
    char *text = json_dumps(statements, JSON_COMPACT);
    if (!text)
        return IAM_FAIL;
    const char *v[] = { account, name, text, now };
    int rc = msql_run(s->db, "INSERT INTO policies(account, name, statements, created_at)"
                    " VALUES (?1, ?2, ?3, ?4)", v, 4);
    free(text);
    return rc == SQLITE_DONE ? IAM_OK : rc == SQLITE_CONSTRAINT ? IAM_EXISTS : IAM_FAIL;
}

enum iam_rc iam_policy_delete(struct iam_store *s, const char *account, const char *name)
{
    const char *v[] = { account, name };
    if (msql_begin(s->db) != 0)
        return IAM_FAIL;
    enum iam_rc rc = IAM_OK;
    int64_t users = msql_count(s->db, "SELECT count(*) FROM user_policies WHERE account = ?1"
                             " AND policy = ?2", v, 2);
    if (users < 0)
        rc = IAM_FAIL;
    else if (users > 0)
        rc = IAM_IN_USE;
    else if (msql_run(s->db, "DELETE FROM policies WHERE account = ?1 AND name = ?2", v, 2) !=
             SQLITE_DONE)
        rc = IAM_FAIL;
    else if (sqlite3_changes(s->db) == 0)
        rc = IAM_NOT_FOUND;
    return msql_commit(s->db, rc);
}

enum iam_rc iam_policy_list(struct iam_store *s, const char *account, const char *after,
                            int limit, json_t **out)
{
    sqlite3_stmt *st = msql_prep(s->db, "SELECT name, account = '' AS system, statements, created_at"
                               " FROM policies WHERE account IN (?1, '') AND name > ?2"
                               " ORDER BY name LIMIT ?3");
    if (st) {
        sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_TRANSIENT);
    }
    return msql_page(s->db, st, 3, limit, "name", out);
}

enum iam_rc iam_policy_attach(struct iam_store *s, const char *account, const char *user,
                              const char *policy)
{
    const char *v[] = { account, user, policy };
    if (msql_begin(s->db) != 0)
        return IAM_FAIL;
    enum iam_rc rc = IAM_OK;
    int64_t main = msql_count(s->db, "SELECT main FROM users WHERE account = ?1 AND name = ?2", v, 2);
    int64_t found = msql_count(s->db, "SELECT count(*) FROM policies WHERE account IN (?1, '')"
                             " AND name = ?3", v, 3);
    if (main < 0 || found == 0)
        rc = IAM_NOT_FOUND;
    else if (found < 0)
        rc = IAM_FAIL;
    else if (main)
        rc = IAM_IN_USE;
    else if (msql_run(s->db, "INSERT OR IGNORE INTO user_policies(account, user, policy)"
                    " VALUES (?1, ?2, ?3)", v, 3) != SQLITE_DONE)
        rc = IAM_FAIL;
    else if (sqlite3_changes(s->db) == 0)
        rc = IAM_EXISTS;
    if (rc != IAM_EXISTS)
        return msql_commit(s->db, rc);
    /* Nothing changed: end the transaction and say so. */
    return msql_commit(s->db, IAM_OK) == IAM_OK ? IAM_EXISTS : IAM_FAIL;
}

enum iam_rc iam_policy_detach(struct iam_store *s, const char *account, const char *user,
                              const char *policy)
{
    const char *v[] = { account, user, policy };
    if (msql_run(s->db, "DELETE FROM user_policies WHERE account = ?1 AND user = ?2 AND policy = ?3", v,
            3) != SQLITE_DONE)
        return IAM_FAIL;
    return sqlite3_changes(s->db) ? IAM_OK : IAM_NOT_FOUND;
}

enum iam_rc iam_user_policy_docs(struct iam_store *s, const char *account, const char *user,
                                 json_t **out)
{
    *out = json_array();
    sqlite3_stmt *st = msql_prep(s->db, "SELECT p.name, p.statements FROM user_policies u"
                               " JOIN policies p ON p.name = u.policy"
                               "  AND p.account IN (u.account, '')"
                               " WHERE u.account = ?1 AND u.user = ?2 ORDER BY p.name");
    if (!st || !*out) {
        sqlite3_finalize(st);
        json_decref(*out);
        *out = NULL;
        return IAM_FAIL;
    }
    sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(*out, msql_row_json(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(*out);
        *out = NULL;
        return IAM_FAIL;
    }
    return IAM_OK;
}

/* ---- audit and idempotency -------------------------------------------------------------- */

/* Steps a write of a record (see RECORD_TRIES); its result. */
static int step_record(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    for (int i = 1; i < RECORD_TRIES && db_busy(rc); i++) {
        sqlite3_reset(st);
        rc = sqlite3_step(st);
    }
    return rc;
}

void iam_audit_add(struct iam_store *s, const struct iam_audit_entry *e)
{
    char now[ISO8601_LEN];
    now_iso(now);
    sqlite3_stmt *st = msql_prep(s->db, "INSERT INTO audit(time, account, user, action, resource,"
                               " allowed, status, method, path)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!st)
        return;
    const char *v[] = { now, e->account, e->user, e->action, e->resource };
    msql_bind_texts(st, v, 5);
    sqlite3_bind_int(st, 6, e->allowed ? 1 : 0);
    sqlite3_bind_int(st, 7, e->status);
    sqlite3_bind_text(st, 8, e->method, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, e->path, -1, SQLITE_TRANSIENT);
    if (step_record(st) != SQLITE_DONE)
        log_error("iam: audit entry for %s %s by %s/%s lost: %s", e->method, e->path,
                  e->account, e->user, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
}

enum iam_rc iam_audit_list(struct iam_store *s, const char *account, const char *after, int limit,
                           json_t **out)
{
    sqlite3_stmt *st = msql_prep(s->db, "SELECT id, time, account, user, action, resource, allowed,"
                               " status, method, path FROM audit"
                               " WHERE (?1 IS NULL OR account = ?1) AND id > ?2"
                               " ORDER BY id LIMIT ?3");
    if (st) {
        if (account)
            sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, after ? strtoll(after, NULL, 10) : 0);
    }
    return msql_page(s->db, st, 3, limit, "id", out);
}

enum iam_rc iam_idem_get(struct iam_store *s, const char *account, const char *key,
                         char request_sha256[65], int *status, char **response)
{
    sqlite3_stmt *st = msql_prep(s->db, "SELECT request_sha256, status, response FROM idempotency"
                               " WHERE account = ?1 AND key = ?2 AND created_ms > ?3");
    if (!st)
        return IAM_FAIL;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, clock_wall_ms() - IDEM_TTL_MS);
    enum iam_rc rc = IAM_NOT_FOUND;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *resp = (const char *)sqlite3_column_text(st, 2);
        *status = sqlite3_column_int(st, 1);
        *response = strdup(resp ? resp : "");
        rc = *response && msql_copy_text(st, 0, request_sha256, 65) == 0 ? IAM_OK : IAM_FAIL;
        if (rc != IAM_OK) {
            free(*response);
            *response = NULL;
        }
    } else if (r != SQLITE_DONE) {
        rc = IAM_FAIL;
    }
    sqlite3_finalize(st);
    return rc;
}

void iam_idem_put(struct iam_store *s, const char *account, const char *key,
                  const char *request_sha256, int status, const char *response)
{
    sqlite3_stmt *st = msql_prep(s->db, "INSERT OR REPLACE INTO idempotency(account, key, request_sha256,"
                               " status, response, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!st)
        return;
    const char *v[] = { account, key, request_sha256 };
    msql_bind_texts(st, v, 3);
    sqlite3_bind_int(st, 4, status);
    sqlite3_bind_text(st, 5, response, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, clock_wall_ms());
    if (step_record(st) != SQLITE_DONE)
        log_error("iam: idempotency key of %s not kept: %s", account, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    /* Expired keys go at the next write: the table stays as small as a day of creations. */
    char cutoff[32];
    snprintf(cutoff, sizeof cutoff, "%lld", (long long)(clock_wall_ms() - IDEM_TTL_MS));
    const char *c[] = { cutoff };
    msql_run(s->db, "DELETE FROM idempotency WHERE created_ms <= CAST(?1 AS INTEGER)", c, 1);
}

/* ---- open / close ----------------------------------------------------------------------- */

static int read_full(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Reads <data>/server.key, or makes it: 32 random bytes, mode 0600, written once. */
static int load_server_key(struct iam_store *s, const char *data_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/server.key", data_dir) >= (int)sizeof path) {
        set_err(err, errlen, "path too long: %s/server.key", data_dir);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        struct stat sb;
        int bad = fstat(fd, &sb) != 0 || sb.st_size != SERVER_KEY_BYTES;
        if (!bad && (sb.st_mode & 077))
            log_warn("iam: %s is readable by others than its owner (mode %o)", path,
                     (unsigned)(sb.st_mode & 0777));
        if (bad || read_full(fd, s->key, sizeof s->key) != 0) {
            set_err(err, errlen, "%s must hold exactly %d bytes", path, SERVER_KEY_BYTES);
            close(fd);
            return -1;
        }
        close(fd);
        return 0;
    }
    if (errno != ENOENT) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (RAND_bytes(s->key, sizeof s->key) != 1) {
        set_err(err, errlen, "RAND_bytes failed for the server key");
        return -1;
    }
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    int ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
             write(fd, s->key, sizeof s->key) == (ssize_t)sizeof s->key && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok) {
        set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    log_info("iam: created the token key %s", path);
    return 0;
}

struct iam_store *iam_store_open(const char *data_dir, char *err, size_t errlen)
{
    struct iam_store *s = calloc(1, sizeof *s);
    char path[PATH_MAX];
    if (!s) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    if (snprintf(path, sizeof path, "%s/vcs.db", data_dir) >= (int)sizeof path) {
        set_err(err, errlen, "path too long: %s/vcs.db", data_dir);
        free(s);
        return NULL;
    }
    if (load_server_key(s, data_dir, err, errlen) != 0) {
        iam_store_close(s);
        return NULL;
    }
    /* The store created and migrated the database: open, never create. */
    if (!(s->db = db_open("iam", path, SQLITE_OPEN_READWRITE, IAM_BUSY_TIMEOUT_MS, err, errlen))) {
        iam_store_close(s);
        return NULL;
    }
    if (sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "INSERT OR IGNORE INTO users(account, name, main, created_at)"
                            " SELECT name, name, 1, COALESCE(created_at, '') FROM accounts",
                     NULL, NULL, NULL) != SQLITE_OK ||
        write_system_policies(s) != 0) {
        set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        iam_store_close(s);
        return NULL;
    }
    return s;
}

sqlite3 *iam_store_db(struct iam_store *s)
{
    return s->db;
}

void iam_store_close(struct iam_store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s);
}
