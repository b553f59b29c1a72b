/* Prepaid billing, the service (see billing.h). */
#include "billing/billing.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "billing/bclock.h"
#include "billing/calendar.h"
#include "core/log.h"
#include "events/events.h"
#include "store/db_open.h"
#include "store/ledger.h"
#include "core/thread_class.h"

#define RUN_INTERVAL_S 5
#define BUSY_TIMEOUT_MS 5000

struct usage {
    char account[64];
    char call_id[40];
    int64_t cost_fen;
    int64_t when_ms;
    struct usage *next;
};

struct billing {
    sqlite3 *db;
    struct prepaid *prepaid;
    struct event *timer, *post_ev;
    pthread_mutex_t mu;             /* the queue */
    struct usage *queue, **queue_tail;
};

/* ---- the main thread ------------------------------------------------------------------ */

/* SPEC 10: balance.low, once per crossing of the account's threshold. */
static void check_low(struct billing *b, const char *account)
{
    int64_t balance, low;
    if (!prepaid_low_crossed(b->prepaid, account, &balance, &low))
        return;
    log_info("billing: account %s balance %lld fen below %lld", account, (long long)balance,
             (long long)low);
    events_emit(account, "balance.low",
                json_pack("{s:s,s:I,s:I}", "account", account, "balance_fen", (json_int_t)balance,
                          "low_balance_fen", (json_int_t)low));
}

static void set_account(void *ctx, const char *account, const struct ledger_account *t)
{
    struct billing *b = ctx;
    struct prepaid_terms terms = {
        .balance_fen = t->balance_fen,
        .rate_fen = t->rate_fen,
        .low_balance_fen = t->low_balance_fen,
        .max_calls = t->max_calls > 0 && t->max_calls <= INT_MAX ? (int)t->max_calls : 0,
    };
    if (prepaid_set_account(b->prepaid, account, &terms) == 0)
        check_low(b, account);
}

static int64_t held(void *ctx, const char *account)
{
    struct billing *b = ctx;
    return prepaid_held(b->prepaid, account);
}

/* Writes the queued usage; what fails stays queued for the next try. */
static void post_usage(struct billing *b)
{
    pthread_mutex_lock(&b->mu);
    struct usage *u = b->queue;
    b->queue = NULL;
    b->queue_tail = &b->queue;
    pthread_mutex_unlock(&b->mu);
    struct usage *failed = NULL, **ftail = &failed;
    while (u) {
        struct usage *next = u->next;
        int64_t balance;
        if (ledger_usage(b->db, u->account, u->call_id, u->cost_fen, u->when_ms, &balance) == 0) {
            prepaid_posted(b->prepaid, u->account, u->cost_fen, balance);
            check_low(b, u->account);
            free(u);
        } else {
            u->next = NULL;
            *ftail = u;
            ftail = &u->next;
        }
        u = next;
    }
    if (failed) {
        log_warn("billing: usage not written yet, retrying");
        pthread_mutex_lock(&b->mu);
        *ftail = b->queue;
        if (!b->queue)
            b->queue_tail = ftail;
        b->queue = failed;
        pthread_mutex_unlock(&b->mu);
    }
}

void billing_run(struct billing *b)
{
    post_usage(b);
    int changed = ledger_rent_run(b->db, NULL, bclock_now_ms(), held, b);
    if (changed > 0)
        log_info("billing: %d numbers changed state (suspended, reinstated or released)",
                 changed);
    ledger_accounts(b->db, set_account, b);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    billing_run(arg);
}

static void on_post(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    post_usage(arg);
}

struct billing *billing_create(struct event_base *base, const char *data_dir, char *err,
                               size_t errlen)
{
    struct billing *b = calloc(1, sizeof *b);
    char path[PATH_MAX];
    if (!b || snprintf(path, sizeof path, "%s/vcs.db", data_dir) >= (int)sizeof path) {
        snprintf(err, errlen, "billing: out of memory or data path too long");
        free(b);
        return NULL;
    }
    thread_class_mutex_init(&b->mu);
    b->queue_tail = &b->queue;
    b->prepaid = prepaid_create();
    b->timer = event_new(base, -1, EV_PERSIST, on_timer, b);
    b->post_ev = event_new(base, -1, 0, on_post, b);
    if (!b->prepaid || !b->timer || !b->post_ev) {
        snprintf(err, errlen, "billing: out of memory");
        billing_destroy(b);
        return NULL;
    }
    if (!(b->db = db_open("billing", path, SQLITE_OPEN_READWRITE, BUSY_TIMEOUT_MS, err, errlen))) {
        billing_destroy(b);
        return NULL;
    }
    billing_run(b);
    struct timeval tv = { RUN_INTERVAL_S, 0 };
    event_add(b->timer, &tv);
    return b;
}

void billing_destroy(struct billing *b)
{
    if (!b)
        return;
    if (b->db)
        post_usage(b);
    for (struct usage *u = b->queue; u;) {
        struct usage *next = u->next;
        log_error("billing: usage of call %s (%lld fen) could not be written", u->call_id,
                  (long long)u->cost_fen);
        free(u);
        u = next;
    }
    if (b->timer)
        event_free(b->timer);
    if (b->post_ev)
        event_free(b->post_ev);
    sqlite3_close(b->db);
    prepaid_destroy(b->prepaid);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

enum iam_rc billing_recharge(struct billing *b, const char *account, int64_t amount_fen,
                             const char *note, json_t **out)
{
    enum iam_rc rc = ledger_recharge(b->db, account, amount_fen, note, bclock_now_ms(), out);
    if (rc == IAM_OK)
        billing_run(b); /* owed rent is settled at once */
    return rc;
}

enum iam_rc billing_balance(struct billing *b, const char *account, json_t **out)
{
    post_usage(b);
    ledger_accounts(b->db, set_account, b);
    int64_t balance, reserved;
    *out = NULL;
    if (!prepaid_get(b->prepaid, account, &balance, &reserved))
        return IAM_NOT_FOUND;
    *out = json_pack("{s:s,s:I,s:I}", "account", account, "balance_fen", (json_int_t)balance,
                     "reserved_fen", (json_int_t)reserved);
    return *out ? IAM_OK : IAM_FAIL;
}

enum iam_rc billing_statement(struct billing *b, const char *account, const char *month,
                              json_t **out)
{
    int64_t start, end;
    *out = NULL;
    if (cal_month_parse(month, &start, &end) != 0)
        return IAM_FAIL;
    post_usage(b);
    return ledger_statement(b->db, account, month, start, end, out);
}

enum iam_rc billing_release(struct billing *b, const char *account, const char *number,
                            char *msg, size_t msglen)
{
    enum iam_rc rc = ledger_release(b->db, account, number, bclock_now_ms(), msg, msglen);
    if (rc == IAM_OK)
        billing_run(b); /* a suspended number goes at once */
    return rc;
}

/* ---- any thread ------------------------------------------------------------------------- */

int billing_admit(struct billing *b, const char *account, struct prepaid_leg *leg)
{
    memset(leg, 0, sizeof *leg);
    if (!b || strcmp(account, LEDGER_OPERATOR) == 0)
        return 0; /* nothing billed: the leg has no reservation */
    return prepaid_admit(b->prepaid, account, leg);
}

int billing_max_calls(struct billing *b, const char *account)
{
    return b && account && account[0] ? prepaid_max_calls(b->prepaid, account) : 0;
}

int billing_minute(struct billing *b, struct prepaid_leg *leg)
{
    return b && prepaid_leg_account(leg) ? prepaid_minute(b->prepaid, leg) : 0;
}

void billing_leg_end(struct billing *b, struct prepaid_leg *leg, const char *call_id,
                     int64_t billsec, int64_t *bill_minutes, int64_t *cost_fen)
{
    *cost_fen = 0;
    *bill_minutes = billsec > 0 ? (billsec + 59) / 60 : 0;
    const char *account = b ? prepaid_leg_account(leg) : NULL;
    if (!account)
        return;
    *cost_fen = prepaid_leg_end(b->prepaid, leg, billsec, bill_minutes);
    if (*cost_fen == 0)
        return;
    struct usage *u = calloc(1, sizeof *u);
    if (!u) {
        log_error("billing: out of memory: call %s's %lld fen not in the ledger", call_id,
                  (long long)*cost_fen);
        return;
    }
    snprintf(u->account, sizeof u->account, "%s", account);
    snprintf(u->call_id, sizeof u->call_id, "%s", call_id);
    u->cost_fen = *cost_fen;
    u->when_ms = bclock_now_ms();
    pthread_mutex_lock(&b->mu);
    *b->queue_tail = u;
    b->queue_tail = &u->next;
    pthread_mutex_unlock(&b->mu);
    event_active(b->post_ev, 0, 0);
}
