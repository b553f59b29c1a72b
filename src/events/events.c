/* The webhook delivery thread (see events.h). */
#include "events/events.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/digest.h"
#include "core/log.h"
#include "core/queue.h"
#include "core/thread_class.h"
#include "events/webhook_addr.h"
#include "store/db_open.h"

#define ATTEMPT_TIMEOUT_S 10
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS (3600 * 1000)
#define GIVE_UP_MS (24 * 3600 * 1000)
#define MAX_IN_FLIGHT 32
#define BUSY_TIMEOUT_MS 5000
#define REFUSAL_LOG_MS 10000
#define HELD_RETRY_MS 1000

const char *const events_names[] = {
    "call.completed", "recording.ready", "balance.low", "order.approved", "order.rejected",
    "campaign.completed", NULL,
};

struct emitted {
    struct qnode link;
    char account[130];
    char name[32];
    char *data; /* JSON text */
};

/* What became of an attempt to send: a refused address is final, the rest is retried. */
enum sent { SENT, NOT_SENT, REFUSED };

struct attempt {
    int64_t id;
    struct evhttp_connection *conn;
    bool used;
};

static struct {
    atomic_bool running;
    atomic_bool allow_private; /* webhooks.allow_private */
    struct mpsc_queue q;
    struct event_base *base;
    struct event *wake, *timer, *held_timer;
    /* Events the table could not take yet (the database busy), oldest first: written before
     * newer ones. Delivery thread only. */
    struct qnode *held;
    sqlite3 *db;
    pthread_t thread;
    struct attempt flight[MAX_IN_FLIGHT];
} ev;

/* ---- the queue: events -> deliveries ---------------------------------------------------- */

/* SQLITE_DONE when written. */
static int store_emitted(struct emitted *e)
{
    static const char sql[] =
        "INSERT INTO webhook_deliveries(webhook_id, event, data, created_at, created_ms, next_ms)"
        " SELECT id, ?2, ?3, ?4, ?5, ?5 FROM webhooks WHERE account = ?1 AND EXISTS"
        " (SELECT 1 FROM json_each(webhooks.events) WHERE value IN (?2, '*'))";
    sqlite3_stmt *st = NULL;
    int64_t now = clock_wall_ms();
    char at[ISO8601_LEN];
    iso8601_ms(now, at);
    int rc = sqlite3_prepare_v2(ev.db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, e->account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, e->data, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, at, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Frees a list of events; how many there were. */
static size_t free_events(struct qnode *list)
{
    size_t n = 0;
    while (list) {
        struct emitted *e = container_of(list, struct emitted, link);
        list = list->next;
        free(e->data);
        free(e);
        n++;
    }
    return n;
}

/* Writes the held and the queued events in one transaction; how many (0 when none, or when
 * the database is busy: then they stay held and are tried again in HELD_RETRY_MS). An event
 * the table refuses for another reason is dropped. */
static size_t store_queued(void)
{
    struct qnode **tail = &ev.held;
    while (*tail)
        tail = &(*tail)->next;
    *tail = queue_take_all(&ev.q);
    if (!ev.held)
        return 0;
    int rc = sqlite3_exec(ev.db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    bool retry = db_busy(rc);
    for (struct qnode **at = &ev.held; rc == SQLITE_OK && *at;) {
        struct emitted *e = container_of(*at, struct emitted, link);
        int erc = store_emitted(e);
        if (erc == SQLITE_DONE) {
            at = &(*at)->next;
            continue;
        }
        if (!db_busy(erc)) {
            log_error("events: %s of %s lost: %s", e->name, e->account, sqlite3_errmsg(ev.db));
            *at = e->link.next;
            free(e->data);
            free(e);
            /* The others are not at fault, but an error that ended the transaction took
             * the ones written before with it: they are written again. */
            if (!sqlite3_get_autocommit(ev.db))
                continue;
        }
        rc = erc;
        retry = true;
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(ev.db, "COMMIT", NULL, NULL, NULL);
        retry = db_busy(rc);
    }
    if (rc == SQLITE_OK) {
        struct qnode *done = ev.held;
        ev.held = NULL;
        return free_events(done);
    }
    if (!sqlite3_get_autocommit(ev.db))
        sqlite3_exec(ev.db, "ROLLBACK", NULL, NULL, NULL);
    if (retry && ev.held) {
        log_warn("events: cannot write events for delivery yet (%s): tried again in %d ms",
                 sqlite3_errstr(rc), HELD_RETRY_MS);
        struct timeval tv = { HELD_RETRY_MS / 1000, (HELD_RETRY_MS % 1000) * 1000 };
        evtimer_add(ev.held_timer, &tv);
    } else if (ev.held) {
        log_error("events: %zu events lost: %s", free_events(ev.held), sqlite3_errstr(rc));
        ev.held = NULL;
    }
    return 0;
}

void events_emit(const char *account, const char *name, json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(data);
    if (!account || !account[0]) {
        free(text);
        return; /* a call no account owns: nobody subscribes to it */
    }
    struct emitted *e = text ? calloc(1, sizeof *e) : NULL;
    if (!e || !atomic_load(&ev.running)) {
        log_warn("events: %s of %s lost: %s", name, account,
                 e ? "the delivery thread is not running" : "out of memory");
        free(text);
        free(e);
        return;
    }
    snprintf(e->account, sizeof e->account, "%s", account);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->data = text;
    if (queue_push(&ev.q, &e->link))
        event_active(ev.wake, EV_READ, 0);
}

/* ---- sending ---------------------------------------------------------------------------- */

static struct attempt *attempt_of(int64_t id)
{
    for (size_t i = 0; i < MAX_IN_FLIGHT; i++) {
        if (ev.flight[i].used && ev.flight[i].id == id)
            return &ev.flight[i];
    }
    return NULL;
}

static void schedule(void);

static void free_conn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evhttp_connection_free(arg);
}

static int64_t backoff_ms(int64_t attempts)
{
    int64_t delay = RETRY_FIRST_MS;
    for (int64_t i = 1; i < attempts && delay < RETRY_MAX_MS; i++)
        delay *= 2;
    return delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS;
}

/* The outcome of an attempt: delivered, retried later or failed for good (at once when
 * final). */
static void record_outcome(int64_t id, int status, const char *why, bool final)
{
    int64_t now = clock_wall_ms(), attempts = 1, created = now;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ev.db, "SELECT attempts + 1, created_ms FROM webhook_deliveries"
                           " WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            attempts = sqlite3_column_int64(st, 0);
            created = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    bool ok = status >= 200 && status < 300;
    int64_t next = now + backoff_ms(attempts);
    const char *state = ok                                    ? "delivered"
                        : final || next > created + GIVE_UP_MS ? "failed"
                                                               : "pending";
    char at[ISO8601_LEN];
    iso8601_ms(now, at);
    int rc = sqlite3_prepare_v2(ev.db, "UPDATE webhook_deliveries SET attempts = ?2,"
                                " last_status = ?3, last_error = ?4, state = ?5, next_ms = ?6,"
                                " delivered_at = ?7 WHERE id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, attempts);
        if (status > 0)
            sqlite3_bind_int(st, 3, status);
        if (!ok)
            sqlite3_bind_text(st, 4, why, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, state, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, next);
        if (ok)
            sqlite3_bind_text(st, 7, at, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        log_error("events: delivery %" PRId64 ": %s", id, sqlite3_errmsg(ev.db));
    else if (!ok && !final)
        log_info("events: delivery %" PRId64 " attempt %" PRId64 ": %s; %s", id, attempts, why,
                 strcmp(state, "failed") == 0 ? "given up after 24 h" : "retried");
}

static void on_answer(struct evhttp_request *req, void *arg)
{
    struct attempt *a = arg;
    int status = req ? evhttp_request_get_response_code(req) : 0;
    char why[64];
    if (status == 0)
        snprintf(why, sizeof why, "no answer within %d s", ATTEMPT_TIMEOUT_S);
    else
        snprintf(why, sizeof why, "HTTP %d", status);
    record_outcome(a->id, status, why, false);
    /* libevent still uses the connection inside this callback: it is freed just after. */
    event_base_once(ev.base, -1, EV_TIMEOUT, free_conn, a->conn, NULL);
    *a = (struct attempt){ 0 };
    schedule();
}

static int sign(const char *secret, const char *ts, const char *body, char out[72])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    size_t tl = strlen(ts), bl = strlen(body);
    unsigned char *msg = malloc(tl + 1 + bl);
    if (!msg)
        return -1;
    memcpy(msg, ts, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, bl);
    bool ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + bl, mac, &len) &&
              len == 32;
    free(msg);
    if (!ok)
        return -1;
    memcpy(out, "sha256=", 7);
    hex_encode(mac, len, out + 7);
    return 0;
}

/* Refusals are logged at most once per REFUSAL_LOG_MS (a customer may subscribe any number
 * of URLs); the line after a quiet spell counts the ones left out. Delivery thread only. */
static void log_refusal(const char *host, const char *why)
{
    static uint64_t last_ms;
    static unsigned long unlogged;
    uint64_t now = clock_mono_ms();
    if (last_ms && now - last_ms < REFUSAL_LOG_MS) {
        unlogged++;
        return;
    }
    if (unlogged)
        log_warn("events: delivery to %s %s (and %lu refusals not logged since the last line)",
                 host, why, unlogged);
    else
        log_warn("events: delivery to %s %s", host, why);
    last_ms = now;
    unlogged = 0;
}

/* The numeric address a delivery to host connects to. The host resolves here, on this thread
 * alone (evdns is not used: a slow DNS delays other deliveries, never a call), and the
 * address checked is the address connected to, so a name cannot answer one address to the
 * check and another to the connect (DNS rebinding). */
static enum sent pick_address(const char *host, char ip[INET6_ADDRSTRLEN], char *why,
                              size_t whylen)
{
    char plain[256];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *list = NULL;
    if (!webhook_host_plain(host, plain, sizeof plain)) {
        snprintf(why, whylen, "refused: the host name is too long");
        return REFUSED;
    }
    int rc = getaddrinfo(plain, NULL, &hints, &list);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve the host: %s", gai_strerror(rc));
        return NOT_SENT;
    }
    const char *refusal = NULL;
    bool found = false;
    for (const struct addrinfo *ai = list; ai && !found; ai = ai->ai_next) {
        const char *r = atomic_load(&ev.allow_private) ? NULL : webhook_addr_refusal(ai->ai_addr);
        if ((r && refusal) || (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
            continue;
        const void *bin = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (!inet_ntop(ai->ai_family, bin, ip, INET6_ADDRSTRLEN))
            continue;
        if (r) /* the first refused address, named in the reason if no other is allowed */
            snprintf(why, whylen, "refused: %s is %s; webhooks go to public addresses only"
                     " (webhooks.allow_private)", ip, r);
        refusal = refusal ? refusal : r;
        found = !r;
    }
    freeaddrinfo(list);
    if (found)
        return SENT;
    if (!refusal) {
        snprintf(why, whylen, "the host has no IP address");
        return NOT_SENT;
    }
    log_refusal(host, why);
    return REFUSED;
}

/* One attempt at the delivery in the current row of st (id, event, data, created_at, url,
 * secret). Anything but SENT is counted as a failed attempt by the caller. */
static enum sent send_one(struct attempt *a, sqlite3_stmt *st, char *why, size_t whylen)
{
    const char *event = (const char *)sqlite3_column_text(st, 1);
    json_t *data = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
    json_t *msg = json_pack("{s:I,s:s,s:s,s:o}", "id", (json_int_t)a->id, "event", event,
                            "created_at", (const char *)sqlite3_column_text(st, 3), "data",
                            data ? data : json_object());
    char *body = msg ? json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(msg);
    struct evhttp_uri *uri = evhttp_uri_parse((const char *)sqlite3_column_text(st, 4));
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    int port = uri ? evhttp_uri_get_port(uri) : -1;
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    char target[2048], ts[24], sig[72], id[24], len[24], hostport[300], ip[INET6_ADDRSTRLEN];
    snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
             query ? query : "");
    snprintf(ts, sizeof ts, "%" PRId64, clock_wall_ms() / 1000);
    snprintf(id, sizeof id, "%" PRId64, a->id);
    enum sent rc = NOT_SENT;
    if (!body || !host || sign((const char *)sqlite3_column_text(st, 5), ts, body, sig) != 0) {
        snprintf(why, whylen, "%s", !host ? "bad URL" : "out of memory");
        goto out;
    }
    snprintf(len, sizeof len, "%zu", strlen(body));
    snprintf(hostport, sizeof hostport, port > 0 ? "%s:%d" : "%s", host, port);
    rc = pick_address(host, ip, why, whylen);
    if (rc != SENT)
        goto out;
    rc = NOT_SENT;
    a->conn = evhttp_connection_base_new(ev.base, NULL, ip, (uint16_t)(port > 0 ? port : 80));
    struct evhttp_request *req = a->conn ? evhttp_request_new(on_answer, a) : NULL;
    if (!req) {
        snprintf(why, whylen, "cannot connect");
        goto out;
    }
    evhttp_connection_set_timeout(a->conn, ATTEMPT_TIMEOUT_S);
    evhttp_connection_set_retries(a->conn, 0);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "User-Agent", "vcsd-webhooks");
    evhttp_add_header(h, "Content-Type", "application/json");
    /* Set by hand: libevent adds Content-Length to a client request only for some methods. */
    evhttp_add_header(h, "Content-Length", len);
    evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "X-VCS-Event", event);
    evhttp_add_header(h, "X-VCS-Delivery", id);
    evhttp_add_header(h, "X-VCS-Timestamp", ts);
    evhttp_add_header(h, "X-VCS-Signature", sig);
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    if (evhttp_make_request(a->conn, req, EVHTTP_REQ_POST, target) != 0) {
        snprintf(why, whylen, "cannot send the request"); /* req is freed by libevent */
        goto out;
    }
    rc = SENT;
out:
    free(body);
    if (uri)
        evhttp_uri_free(uri);
    return rc;
}

/* Starts what is due, then sets the timer for the next retry. */
static void schedule(void)
{
    static const char due_sql[] =
        "SELECT d.id, d.event, d.data, d.created_at, w.url, w.secret FROM webhook_deliveries d"
        " JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND d.next_ms <= ?1"
        " ORDER BY d.next_ms LIMIT ?2";
    int64_t now = clock_wall_ms();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ev.db, due_sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("events: %s", sqlite3_errmsg(ev.db));
        return;
    }
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, 2 * MAX_IN_FLIGHT);
    /* Outcomes are written after the SELECT ends: an UPDATE inside its read transaction
     * cannot upgrade it to a write once another connection has written (SQLITE_BUSY at
     * once, whatever the busy timeout), and the rows would be retried forever. */
    struct unsent {
        int64_t id;
        bool final;
        char why[256];
    } unsent[2 * MAX_IN_FLIGHT];
    size_t n_unsent = 0;
    while (n_unsent < 2 * MAX_IN_FLIGHT && sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        struct attempt *a = NULL;
        for (size_t i = 0; !a && i < MAX_IN_FLIGHT; i++) {
            if (!ev.flight[i].used)
                a = &ev.flight[i];
        }
        if (attempt_of(id))
            continue;
        if (!a)
            break;
        *a = (struct attempt){ .id = id, .used = true };
        struct unsent *u = &unsent[n_unsent];
        enum sent sent = send_one(a, st, u->why, sizeof u->why);
        if (sent != SENT) {
            if (a->conn)
                evhttp_connection_free(a->conn);
            *a = (struct attempt){ 0 };
            u->id = id;
            u->final = sent == REFUSED;
            n_unsent++;
        }
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < n_unsent; i++)
        record_outcome(unsent[i].id, 0, unsent[i].why, unsent[i].final);
    int64_t next = -1;
    if (sqlite3_prepare_v2(ev.db, "SELECT MIN(next_ms) FROM webhook_deliveries"
                           " WHERE state = 'pending' AND next_ms > ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            next = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (next > 0) {
        int64_t ms = next - clock_wall_ms();
        struct timeval tv = { .tv_sec = ms > 0 ? ms / 1000 : 0,
                              .tv_usec = ms > 0 ? (ms % 1000) * 1000 : 0 };
        evtimer_add(ev.timer, &tv);
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    store_queued();
    schedule();
}

static void *thread_main(void *arg)
{
    (void)arg;
    thread_class_background("webhooks");
    schedule(); /* what a previous run left pending */
    /* Often nothing is pending between events: the loop must wait for event_active. */
    event_base_loop(ev.base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------- */

static void cleanup(void)
{
    for (size_t i = 0; i < MAX_IN_FLIGHT; i++) {
        if (ev.flight[i].used && ev.flight[i].conn)
            evhttp_connection_free(ev.flight[i].conn);
        ev.flight[i] = (struct attempt){ 0 };
    }
    if (ev.wake)
        event_free(ev.wake);
    if (ev.timer)
        event_free(ev.timer);
    if (ev.held_timer)
        event_free(ev.held_timer);
    if (ev.base) {
        /* Runs the pending deferred frees of finished connections. */
        event_base_loop(ev.base, EVLOOP_NONBLOCK);
        event_base_free(ev.base);
    }
    sqlite3_close(ev.db);
    queue_destroy(&ev.q);
    ev.wake = ev.timer = ev.held_timer = NULL;
    ev.base = NULL;
    ev.db = NULL;
}

bool events_private_allowed(void)
{
    return atomic_load(&ev.allow_private);
}

int events_start(const char *data_dir, bool allow_private, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/vcs.db", data_dir);
    queue_init(&ev.q);
    atomic_store(&ev.allow_private, allow_private);
    if (!(ev.db = db_open("events", path, SQLITE_OPEN_READWRITE, BUSY_TIMEOUT_MS, err, errlen))) {
        cleanup();
        return -1;
    }
    ev.base = event_base_new();
    ev.wake = ev.base ? event_new(ev.base, -1, 0, on_wake, NULL) : NULL;
    ev.timer = ev.base ? evtimer_new(ev.base, on_wake, NULL) : NULL;
    ev.held_timer = ev.base ? evtimer_new(ev.base, on_wake, NULL) : NULL;
    if (!ev.wake || !ev.timer || !ev.held_timer) {
        snprintf(err, errlen, "events: cannot create the event loop");
        cleanup();
        return -1;
    }
    atomic_store(&ev.running, true);
    if (pthread_create(&ev.thread, NULL, thread_main, NULL) != 0) {
        atomic_store(&ev.running, false);
        snprintf(err, errlen, "events: cannot start the delivery thread");
        cleanup();
        return -1;
    }
    return 0;
}

void events_stop(void)
{
    if (!ev.base)
        return;
    atomic_store(&ev.running, false);
    event_base_loopbreak(ev.base);
    pthread_join(ev.thread, NULL);
    size_t n = store_queued();
    if (n)
        log_info("events: %zu events queued at stop written for delivery after restart", n);
    if (ev.held)
        log_error("events: %zu events lost at stop: the database stayed busy",
                  free_events(ev.held));
    ev.held = NULL;
    cleanup();
}
