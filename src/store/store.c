/* SQLite store (see store.h). Two connections: the writer connection belongs to the writer
 * thread once store_open returns; the read-only connection serves the short reads of any thread
 * under a mutex. Reads reset their statement at once so that no read transaction stays open
 * and blocks WAL checkpoints. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/clock.h"
#include "core/digest.h"
#include "core/errmsg.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread_class.h"
#include "data_lock.h"
#include "db_open.h"

#define BUSY_TIMEOUT_MS 5000
#define IDLE_CHECKPOINT_MS 1000
/* How often the writer records "alive at" (meta.alive_at): a crash ends open calls there, so
 * at most this much of the downtime is billed. */
#define HEARTBEAT_MS 2000
/* A failed write is retried after RETRY_MIN_MS, doubling up to RETRY_MAX_MS; the error is
 * logged at most once per FAIL_LOG_MS; store_close waits up to CLOSE_FLUSH_MS for the disk. */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000
#define FAIL_LOG_MS 10000
#define CLOSE_FLUSH_MS 5000
#define TOKEN_BYTES 32
#define TOKEN_HEX (2 * TOKEN_BYTES)
#define HASH_HEX 64 /* SHA-256 in hex */
/* 9999-12-31T23:59:59.999Z: beyond it gmtime/ISO-8601 with four-digit years break down. */
#define MAX_WALL_MS INT64_C(253402300799999)

/* Schema migrations, applied in order; PRAGMA user_version counts the steps already applied.
 * Never edit a released step: append a new one. */
static const char *const migrations[] = {
    /* 1: initial schema */
    "CREATE TABLE cdr ("
    " id INTEGER PRIMARY KEY,"
    " call_id TEXT UNIQUE NOT NULL,"
    " sip_call_id TEXT,"
    " parent_call_id TEXT,"
    " direction TEXT,"
    " account TEXT,"
    " from_number TEXT,"
    " to_number TEXT,"
    " script TEXT,"
    " gateway TEXT,"
    " start_time TEXT,"
    " answer_time TEXT,"
    " end_time TEXT,"
    " duration_ms INTEGER,"
    " billsec INTEGER,"
    " bill_minutes INTEGER,"
    " cost_fen INTEGER NOT NULL DEFAULT 0,"
    " sip_code INTEGER,"
    " hangup_cause TEXT,"
    " hangup_by TEXT,"
    " recording TEXT,"
    " vars TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX cdr_start_time ON cdr(start_time);"
    "CREATE INDEX cdr_account ON cdr(account);"
    /* Keeps the start-up scan for crashed rows independent of the table size. */
    "CREATE INDEX cdr_open ON cdr(call_id) WHERE end_time IS NULL;"
    "CREATE TABLE accounts ("
    " name TEXT PRIMARY KEY,"
    " balance_fen INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT);"
    "CREATE TABLE api_tokens ("
    " token_sha256 TEXT PRIMARY KEY,"
    " account TEXT NOT NULL REFERENCES accounts(name),"
    " created_at TEXT);"
    "CREATE INDEX api_tokens_account ON api_tokens(account);"
    "CREATE TABLE numbers ("
    " number TEXT PRIMARY KEY,"
    " account TEXT,"
    " region TEXT,"
    " type TEXT CHECK (type IN ('fixed','mobile')),"
    " state TEXT NOT NULL DEFAULT 'available'"
    "  CHECK (state IN ('available','ordered','active','released')),"
    " script TEXT,"
    " max_concurrent INTEGER CHECK (max_concurrent IS NULL OR max_concurrent >= 0),"
    " issued_at TEXT);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO meta(key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));",
    /* 2: the platform's accounts, users, tokens, policies, audit log and idempotency keys
     * (src/store/iam.c). A user's main user has the account's name; tokens are HMAC-SHA256 of
     * the token under the server key, looked up by their public id. */
    "ALTER TABLE accounts ADD COLUMN rate_fen_per_minute INTEGER NOT NULL DEFAULT 20;"
    "ALTER TABLE accounts ADD COLUMN rent_fen_per_month INTEGER NOT NULL DEFAULT 1500;"
    "ALTER TABLE accounts ADD COLUMN max_calls INTEGER;"
    "ALTER TABLE accounts ADD COLUMN low_balance_fen INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE users ("
    " account TEXT NOT NULL REFERENCES accounts(name),"
    " name TEXT NOT NULL,"
    " main INTEGER NOT NULL DEFAULT 0,"
    " created_at TEXT NOT NULL,"
    " PRIMARY KEY (account, name));"
    "CREATE TABLE user_tokens ("
    " id TEXT PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " user TEXT NOT NULL,"
    " hmac_sha256 TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " expires_at TEXT,"
    " FOREIGN KEY (account, user) REFERENCES users(account, name) ON DELETE CASCADE);"
    "CREATE INDEX user_tokens_user ON user_tokens(account, user);"
    /* account '' holds the system policies, rewritten from the C definitions at every start. */
    "CREATE TABLE policies ("
    " account TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " statements TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " PRIMARY KEY (account, name));"
    "CREATE TABLE user_policies ("
    " account TEXT NOT NULL,"
    " user TEXT NOT NULL,"
    " policy TEXT NOT NULL,"
    " PRIMARY KEY (account, user, policy),"
    " FOREIGN KEY (account, user) REFERENCES users(account, name) ON DELETE CASCADE);"
    "CREATE INDEX user_policies_policy ON user_policies(account, policy);"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " time TEXT NOT NULL,"
    " account TEXT NOT NULL,"
    " user TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " resource TEXT NOT NULL,"
    " allowed INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " method TEXT NOT NULL,"
    " path TEXT NOT NULL);"
    "CREATE INDEX audit_account ON audit(account, id);"
    "CREATE TABLE idempotency ("
    " account TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " request_sha256 TEXT NOT NULL,"
    " status INTEGER NOT NULL,"
    " response TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (account, key));",
    /* 3: numbers bound to a trunk and reserved by an order; orders (src/store/inventory.c). */
    "ALTER TABLE numbers ADD COLUMN trunk TEXT;"
    "ALTER TABLE numbers ADD COLUMN order_id INTEGER;"
    "CREATE INDEX numbers_search ON numbers(state, region, type, number);"
    "CREATE INDEX numbers_account ON numbers(account, number);"
    "CREATE TABLE orders ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('pending','approved','rejected')),"
    " numbers TEXT NOT NULL,"
    " reason TEXT,"
    " created_at TEXT NOT NULL,"
    " decided_at TEXT);"
    "CREATE INDEX orders_account ON orders(account, id);",
    /* 4: every change of the numbers table counted, so that the call path's snapshot of the
     * active numbers (src/numbers/number_table.h) follows whoever wrote it. */
    "INSERT INTO meta(key, value) VALUES ('numbers_rev', '0');"
    "CREATE TRIGGER numbers_rev_insert AFTER INSERT ON numbers BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'numbers_rev'; END;"
    "CREATE TRIGGER numbers_rev_update AFTER UPDATE ON numbers BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'numbers_rev'; END;"
    "CREATE TRIGGER numbers_rev_delete AFTER DELETE ON numbers BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'numbers_rev'; END;",
    /* 5: the customer trunk of a leg; trunks managed over the API and the contacts trunks
     * registered (src/store/trunk_store.c). Passwords are kept as HA1 digests for realm. */
    "ALTER TABLE cdr ADD COLUMN trunk TEXT;"
    "CREATE TABLE trunks ("
    " name TEXT PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " allow TEXT NOT NULL DEFAULT '[]',"
    " username TEXT UNIQUE,"
    " ha1 TEXT,"
    " realm TEXT,"
    " max_calls INTEGER NOT NULL DEFAULT 0,"
    " address TEXT,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX trunks_account ON trunks(account, name);"
    "CREATE TABLE trunk_registrations ("
    " trunk TEXT PRIMARY KEY,"
    " contact TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " expires_ms INTEGER NOT NULL);",
    /* 6: what the CDR list filters on (src/store/cdr_query.c; the account's walk keys on the
     * id), the campaign of a leg (SPEC 6), webhooks and their delivery queue (src/events/). */
    "ALTER TABLE cdr ADD COLUMN campaign_id INTEGER;"
    "DROP INDEX cdr_account;"
    "CREATE INDEX cdr_account_id ON cdr(account, id);"
    "CREATE INDEX cdr_from ON cdr(from_number);"
    "CREATE INDEX cdr_to ON cdr(to_number);"
    "CREATE INDEX cdr_campaign ON cdr(campaign_id) WHERE campaign_id IS NOT NULL;"
    "CREATE TABLE webhooks ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " url TEXT NOT NULL,"
    " events TEXT NOT NULL,"
    " secret TEXT NOT NULL,"
    " created_at TEXT NOT NULL);"
    "CREATE INDEX webhooks_account ON webhooks(account, id);"
    "CREATE TABLE webhook_deliveries ("
    " id INTEGER PRIMARY KEY,"
    " webhook_id INTEGER NOT NULL,"
    " event TEXT NOT NULL,"
    " data TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL,"
    " last_status INTEGER,"
    " last_error TEXT,"
    " delivered_at TEXT);"
    "CREATE INDEX deliveries_due ON webhook_deliveries(next_ms) WHERE state = 'pending';"
    "CREATE INDEX deliveries_webhook ON webhook_deliveries(webhook_id, id);",
    /* 7: campaigns, their callees and attempts, do-not-call lists (src/store/campaigns.c);
     * answered outbound calls per callee for the frequency caps are counted from the CDRs. */
    "CREATE INDEX cdr_callee_answered ON cdr(account, to_number, answer_time)"
    " WHERE direction = 'outbound' AND answer_time IS NOT NULL;"
    "CREATE TABLE campaigns ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'draft'"
    "  CHECK (state IN ('draft','running','paused','completed','cancelled')),"
    " settings TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " started_at TEXT,"
    " ended_at TEXT);"
    "CREATE INDEX campaigns_account ON campaigns(account, id);"
    "CREATE INDEX campaigns_running ON campaigns(state) WHERE state = 'running';"
    "CREATE TABLE campaign_callees ("
    " id INTEGER PRIMARY KEY,"
    " campaign_id INTEGER NOT NULL REFERENCES campaigns(id),"
    " line INTEGER NOT NULL,"
    " number TEXT NOT NULL,"
    " vars TEXT NOT NULL DEFAULT '{}',"
    " state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','in_progress','done')),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    " result TEXT,"
    " last_call_id TEXT,"
    " UNIQUE (campaign_id, number));"
    "CREATE INDEX campaign_callees_due ON campaign_callees(campaign_id, state, next_attempt_at);"
    "CREATE TABLE campaign_attempts ("
    " id INTEGER PRIMARY KEY,"
    " campaign_id INTEGER NOT NULL,"
    " callee_id INTEGER NOT NULL,"
    " call_id TEXT UNIQUE,"
    " started_at TEXT NOT NULL,"
    " ended_at TEXT,"
    " result TEXT);"
    "CREATE INDEX campaign_attempts_callee ON campaign_attempts(callee_id);"
    "CREATE INDEX campaign_attempts_open ON campaign_attempts(campaign_id) WHERE ended_at IS NULL;"
    /* account '' is the operator's global list. */
    "CREATE TABLE dnc ("
    " account TEXT NOT NULL,"
    " number TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " PRIMARY KEY (number, account));",
    /* 8: prepaid billing (src/store/ledger.c): numbers may be suspended (rent unpaid) and
     * released at the end of the paid month (the CHECK constraint needs the table rebuilt);
     * the ledger of every movement of money; rent periods, one per number, issue and month
     * (the unique key that makes the rent job idempotent); the callee region table. */
    "CREATE TABLE numbers_v8 ("
    " number TEXT PRIMARY KEY,"
    " account TEXT,"
    " region TEXT,"
    " type TEXT CHECK (type IN ('fixed','mobile')),"
    " state TEXT NOT NULL DEFAULT 'available'"
    "  CHECK (state IN ('available','ordered','active','suspended','released')),"
    " script TEXT,"
    " max_concurrent INTEGER CHECK (max_concurrent IS NULL OR max_concurrent >= 0),"
    " issued_at TEXT,"
    " trunk TEXT,"
    " order_id INTEGER,"
    " release_at TEXT);"
    "INSERT INTO numbers_v8 (number, account, region, type, state, script, max_concurrent,"
    " issued_at, trunk, order_id) SELECT number, account, region, type, state, script,"
    " max_concurrent, issued_at, trunk, order_id FROM numbers;"
    "DROP TABLE numbers;"
    "ALTER TABLE numbers_v8 RENAME TO numbers;"
    "CREATE INDEX numbers_search ON numbers(state, region, type, number);"
    "CREATE INDEX numbers_account ON numbers(account, number);"
    /* Dropping the old table dropped its triggers (step 4). */
    "CREATE TRIGGER numbers_rev_insert AFTER INSERT ON numbers BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'numbers_rev'; END;"
    "CREATE TRIGGER numbers_rev_update AFTER UPDATE ON numbers BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'numbers_rev'; END;"
    "CREATE TRIGGER numbers_rev_delete AFTER DELETE ON numbers BEGIN"
    " UPDATE meta SET value = value + 1 WHERE key = 'numbers_rev'; END;"
    "CREATE TABLE ledger ("
    " id INTEGER PRIMARY KEY,"
    " account TEXT NOT NULL,"
    " time TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('recharge','rent','usage')),"
    " amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),"
    " balance_fen INTEGER NOT NULL CHECK (balance_fen >= 0),"
    " ref TEXT,"
    " note TEXT);"
    "CREATE UNIQUE INDEX ledger_ref ON ledger(kind, ref) WHERE ref IS NOT NULL;"
    "CREATE INDEX ledger_account ON ledger(account, time, id);"
    "CREATE TABLE rent_periods ("
    " number TEXT NOT NULL,"
    " issued_at TEXT NOT NULL,"
    " period INTEGER NOT NULL,"
    " account TEXT NOT NULL,"
    " due_at TEXT NOT NULL,"
    " amount_fen INTEGER NOT NULL,"
    " ledger_id INTEGER,"
    " PRIMARY KEY (number, issued_at, period));"
    "CREATE INDEX rent_unpaid ON rent_periods(account, due_at) WHERE ledger_id IS NULL;"
    "CREATE TABLE regions (prefix TEXT PRIMARY KEY, region TEXT NOT NULL);",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* One column list for both statements so that a single bind function serves them. The UPDATE
 * keeps what the begin row knew when the final row leaves a field empty. */
static const char sql_insert_cdr[] =
    "INSERT INTO cdr(call_id, sip_call_id, parent_call_id, direction, account, from_number,"
    " to_number, script, gateway, start_time, answer_time, end_time, duration_ms, billsec,"
    " bill_minutes, cost_fen, sip_code, hangup_cause, hangup_by, recording, vars, trunk,"
    " campaign_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
    " ?19, ?20, ?21, ?22, ?23)";
static const char sql_update_cdr[] =
    "UPDATE cdr SET sip_call_id = COALESCE(?2, sip_call_id),"
    " parent_call_id = COALESCE(?3, parent_call_id), direction = COALESCE(?4, direction),"
    " account = COALESCE(?5, account), from_number = COALESCE(?6, from_number),"
    " to_number = COALESCE(?7, to_number), script = COALESCE(?8, script),"
    " gateway = COALESCE(?9, gateway), start_time = COALESCE(?10, start_time),"
    " answer_time = COALESCE(?11, answer_time), end_time = ?12, duration_ms = ?13,"
    " billsec = ?14, bill_minutes = ?15, cost_fen = ?16, sip_code = COALESCE(?17, sip_code),"
    " hangup_cause = ?18, hangup_by = ?19, recording = COALESCE(?20, recording), vars = ?21,"
    " trunk = COALESCE(?22, trunk), campaign_id = COALESCE(?23, campaign_id) WHERE call_id = ?1";

enum wop { WOP_BEGIN, WOP_END, WOP_BARRIER };

struct wnode {
    struct qnode link;
    enum wop op;
    uint64_t seq;         /* WOP_BARRIER */
    int result;           /* WOP_BARRIER: what store_sync returns */
    struct cdr_row row;   /* WOP_BEGIN / WOP_END; row.vars_json is owned by the node */
};

struct store {
    char data_dir[PATH_MAX];
    sqlite3 *wdb;
    sqlite3_stmt *ins_cdr, *upd_cdr, *beat; /* writer thread only */
    int lock_fd;                     /* data_lock, held while the store is open */

    pthread_mutex_t rmu;             /* guards rdb and its statements */
    sqlite3 *rdb;
    sqlite3_stmt *auth, *numbers, *numbers_rev;

    struct mpsc_queue q;
    pthread_mutex_t mu;              /* guards the fields below and the writer's sleep */
    pthread_cond_t wake, done;
    uint64_t sync_posted, sync_done;
    bool stopping;
    uint64_t stop_deadline_ms;
    size_t lost;                     /* changes dropped at exit, set by the writer as it ends */
    /* Taken from q, not yet committed, oldest first: the writer's own list, so that a failed
     * transaction loses nothing and is simply tried again. */
    struct qnode *pending, *pending_tail;
    pthread_t thread;

    atomic_size_t pending_rows;
    atomic_ullong write_errors;
};

static int exec_sql(sqlite3 *db, const char *sql, const char *what, char *err, size_t errlen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(s, 0);
    }
    if (rc != SQLITE_ROW)
        set_err(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- files ------------------------------------------------------------------------------ */

static int mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        set_err(err, errlen, "data directory path is empty or too long");
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST) {
            set_err(err, errlen, "cannot create directory %s: %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        set_err(err, errlen, "%s is not a directory", path);
        return -1;
    }
    return 0;
}

static int join_path(char *out, size_t outlen, const char *dir, const char *name, char *err,
                     size_t errlen)
{
    int n = snprintf(out, outlen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outlen) {
        set_err(err, errlen, "path too long: %s/%s", dir, name);
        return -1;
    }
    return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* The file holds exactly the token (no newline) so that a reader can send it as is. It is
 * written under a temporary name and renamed, so a reader never sees it half written. */
static int write_token_file(const char *dir, const char *path, const char *token, char *err,
                            size_t errlen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        set_err(err, errlen, "path too long: %s", path);
        return -1;
    }
    if (unlink(tmp) != 0 && errno != ENOENT) {
        set_err(err, errlen, "cannot remove stale %s: %s", tmp, strerror(errno));
        return -1;
    }
    int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    /* The umask may only clear bits; fchmod makes the mode exactly 0600 whatever it is. */
    if (fchmod(fd, 0600) != 0 || write_all(fd, token, strlen(token)) != 0 || fsync(fd) != 0) {
        set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        set_err(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* Without it a power loss could lose the new name; the next start would then only have to
     * issue another token, so a failure here is worth a warning, not a refusal to start. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        log_warn("store: cannot sync directory %s: %s", dir, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    return 0;
}

/* ---- tokens ----------------------------------------------------------------------------- */

static int new_token(char token[TOKEN_HEX + 1], char hash[HASH_HEX + 1], char *err, size_t errlen)
{
    unsigned char raw[TOKEN_BYTES];
    ssize_t got;
    do
        got = getrandom(raw, sizeof raw, 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof raw) {
        set_err(err, errlen, "getrandom: %s", got < 0 ? strerror(errno) : "short read");
        return -1;
    }
    hex_encode(raw, sizeof raw, token);
    if (sha256_hex(token, TOKEN_HEX, hash) != 0) {
        set_err(err, errlen, "SHA-256 of the admin token failed");
        return -1;
    }
    return 0;
}

/* Creates the admin account and its token on a new database, or a fresh token when the account
 * exists but its token file is gone (older tokens stay valid: they may be in use elsewhere). */
static int ensure_admin(sqlite3 *db, const char *data_dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (join_path(path, sizeof path, data_dir, "admin.token", err, errlen) != 0)
        return -1;
    int64_t has_admin = 0;
    if (query_int(db, "SELECT count(*) FROM accounts WHERE name = 'admin'", &has_admin, err,
                  errlen) != 0)
        return -1;
    if (has_admin) {
        struct stat sb;
        if (lstat(path, &sb) == 0)
            return 0;
        if (errno != ENOENT) {
            set_err(err, errlen, "cannot check %s: %s", path, strerror(errno));
            return -1;
        }
    }

    char token[TOKEN_HEX + 1], hash[HASH_HEX + 1];
    if (new_token(token, hash, err, errlen) != 0)
        return -1;
    char now[ISO8601_LEN];
    iso8601_ms(clock_wall_ms(), now);

    if (exec_sql(db, "BEGIN IMMEDIATE", "admin account", err, errlen) != 0)
        return -1;
    sqlite3_stmt *s = NULL;
    int rc = SQLITE_OK;
    if (!has_admin) {
        rc = sqlite3_prepare_v2(db, "INSERT INTO accounts(name, balance_fen, created_at)"
                                    " VALUES ('admin', 0, ?1)", -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(s, 1, now, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(s);
        s = NULL;
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(db, "INSERT INTO api_tokens(token_sha256, account, created_at)"
                                    " VALUES (?1, 'admin', ?2)", -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(s, 2, now, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "admin account: %s", sqlite3_errmsg(db));
        rollback(db);
        return -1;
    }
    if (write_token_file(data_dir, path, token, err, errlen) != 0) {
        rollback(db);
        return -1;
    }
    if (exec_sql(db, "COMMIT", "admin account", err, errlen) != 0) {
        rollback(db);
        unlink(path);
        return -1;
    }
    if (has_admin)
        log_warn("store: %s was missing: wrote a new admin token", path);
    else
        log_info("store: created account admin, API token in %s", path);
    return 0;
}

/* ---- schema and recovery ---------------------------------------------------------------- */

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    int64_t version = 0;
    if (query_int(db, "PRAGMA user_version", &version, err, errlen) != 0)
        return -1;
    if (version < 0 || (uint64_t)version > N_MIGRATIONS) {
        set_err(err, errlen, "database schema version %lld is not one this vcsd knows (1..%zu)",
                (long long)version, N_MIGRATIONS);
        return -1;
    }
    for (size_t i = (size_t)version; i < N_MIGRATIONS; i++) {
        char set_version[64];
        snprintf(set_version, sizeof set_version, "PRAGMA user_version = %zu", i + 1);
        char what[64];
        snprintf(what, sizeof what, "schema migration %zu", i + 1);
        if (exec_sql(db, "BEGIN IMMEDIATE", what, err, errlen) != 0 ||
            exec_sql(db, migrations[i], what, err, errlen) != 0 ||
            exec_sql(db, set_version, what, err, errlen) != 0 ||
            exec_sql(db, "COMMIT", what, err, errlen) != 0) {
            rollback(db);
            return -1;
        }
        log_info("store: database schema migrated to version %zu", i + 1);
    }
    return 0;
}

struct open_row {
    int64_t id;
    int64_t start_ms, answer_ms;
};

static int collect_open_rows(sqlite3 *db, struct open_row **rows, size_t *n, char *err,
                             size_t errlen)
{
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    int rc = sqlite3_prepare_v2(db, "SELECT id, start_time, answer_time, call_id FROM cdr"
                                    " WHERE end_time IS NULL", -1, &s, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            struct open_row *grown = realloc(*rows, ncap * sizeof **rows);
            if (!grown) {
                set_err(err, errlen, "out of memory while closing crashed CDR rows");
                sqlite3_finalize(s);
                return -1;
            }
            *rows = grown;
            cap = ncap;
        }
        struct open_row *r = &(*rows)[(*n)++];
        r->id = sqlite3_column_int64(s, 0);
        const char *start = (const char *)sqlite3_column_text(s, 1);
        const char *answer = (const char *)sqlite3_column_text(s, 2);
        if (iso8601_parse_ms(start, &r->start_ms) != 0) {
            log_warn("store: CDR %s has no valid start_time; its duration counts from its end",
                     (const char *)sqlite3_column_text(s, 3));
            r->start_ms = 0;
        }
        if (iso8601_parse_ms(answer, &r->answer_ms) != 0)
            r->answer_ms = 0;
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        set_err(err, errlen, "reading crashed CDR rows: %s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The last "alive at" the writer committed, or 0 when there is none (a database from before
 * heartbeats, or vcsd died before its first one). */
static int64_t last_heartbeat(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int64_t ms = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'alive_at'", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW &&
        iso8601_parse_ms((const char *)sqlite3_column_text(s, 0), &ms) != 0)
        ms = 0;
    sqlite3_finalize(s);
    return ms;
}

/* Rows without end_time belong to calls that were up when vcsd died: end them at the last
 * heartbeat, the last moment vcsd is known to have lived, so that the downtime is never billed
 * (at the restart when there is no heartbeat; never before their own start or answer), cause
 * system_crash. */
static int close_crashed_rows(sqlite3 *db, char *err, size_t errlen)
{
    struct open_row *rows;
    size_t n;
    if (collect_open_rows(db, &rows, &n, err, errlen) != 0) {
        free(rows);
        return -1;
    }
    if (n == 0) {
        free(rows);
        log_info("store: no CDR rows left open by a crash");
        return 0;
    }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "UPDATE cdr SET end_time = ?2, duration_ms = ?3,"
                                    " billsec = ?4, bill_minutes = ?5,"
                                    " hangup_cause = 'system_crash', hangup_by = 'system'"
                                    " WHERE id = ?1", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    int64_t died = clock_wall_ms();
    int64_t beat = last_heartbeat(db);
    if (beat > 0 && beat < died)
        died = beat;
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        struct cdr_row row = { .start_ms = rows[i].start_ms, .answer_ms = rows[i].answer_ms };
        int64_t start = row.start_ms > 0 ? row.start_ms : died;
        row.end_ms = died;
        if (row.end_ms < start)
            row.end_ms = start;
        if (row.end_ms < row.answer_ms)
            row.end_ms = row.answer_ms;
        char end[ISO8601_LEN];
        iso8601_ms(row.end_ms, end);
        sqlite3_bind_int64(s, 1, rows[i].id);
        sqlite3_bind_text(s, 2, end, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 3, row.end_ms - start);
        sqlite3_bind_int64(s, 4, cdr_billsec(&row));
        sqlite3_bind_int64(s, 5, cdr_bill_minutes(&row));
        rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(s);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        set_err(err, errlen, "closing crashed CDR rows: %s", sqlite3_errmsg(db));
        rollback(db);
    } else {
        char at[ISO8601_LEN];
        iso8601_ms(died, at);
        log_warn("store: closed %zu CDR rows left open by a crash (system_crash, ended at %s, %s)",
                 n, at, beat > 0 ? "the last heartbeat" : "the restart: no heartbeat recorded");
    }
    sqlite3_finalize(s);
    free(rows);
    return rc == SQLITE_OK ? 0 : -1;
}

/* ---- writer ----------------------------------------------------------------------------- */

static void bind_field(sqlite3_stmt *s, int idx, const char *field, size_t cap)
{
    /* The fixed-size fields may arrive unterminated from a buggy producer: never read past. */
    size_t len = strnlen(field, cap);
    if (len == 0)
        sqlite3_bind_null(s, idx);
    else
        sqlite3_bind_text(s, idx, field, (int)len, SQLITE_TRANSIENT);
}
#define BIND_FIELD(s, idx, row, f) bind_field((s), (idx), (row)->f, sizeof (row)->f)

static void bind_time(sqlite3_stmt *s, int idx, int64_t ms)
{
    if (ms <= 0 || ms > MAX_WALL_MS) {
        sqlite3_bind_null(s, idx);
        return;
    }
    char buf[ISO8601_LEN];
    iso8601_ms(ms, buf);
    sqlite3_bind_text(s, idx, buf, -1, SQLITE_TRANSIENT);
}

static void bind_row(sqlite3_stmt *s, const struct cdr_row *row)
{
    BIND_FIELD(s, 1, row, call_id);
    BIND_FIELD(s, 2, row, sip_call_id);
    BIND_FIELD(s, 3, row, parent_call_id);
    BIND_FIELD(s, 4, row, direction);
    BIND_FIELD(s, 5, row, account);
    BIND_FIELD(s, 6, row, from_number);
    BIND_FIELD(s, 7, row, to_number);
    BIND_FIELD(s, 8, row, script);
    BIND_FIELD(s, 9, row, gateway);
    bind_time(s, 10, row->start_ms);
    bind_time(s, 11, row->answer_ms);
    bind_time(s, 12, row->end_ms);
    if (row->end_ms > 0) {
        int64_t duration = row->start_ms > 0 ? row->end_ms - row->start_ms : 0;
        sqlite3_bind_int64(s, 13, duration > 0 ? duration : 0);
        sqlite3_bind_int64(s, 14, cdr_billsec(row));
        sqlite3_bind_int64(s, 15, cdr_bill_minutes(row));
    } else {
        sqlite3_bind_null(s, 13);
        sqlite3_bind_null(s, 14);
        sqlite3_bind_null(s, 15);
    }
    sqlite3_bind_int64(s, 16, row->cost_fen);
    if (row->sip_code > 0)
        sqlite3_bind_int(s, 17, row->sip_code);
    else
        sqlite3_bind_null(s, 17);
    BIND_FIELD(s, 18, row, hangup_cause);
    BIND_FIELD(s, 19, row, hangup_by);
    BIND_FIELD(s, 20, row, recording);
    sqlite3_bind_text(s, 21, row->vars_json ? row->vars_json : "{}", -1, SQLITE_TRANSIENT);
    BIND_FIELD(s, 22, row, trunk);
    if (row->campaign_id > 0)
        sqlite3_bind_int64(s, 23, row->campaign_id);
    else
        sqlite3_bind_null(s, 23);
}

static int call_id_len(const struct cdr_row *row)
{
    return (int)strnlen(row->call_id, sizeof row->call_id);
}

/* Errors that say nothing about the row: the disk is full or failing, or another process holds
 * the database. The whole transaction is rolled back and tried again later. */
static bool transient(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
        return true;
    default:
        return false;
    }
}

/* SQLITE_OK, or a transient error that must abort the transaction. Any other error is the
 * row's own (it could never be written) and is logged; the transaction goes on. */
static int row_result(struct store *st, int rc, const char *what, const struct cdr_row *row)
{
    if (rc == SQLITE_DONE)
        return SQLITE_OK;
    if (transient(rc))
        return rc;
    log_error("store: CDR %.*s %s failed: %s", call_id_len(row), row->call_id, what,
              sqlite3_errmsg(st->wdb));
    return SQLITE_OK;
}

static int insert_row(struct store *st, const struct cdr_row *row)
{
    bind_row(st->ins_cdr, row);
    int rc = sqlite3_step(st->ins_cdr);
    sqlite3_reset(st->ins_cdr);
    return row_result(st, rc, "insert", row);
}

static int complete_row(struct store *st, const struct cdr_row *row)
{
    bind_row(st->upd_cdr, row);
    int rc = sqlite3_step(st->upd_cdr);
    int changed = sqlite3_changes(st->wdb);
    sqlite3_reset(st->upd_cdr);
    if (rc == SQLITE_DONE && changed == 0) {
        /* The begin row never made it (lost or never queued): a CDR is never lost. */
        log_warn("store: CDR %.*s ended without a begin row, inserting it whole",
                 call_id_len(row), row->call_id);
        return insert_row(st, row);
    }
    return row_result(st, rc, "update", row);
}

static int write_heartbeat(struct store *st)
{
    char now[ISO8601_LEN];
    iso8601_ms(clock_wall_ms(), now);
    sqlite3_bind_text(st->beat, 1, now, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st->beat);
    sqlite3_reset(st->beat);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One attempt to commit every pending change, and the heartbeat when due, in one transaction.
 * Returns SQLITE_OK, or the error that rolled it back (the changes stay pending). */
static int write_pending(struct store *st, bool heartbeat)
{
    int rc = sqlite3_exec(st->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (struct qnode *q = st->pending; rc == SQLITE_OK && q; q = q->next) {
        struct wnode *n = container_of(q, struct wnode, link);
        if (n->op == WOP_BEGIN)
            rc = insert_row(st, &n->row);
        else if (n->op == WOP_END)
            rc = complete_row(st, &n->row);
    }
    if (rc == SQLITE_OK && heartbeat)
        rc = write_heartbeat(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(st->wdb, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        rollback(st->wdb);
    return rc;
}

/* Appends what producers queued to the pending list, in order. */
static void take_queued(struct store *st)
{
    struct qnode *list = queue_take_all(&st->q);
    if (!list)
        return;
    if (st->pending_tail)
        st->pending_tail->next = list;
    else
        st->pending = list;
    size_t rows = 0;
    for (struct qnode *q = list; q; q = q->next) {
        if (container_of(q, struct wnode, link)->op != WOP_BARRIER)
            rows++;
        st->pending_tail = q;
    }
    atomic_fetch_add(&st->pending_rows, rows);
}

/* Lets every waiting store_sync return result. Called with mu held: a barrier node lives on its
 * waiter's stack and must be off the list before the waiter can see sync_done move. */
static void release_barriers(struct store *st, int result)
{
    uint64_t top = 0;
    struct qnode **pp = &st->pending, *last = NULL;
    while (*pp) {
        struct wnode *n = container_of(*pp, struct wnode, link);
        if (n->op == WOP_BARRIER) {
            *pp = n->link.next;
            n->result = result;
            if (n->seq > top)
                top = n->seq;
        } else {
            last = *pp;
            pp = &n->link.next;
        }
    }
    st->pending_tail = last;
    if (top > st->sync_done) {
        st->sync_done = top;
        pthread_cond_broadcast(&st->done);
    }
}

/* Frees the pending rows (barriers are gone); names them when they were never written. */
static void free_pending(struct store *st, bool lost)
{
    size_t n = atomic_load(&st->pending_rows), shown = 0;
    if (lost && n > 0)
        log_error("store: %zu CDR changes could not be written before exit", n);
    while (st->pending) {
        struct wnode *w = container_of(st->pending, struct wnode, link);
        st->pending = w->link.next;
        if (lost && shown++ < 100)
            log_error("store: not written: CDR %.*s %s %.*s", call_id_len(&w->row),
                      w->row.call_id, w->op == WOP_BEGIN ? "begin" : "end",
                      (int)strnlen(w->row.hangup_cause, sizeof w->row.hangup_cause),
                      w->row.hangup_cause);
        free(w->row.vars_json);
        free(w);
    }
    if (lost && shown > 100)
        log_error("store: not written: %zu more CDR changes", shown - 100);
    st->pending_tail = NULL;
    atomic_store(&st->pending_rows, 0);
}

/* Backoff and a rate-limited log for failed writes; the writer thread's own state. */
struct retry {
    uint64_t at_ms, backoff_ms, last_log_ms, failures;
};

static void note_failure(struct store *st, struct retry *r, int rc, uint64_t now)
{
    atomic_fetch_add(&st->write_errors, 1);
    r->failures++;
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : RETRY_MIN_MS;
    if (r->backoff_ms > RETRY_MAX_MS)
        r->backoff_ms = RETRY_MAX_MS;
    r->at_ms = now + r->backoff_ms;
    if (r->failures == 1 || now - r->last_log_ms >= FAIL_LOG_MS) {
        log_error("store: write failed (%s): %zu CDR changes kept in memory and retried"
                  " (%llu failed attempts so far)", sqlite3_errstr(rc),
                  atomic_load(&st->pending_rows), (unsigned long long)r->failures);
        r->last_log_ms = now;
    }
}

static void note_success(struct retry *r)
{
    if (r->failures > 0)
        log_warn("store: CDR writes work again after %llu failed attempts; nothing was lost",
                 (unsigned long long)r->failures);
    *r = (struct retry){ 0 };
}

static void idle_checkpoint(struct store *st)
{
    int wal_frames = 0, done_frames = 0;
    int rc = sqlite3_wal_checkpoint_v2(st->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal_frames,
                                       &done_frames);
    if (rc != SQLITE_OK)
        log_warn("store: WAL checkpoint failed: %s", sqlite3_errmsg(st->wdb));
    else
        log_debug("store: WAL checkpoint %d/%d frames", done_frames, wal_frames);
}

static void sleep_until(struct store *st, uint64_t wake_ms)
{
    uint64_t now = clock_mono_ms();
    if (wake_ms <= now)
        return;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t ns = (uint64_t)deadline.tv_nsec + (wake_ms - now) % 1000 * 1000000u;
    deadline.tv_sec += (time_t)((wake_ms - now) / 1000 + ns / 1000000000u);
    deadline.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(&st->wake, &st->mu, &deadline);
}

/* call.completed for every ended row just committed. Without mu (JSON is built here): the
 * pending list is the writer's own, and its barriers stay until release_barriers. */
static void announce_completed(struct store *st)
{
    for (struct qnode *q = st->pending; q; q = q->next) {
        struct wnode *n = container_of(q, struct wnode, link);
        if (n->op == WOP_END)
            cdr_completed(&n->row);
    }
}

static void *writer_main(void *arg)
{
    struct store *st = arg;
    thread_class_background("store");
    bool checkpoint_due = false;
    uint64_t last_write_ms = 0, beat_due_ms = 0;
    struct retry retry = { 0 };

    pthread_mutex_lock(&st->mu);
    for (;;) {
        take_queued(st);
        bool rows = atomic_load(&st->pending_rows) > 0;
        if (!rows)
            release_barriers(st, 0); /* nothing before them is unwritten */
        uint64_t now = clock_mono_ms();
        bool beat = now >= beat_due_ms;
        if ((rows || beat) && now >= retry.at_ms) {
            pthread_mutex_unlock(&st->mu);
            int rc = write_pending(st, beat);
            now = clock_mono_ms();
            if (rc == SQLITE_OK) {
                note_success(&retry);
                announce_completed(st);
                beat_due_ms = now + HEARTBEAT_MS;
                if (rows) {
                    checkpoint_due = true;
                    last_write_ms = now;
                }
            } else {
                note_failure(st, &retry, rc, now);
            }
            pthread_mutex_lock(&st->mu);
            release_barriers(st, rc == SQLITE_OK ? 0 : -1);
            if (rc == SQLITE_OK)
                free_pending(st, false);
            continue;
        }
        if (st->stopping && (!rows || now >= st->stop_deadline_ms))
            break;
        /* One passive checkpoint after each burst, once writes paused for a second: bounded,
         * and it never waits for readers. Heartbeats alone leave it to SQLite's autocheckpoint. */
        if (checkpoint_due && now - last_write_ms >= IDLE_CHECKPOINT_MS) {
            checkpoint_due = false;
            pthread_mutex_unlock(&st->mu);
            idle_checkpoint(st);
            pthread_mutex_lock(&st->mu);
            continue;
        }
        /* The next write: rows at once, else the heartbeat; never before the backoff ends. */
        uint64_t wake = rows ? now : beat_due_ms;
        if (wake < retry.at_ms)
            wake = retry.at_ms;
        if (checkpoint_due && last_write_ms + IDLE_CHECKPOINT_MS < wake)
            wake = last_write_ms + IDLE_CHECKPOINT_MS;
        if (st->stopping && st->stop_deadline_ms < wake)
            wake = st->stop_deadline_ms;
        sleep_until(st, wake);
    }
    st->lost = atomic_load(&st->pending_rows);
    free_pending(st, true);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static void wake_writer(struct store *st)
{
    pthread_mutex_lock(&st->mu);
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
}

static void enqueue_row(struct store *st, enum wop op, const struct cdr_row *row)
{
    if (!st || !row) {
        log_error("store: CDR write without store or row ignored");
        return;
    }
    if (row->call_id[0] == '\0') {
        log_error("store: CDR row without call_id ignored");
        return;
    }
    struct wnode *n = malloc(sizeof *n);
    if (!n) {
        log_error("store: out of memory, CDR %.*s lost", call_id_len(row), row->call_id);
        return;
    }
    n->op = op;
    n->seq = 0;
    n->row = *row;
    n->row.vars_json = NULL;
    if (row->vars_json && !(n->row.vars_json = strdup(row->vars_json))) {
        log_error("store: out of memory, CDR %.*s lost", call_id_len(row), row->call_id);
        free(n);
        return;
    }
    if (queue_push(&st->q, &n->link))
        wake_writer(st);
}

void store_cdr_begin(struct store *st, const struct cdr_row *row)
{
    enqueue_row(st, WOP_BEGIN, row);
}

void store_cdr_end(struct store *st, const struct cdr_row *row)
{
    enqueue_row(st, WOP_END, row);
}

void store_cdr_update(struct store *st, const struct cdr_row *row)
{
    /* An end row whose end_ms is 0 rewrites what is known while end_time stays NULL. */
    enqueue_row(st, WOP_END, row);
}

int store_sync(struct store *st)
{
    if (!st)
        return -1;
    struct wnode barrier = { .op = WOP_BARRIER, .result = -1 };
    pthread_mutex_lock(&st->mu);
    barrier.seq = ++st->sync_posted;
    if (queue_push(&st->q, &barrier.link))
        pthread_cond_signal(&st->wake);
    while (st->sync_done < barrier.seq)
        pthread_cond_wait(&st->done, &st->mu);
    pthread_mutex_unlock(&st->mu);
    return barrier.result;
}

void store_get_stats(struct store *st, struct store_stats *out)
{
    out->cdr_pending = st ? atomic_load(&st->pending_rows) : 0;
    out->write_errors = st ? atomic_load(&st->write_errors) : 0;
}

/* ---- reads ------------------------------------------------------------------------------ */

int store_auth_token(struct store *st, const char *token, char *account, size_t accountlen)
{
    if (!st || !token || !*token || !account || accountlen == 0)
        return -1;
    char hash[HASH_HEX + 1];
    if (sha256_hex(token, strlen(token), hash) != 0) {
        log_error("store: SHA-256 failed");
        return -1;
    }
    int result = -1;
    pthread_mutex_lock(&st->rmu);
    sqlite3_bind_text(st->auth, 1, hash, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st->auth);
    if (rc == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st->auth, 0);
        size_t len = name ? strlen(name) : 0;
        /* A cut name would authenticate as another account: refuse instead. */
        if (len > 0 && len < accountlen) {
            memcpy(account, name, len + 1);
            result = 0;
        } else {
            log_error("store: account name of a token does not fit (%zu bytes)", len);
        }
    } else if (rc != SQLITE_DONE) {
        log_error("store: token lookup failed: %s", sqlite3_errmsg(st->rdb));
    }
    sqlite3_reset(st->auth);
    pthread_mutex_unlock(&st->rmu);
    return result;
}

/* Copies a text column; -1 when it does not fit (a cut number or account would misroute). */
static int copy_column(sqlite3_stmt *s, int col, char *out, size_t outlen)
{
    const char *v = (const char *)sqlite3_column_text(s, col);
    size_t len = v ? strlen(v) : 0;
    if (len >= outlen)
        return -1;
    memcpy(out, v ? v : "", len + 1);
    return 0;
}

static int read_number(sqlite3_stmt *s, struct number_record *r)
{
    if (copy_column(s, 0, r->number, sizeof r->number) != 0 ||
        copy_column(s, 1, r->account, sizeof r->account) != 0 ||
        copy_column(s, 2, r->region, sizeof r->region) != 0 ||
        copy_column(s, 3, r->type, sizeof r->type) != 0 ||
        copy_column(s, 4, r->state, sizeof r->state) != 0 ||
        copy_column(s, 5, r->script, sizeof r->script) != 0 ||
        copy_column(s, 7, r->trunk, sizeof r->trunk) != 0)
        return -1;
    if (sqlite3_column_type(s, 6) == SQLITE_NULL)
        r->max_concurrent = strcmp(r->type, "mobile") == 0 ? 3 : 10; /* SPEC 8 defaults */
    else
        r->max_concurrent = sqlite3_column_int(s, 6);
    return 0;
}

int store_active_numbers(struct store *st, struct number_record **out, size_t *n)
{
    if (!out || !n)
        return -1;
    *out = NULL;
    *n = 0;
    if (!st)
        return -1;
    struct number_record *recs = NULL;
    size_t count = 0, cap = 0;
    bool oom = false;
    int rc;
    pthread_mutex_lock(&st->rmu);
    while ((rc = sqlite3_step(st->numbers)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct number_record *grown = realloc(recs, ncap * sizeof *recs);
            if (!grown) {
                log_error("store: out of memory reading numbers");
                oom = true;
                break;
            }
            recs = grown;
            cap = ncap;
        }
        if (read_number(st->numbers, &recs[count]) != 0) {
            log_warn("store: number %.40s skipped: a field is too long",
                     (const char *)sqlite3_column_text(st->numbers, 0));
            continue;
        }
        count++;
    }
    if (!oom && rc != SQLITE_DONE)
        log_error("store: reading numbers failed: %s", sqlite3_errmsg(st->rdb));
    sqlite3_reset(st->numbers);
    pthread_mutex_unlock(&st->rmu);
    if (oom || rc != SQLITE_DONE) {
        free(recs);
        return -1;
    }
    *out = recs;
    *n = count;
    return 0;
}

long long store_numbers_rev(struct store *st)
{
    long long rev = -1;
    pthread_mutex_lock(&st->rmu);
    if (sqlite3_step(st->numbers_rev) == SQLITE_ROW)
        rev = sqlite3_column_int64(st->numbers_rev, 0);
    sqlite3_reset(st->numbers_rev);
    pthread_mutex_unlock(&st->rmu);
    return rev;
}

/* ---- open / close ----------------------------------------------------------------------- */

static void store_free(struct store *st)
{
    sqlite3_finalize(st->auth);
    sqlite3_finalize(st->numbers);
    sqlite3_finalize(st->numbers_rev);
    sqlite3_finalize(st->ins_cdr);
    sqlite3_finalize(st->upd_cdr);
    sqlite3_finalize(st->beat);
    /* Reader first: the last connection to close checkpoints and removes the WAL. */
    if (st->rdb)
        sqlite3_close(st->rdb);
    if (st->wdb)
        sqlite3_close(st->wdb);
    queue_destroy(&st->q);
    pthread_cond_destroy(&st->wake);
    pthread_cond_destroy(&st->done);
    pthread_mutex_destroy(&st->mu);
    pthread_mutex_destroy(&st->rmu);
    data_lock_release(st->lock_fd);
    free(st);
}

static int open_db(const char *path, int flags, sqlite3 **db, char *err, size_t errlen)
{
    *db = db_open("store", path, flags, BUSY_TIMEOUT_MS, err, errlen);
    if (!*db)
        return -1;
    sqlite3_extended_result_codes(*db, 1);
    return 0;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK) {
        set_err(err, errlen, "preparing statement: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int setup_writer_db(struct store *st, const char *data_dir, const char *db_path,
                           char *err, size_t errlen)
{
    if (open_db(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &st->wdb, err, errlen) != 0)
        return -1;
    if (exec_sql(st->wdb, "PRAGMA foreign_keys = ON", db_path, err, errlen) != 0 ||
        migrate(st->wdb, err, errlen) != 0 || close_crashed_rows(st->wdb, err, errlen) != 0 ||
        ensure_admin(st->wdb, data_dir, err, errlen) != 0 ||
        prepare(st->wdb, sql_insert_cdr, &st->ins_cdr, err, errlen) != 0 ||
        prepare(st->wdb, sql_update_cdr, &st->upd_cdr, err, errlen) != 0 ||
        prepare(st->wdb, "INSERT INTO meta(key, value) VALUES ('alive_at', ?1)"
                         " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                &st->beat, err, errlen) != 0)
        return -1;
    return 0;
}

static int setup_reader_db(struct store *st, const char *db_path, char *err, size_t errlen)
{
    if (open_db(db_path, SQLITE_OPEN_READONLY, &st->rdb, err, errlen) != 0 ||
        prepare(st->rdb, "SELECT account FROM api_tokens WHERE token_sha256 = ?1", &st->auth,
                err, errlen) != 0 ||
        prepare(st->rdb, "SELECT number, account, region, type, state, script, max_concurrent,"
                         " trunk FROM numbers WHERE state IN ('active', 'suspended') ORDER BY number",
                         &st->numbers, err, errlen) != 0 ||
        prepare(st->rdb, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'numbers_rev'",
                &st->numbers_rev, err, errlen) != 0)
        return -1;
    return 0;
}

struct store *store_open(const char *data_dir, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!data_dir || !*data_dir) {
        set_err(err, errlen, "no data directory given");
        return NULL;
    }
    char rec_path[PATH_MAX], db_path[PATH_MAX];
    if (join_path(rec_path, sizeof rec_path, data_dir, "recordings", err, errlen) != 0 ||
        join_path(db_path, sizeof db_path, data_dir, "vcs.db", err, errlen) != 0 ||
        mkdir_p(data_dir, 0750, err, errlen) != 0)
        return NULL;
    /* Before anything in the folder is read or written: a second vcsd on the same data would
     * close the first one's live calls as crashed. */
    int lock_fd = data_lock_take(data_dir, err, errlen);
    if (lock_fd < 0)
        return NULL;
    struct store *st = calloc(1, sizeof *st);
    if (!st || mkdir_p(rec_path, 0750, err, errlen) != 0) {
        if (!st)
            set_err(err, errlen, "out of memory");
        free(st);
        data_lock_release(lock_fd);
        return NULL;
    }
    st->lock_fd = lock_fd;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&st->done, NULL);
    pthread_mutex_init(&st->mu, NULL);
    pthread_mutex_init(&st->rmu, NULL);
    queue_init(&st->q);
    snprintf(st->data_dir, sizeof st->data_dir, "%s", data_dir);

    if (setup_writer_db(st, data_dir, db_path, err, errlen) != 0 ||
        setup_reader_db(st, db_path, err, errlen) != 0) {
        store_free(st);
        return NULL;
    }
    int rc = pthread_create(&st->thread, NULL, writer_main, st);
    if (rc != 0) {
        set_err(err, errlen, "cannot start the store writer thread: %s", strerror(rc));
        store_free(st);
        return NULL;
    }
    log_info("store: %s open (schema version %zu)", db_path, N_MIGRATIONS);
    return st;
}

const char *store_data_dir(const struct store *st)
{
    return st ? st->data_dir : NULL;
}

size_t store_close(struct store *st)
{
    if (!st)
        return 0;
    pthread_mutex_lock(&st->mu);
    st->stopping = true;
    st->stop_deadline_ms = clock_mono_ms() + CLOSE_FLUSH_MS;
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->thread, NULL);
    size_t lost = st->lost;
    store_free(st);
    return lost;
}
