/* Managed trunks and trunk registrations in vcs.db (see trunk_store.h). */
#include "store/trunk_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/thread_class.h"
#include "store/db_open.h"
#include "store/mgmt_sql.h"

#define BUSY_TIMEOUT_MS 5000
#define MAX_CALLS_MAX 1000000
#define PENDING_MAX 512 /* changes of distinct trunks waiting for one write: far above any burst */

/* ---- the API's side ------------------------------------------------------------------------ */

static const char sql_select[] =
    "SELECT name, account, allow, username, max_calls, address, created_at,"
    " (SELECT contact FROM trunk_registrations r WHERE r.trunk = t.name AND r.expires_ms > ?1)"
    " AS registered FROM trunks t";

int ts_check(const struct ts_change *c, bool create, char *msg, size_t msglen)
{
    if (create && (!c->name || !iam_name_valid(c->name))) {
        snprintf(msg, msglen, "name must be 1-32 of [A-Za-z0-9_.-], starting with a letter");
        return -1;
    }
    if (c->allow) {
        if (!json_is_array(c->allow) || json_array_size(c->allow) > CONFIG_MAX_CIDRS) {
            snprintf(msg, msglen, "allow must be a list of at most %d \"ADDRESS/PREFIX\"",
                     CONFIG_MAX_CIDRS);
            return -1;
        }
        size_t i;
        json_t *v;
        json_array_foreach(c->allow, i, v) {
            struct cidr cidr;
            if (!json_is_string(v) || config_parse_cidr(json_string_value(v), &cidr) != 0) {
                snprintf(msg, msglen, "allow[%zu] is no \"ADDRESS/PREFIX\" (IPv4 or IPv6)", i);
                return -1;
            }
        }
    }
    bool user = c->username && c->username[0], pass = c->password && c->password[0];
    if ((c->username || c->password) && user != pass) {
        snprintf(msg, msglen, "username and password go together (\"\" for both clears them)");
        return -1;
    }
    if ((user && strlen(c->username) >= sizeof ((struct trunk_def *)0)->username) ||
        (pass && strlen(c->password) > 128)) {
        snprintf(msg, msglen, "username (at most 63 bytes) or password (at most 128) too long");
        return -1;
    }
    if (c->max_calls > MAX_CALLS_MAX) {
        snprintf(msg, msglen, "max_calls must be from 0 to %d", MAX_CALLS_MAX);
        return -1;
    }
    char host[64];
    uint16_t port;
    if (c->address && c->address[0] &&
        config_parse_hostport(c->address, host, sizeof host, &port) != 0) {
        snprintf(msg, msglen, "address must be \"IP:PORT\" (an IPv6 address in brackets)");
        return -1;
    }
    if (create && !user && (!c->allow || json_array_size(c->allow) == 0)) {
        snprintf(msg, msglen, "a trunk needs allow, or username and password");
        return -1;
    }
    return 0;
}

static char *allow_text(json_t *allow)
{
    return json_dumps(allow ? allow : json_array(), JSON_COMPACT);
}

enum iam_rc ts_create(sqlite3 *db, const struct ts_change *c, const char *realm)
{
    char ha1[TRUNK_HA1_LEN + 1] = "", created[ISO8601_LEN], max[24];
    bool user = c->username && c->username[0];
    if (user)
        trunks_ha1(c->username, realm, c->password, ha1);
    iso8601_ms(clock_wall_ms(), created);
    snprintf(max, sizeof max, "%lld", c->max_calls > 0 ? c->max_calls : 0);
    json_t *empty = json_array();
    char *allow = json_dumps(c->allow ? c->allow : empty, JSON_COMPACT);
    json_decref(empty);
    if (!allow)
        return IAM_FAIL;
    const char *v[] = { c->name, c->account, allow, user ? c->username : NULL,
                        user ? ha1 : NULL, user ? realm : NULL, max,
                        c->address && c->address[0] ? c->address : NULL, created };
    int rc = msql_run(db, "INSERT INTO trunks(name, account, allow, username, ha1, realm,"
                          " max_calls, address, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                          " CAST(?7 AS INTEGER), ?8, ?9)", v, 9);
    free(allow);
    return rc == SQLITE_DONE ? IAM_OK : rc == SQLITE_CONSTRAINT ? IAM_EXISTS : IAM_FAIL;
}

/* The trunk's row exists and is the account's (any account's for the operator). */
static bool owned(sqlite3 *db, const char *account, const char *name)
{
    const char *v[] = { name, account };
    return msql_count(db, "SELECT count(*) FROM trunks WHERE name = ?1"
                          " AND (?2 IS NULL OR account = ?2)", v, 2) == 1;
}

enum iam_rc ts_update(sqlite3 *db, const char *account, const char *name,
                      const struct ts_change *c, const char *realm, char *msg, size_t msglen)
{
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    if (!owned(db, account, name))
        return msql_commit(db, IAM_NOT_FOUND);
    const char *v[] = { name, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    char *allow = c->allow ? allow_text(c->allow) : NULL;
    char ha1[TRUNK_HA1_LEN + 1], max[24];
    v[1] = allow;
    if (c->username && c->username[0]) {
        trunks_ha1(c->username, realm, c->password, ha1);
        v[2] = c->username;
        v[3] = ha1;
        v[4] = realm;
    }
    if (c->max_calls >= 0) {
        snprintf(max, sizeof max, "%lld", c->max_calls);
        v[5] = max;
    }
    v[6] = c->address;
    v[7] = c->username && !c->username[0] ? "clear" : NULL;
    int rc = msql_run(db,
                      "UPDATE trunks SET allow = COALESCE(?2, allow),"
                      " username = CASE WHEN ?8 IS NOT NULL THEN NULL"
                      "  ELSE COALESCE(?3, username) END,"
                      " ha1 = CASE WHEN ?8 IS NOT NULL THEN NULL ELSE COALESCE(?4, ha1) END,"
                      " realm = CASE WHEN ?8 IS NOT NULL THEN NULL ELSE COALESCE(?5, realm) END,"
                      " max_calls = COALESCE(CAST(?6 AS INTEGER), max_calls),"
                      " address = CASE WHEN ?7 IS NULL THEN address WHEN ?7 = '' THEN NULL"
                      "  ELSE ?7 END WHERE name = ?1", v, 8);
    free(allow);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(msg, msglen, "the username is another trunk's");
        return msql_commit(db, IAM_IN_USE);
    }
    /* A trunk left with neither allow list nor credentials could never call. */
    const char *n[] = { name };
    if (rc == SQLITE_DONE && msql_count(db, "SELECT count(*) FROM trunks WHERE name = ?1 AND"
                                            " username IS NULL AND allow = '[]'", n, 1) != 0) {
        snprintf(msg, msglen, "a trunk needs allow, or username and password");
        return msql_commit(db, IAM_IN_USE);
    }
    return msql_commit(db, rc == SQLITE_DONE ? IAM_OK : IAM_FAIL);
}

enum iam_rc ts_delete(sqlite3 *db, const char *account, const char *name)
{
    if (msql_begin(db) != 0)
        return IAM_FAIL;
    if (!owned(db, account, name))
        return msql_commit(db, IAM_NOT_FOUND);
    const char *v[] = { name };
    int rc = msql_run(db, "DELETE FROM trunks WHERE name = ?1", v, 1);
    if (rc == SQLITE_DONE)
        rc = msql_run(db, "DELETE FROM trunk_registrations WHERE trunk = ?1", v, 1);
    return msql_commit(db, rc == SQLITE_DONE ? IAM_OK : IAM_FAIL);
}

static sqlite3_stmt *select_where(sqlite3 *db, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql, "%s %s", sql_select, where);
    sqlite3_stmt *st = msql_prep(db, sql);
    if (st)
        sqlite3_bind_int64(st, 1, clock_wall_ms());
    return st;
}

enum iam_rc ts_get(sqlite3 *db, const char *account, const char *name, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *st = select_where(db, "WHERE name = ?2 AND (?3 IS NULL OR account = ?3)");
    if (!st)
        return IAM_FAIL;
    const char *v[] = { name, account };
    for (int i = 0; i < 2; i++)
        v[i] ? sqlite3_bind_text(st, i + 2, v[i], -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i + 2);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = msql_row_json(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? (*out ? IAM_OK : IAM_FAIL) : rc == SQLITE_DONE ? IAM_NOT_FOUND
                                                                            : IAM_FAIL;
}

enum iam_rc ts_list(sqlite3 *db, const char *account, const char *after, int limit,
                    json_t **out)
{
    sqlite3_stmt *st = select_where(db, "WHERE (?2 IS NULL OR account = ?2) AND name > ?3"
                                        " ORDER BY name LIMIT ?4");
    if (!st)
        return IAM_FAIL;
    account ? sqlite3_bind_text(st, 2, account, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 2);
    sqlite3_bind_text(st, 3, after ? after : "", -1, SQLITE_TRANSIENT);
    return msql_page(db, st, 4, limit, "name", out);
}

static void def_from_row(sqlite3_stmt *st, const char *realm, struct trunk_def *d)
{
    memset(d, 0, sizeof *d);
    msql_copy_text(st, 0, d->name, sizeof d->name);
    msql_copy_text(st, 1, d->account, sizeof d->account);
    json_t *allow = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(allow, i, v) {
        if (d->n_allow < CONFIG_MAX_CIDRS && json_is_string(v) &&
            config_parse_cidr(json_string_value(v), &d->allow[d->n_allow]) == 0)
            d->n_allow++;
    }
    json_decref(allow);
    const char *row_realm = (const char *)sqlite3_column_text(st, 5);
    if (msql_copy_text(st, 3, d->username, sizeof d->username) == 0 &&
        (msql_copy_text(st, 4, d->ha1, sizeof d->ha1) != 0 || !row_realm ||
         strcmp(row_realm, realm) != 0)) {
        log_warn("trunks: %s: credentials were set for realm \"%s\", ours is \"%s\": set them "
                 "again", d->name, row_realm ? row_realm : "", realm);
        d->username[0] = d->ha1[0] = '\0';
    }
    d->max_calls = sqlite3_column_int(st, 6);
    msql_copy_text(st, 7, d->address, sizeof d->address);
}

int ts_load(sqlite3 *db, const char *realm, struct trunk_def **defs, size_t *n)
{
    *defs = NULL;
    *n = 0;
    sqlite3_stmt *st = msql_prep(db, "SELECT name, account, allow, username, ha1, realm,"
                                     " max_calls, address FROM trunks ORDER BY name");
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct trunk_def *g = realloc(*defs, ncap * sizeof *g);
            if (!g)
                break;
            *defs = g;
            cap = ncap;
        }
        def_from_row(st, realm, &(*defs)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        log_error("trunks: cannot read the trunks table: %s", sqlite3_errmsg(db));
        free(*defs);
        *defs = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

/* ---- registrations ------------------------------------------------------------------------- */

struct trunk_persist {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    size_t n;
    struct trunk_reg pending[PENDING_MAX];
    struct trunk_reg batch[PENDING_MAX]; /* the writer's copy */
};

static int load_regs(struct trunk_persist *p, struct trunks *t)
{
    sqlite3_stmt *st = msql_prep(p->db, "SELECT trunk, contact, source, expires_ms FROM"
                                        " trunk_registrations WHERE expires_ms > ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, clock_wall_ms());
    int rc, restored = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct trunk_reg r = { 0 };
        if (msql_copy_text(st, 0, r.trunk, sizeof r.trunk) != 0 ||
            msql_copy_text(st, 1, r.contact, sizeof r.contact) != 0 ||
            msql_copy_text(st, 2, r.source, sizeof r.source) != 0)
            continue;
        r.expires_ms = sqlite3_column_int64(st, 3);
        restored += trunks_register(t, &r) == 0;
    }
    sqlite3_finalize(st);
    if (restored)
        log_info("trunks: %d registrations restored", restored);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* SQLITE_DONE when written. */
static int write_reg(sqlite3 *db, const struct trunk_reg *r)
{
    char expires[24];
    snprintf(expires, sizeof expires, "%lld", (long long)r->expires_ms);
    const char *v[] = { r->trunk, r->contact, r->source, expires };
    int rc = r->expires_ms
                 ? msql_run(db, "INSERT OR REPLACE INTO trunk_registrations(trunk, contact,"
                                " source, expires_ms) VALUES (?1, ?2, ?3, CAST(?4 AS INTEGER))",
                            v, 4)
                 : msql_run(db, "DELETE FROM trunk_registrations WHERE trunk = ?1", v, 1);
    return rc;
}

/* Queues r for the writer, over a queued change of the same trunk unless that one is newer
 * (older: r comes back from a write that failed). False when the queue is full. Under p->mu. */
static bool enqueue(struct trunk_persist *p, const struct trunk_reg *r, bool older)
{
    size_t i = 0;
    while (i < p->n && strcmp(p->pending[i].trunk, r->trunk) != 0)
        i++;
    if (i == PENDING_MAX)
        return false;
    if (i == p->n)
        p->n++;
    else if (older)
        return true;
    p->pending[i] = *r;
    return true;
}

static void *writer(void *arg)
{
    struct trunk_persist *p = arg;
    thread_class_background("trunk store");
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->n && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        size_t n = p->n;
        memcpy(p->batch, p->pending, n * sizeof p->batch[0]);
        p->n = 0;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        size_t i = 0;
        for (; i < n; i++) {
            int rc = write_reg(p->db, &p->batch[i]);
            if (db_busy(rc) && !stop)
                break;
            if (rc != SQLITE_DONE)
                log_warn("trunks: registration of %s not saved (it holds until a restart)",
                         p->batch[i].trunk);
        }
        pthread_mutex_lock(&p->mu);
        /* The database stayed busy past the timeout: what is left is written at the next
         * turn (each waits out the timeout again), unless a newer change came meanwhile. */
        for (; i < n; i++) {
            if (!enqueue(p, &p->batch[i], true))
                log_warn("trunks: registration of %s not saved (writer behind; it holds until"
                         " a restart)", p->batch[i].trunk);
        }
        if (stop && !p->n)
            break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

void trunk_persist_reg(void *ctx, const struct trunk_reg *r)
{
    struct trunk_persist *p = ctx;
    pthread_mutex_lock(&p->mu);
    bool queued = enqueue(p, r, false);
    if (queued)
        pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!queued)
        log_warn("trunks: registration of %s not saved (writer behind; it holds until a restart)",
                 r->trunk);
}

struct trunk_persist *trunk_persist_open(const char *data_dir, struct trunks *t, char *err,
                                         size_t errlen)
{
    struct trunk_persist *p = calloc(1, sizeof *p);
    char path[4096];
    snprintf(path, sizeof path, "%s/vcs.db", data_dir);
    if (!p) {
        snprintf(err, errlen, "trunks: out of memory");
        goto fail;
    }
    if (!(p->db = db_open("trunks", path, SQLITE_OPEN_READWRITE, BUSY_TIMEOUT_MS, err, errlen)))
        goto fail;
    struct trunk_def *defs;
    size_t n;
    if (ts_load(p->db, trunks_realm(t), &defs, &n) != 0 || trunks_set_managed(t, defs, n) != 0) {
        free(defs);
        snprintf(err, errlen, "cannot load the trunks table");
        goto fail;
    }
    free(defs);
    if (load_regs(p, t) != 0) {
        snprintf(err, errlen, "cannot load the trunk registrations");
        goto fail;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, writer, p) != 0) {
        snprintf(err, errlen, "cannot start the registration writer");
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        goto fail;
    }
    return p;
fail:
    if (p)
        sqlite3_close(p->db);
    free(p);
    return NULL;
}

void trunk_persist_close(struct trunk_persist *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    sqlite3_close(p->db);
    free(p);
}
