/* Prepaid admission and reservations (see prepaid.h). */
#include "billing/prepaid.h"
#include "core/thread_class.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ACCOUNT_MAX 64

struct prepaid_account {
    char name[ACCOUNT_MAX];
    int64_t balance, reserved, unposted, rate, low;
    int max_calls;
    bool low_seen; /* the balance was last seen below low: balance.low is sent */
    struct prepaid_account *next;
};

struct prepaid {
    pthread_mutex_t mu;
    struct prepaid_account *accounts;
};

struct prepaid *prepaid_create(void)
{
    struct prepaid *p = calloc(1, sizeof *p);
    if (p)
        thread_class_mutex_init(&p->mu);
    return p;
}

void prepaid_destroy(struct prepaid *p)
{
    if (!p)
        return;
    while (p->accounts) {
        struct prepaid_account *a = p->accounts;
        p->accounts = a->next;
        free(a);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Under the mutex. Account records are never freed while p lives: legs point at them. */
static struct prepaid_account *find(struct prepaid *p, const char *name)
{
    for (struct prepaid_account *a = p->accounts; a; a = a->next) {
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}

int prepaid_set_account(struct prepaid *p, const char *account, const struct prepaid_terms *t)
{
    if (strlen(account) >= ACCOUNT_MAX)
        return -1;
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    if (!a && (a = calloc(1, sizeof *a))) {
        strcpy(a->name, account);
        a->next = p->accounts;
        p->accounts = a;
        a->low_seen = t->balance_fen < t->low_balance_fen;
    }
    if (a) {
        a->balance = t->balance_fen;
        a->rate = t->rate_fen;
        a->low = t->low_balance_fen;
        a->max_calls = t->max_calls;
    }
    pthread_mutex_unlock(&p->mu);
    return a ? 0 : -1;
}

void prepaid_posted(struct prepaid *p, const char *account, int64_t cost_fen,
                    int64_t balance_fen)
{
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    if (a) {
        a->unposted -= cost_fen;
        a->balance = balance_fen;
    }
    pthread_mutex_unlock(&p->mu);
}

int64_t prepaid_held(struct prepaid *p, const char *account)
{
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    int64_t held = a ? a->reserved + a->unposted : 0;
    pthread_mutex_unlock(&p->mu);
    return held;
}

bool prepaid_low_crossed(struct prepaid *p, const char *account, int64_t *balance_fen,
                         int64_t *low_balance_fen)
{
    bool crossed = false;
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    if (a) {
        bool low = a->balance - a->unposted < a->low;
        crossed = low && !a->low_seen;
        a->low_seen = low;
        *balance_fen = a->balance - a->unposted;
        *low_balance_fen = a->low;
    }
    pthread_mutex_unlock(&p->mu);
    return crossed;
}

int prepaid_max_calls(struct prepaid *p, const char *account)
{
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    int max = a ? a->max_calls : 0;
    pthread_mutex_unlock(&p->mu);
    return max;
}

bool prepaid_get(struct prepaid *p, const char *account, int64_t *balance_fen,
                 int64_t *reserved_fen)
{
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    if (a) {
        *balance_fen = a->balance - a->unposted;
        *reserved_fen = a->reserved;
    }
    pthread_mutex_unlock(&p->mu);
    return a != NULL;
}

/* Under the mutex: one more minute of the leg if the account can pay it. */
static int reserve(struct prepaid_account *a, struct prepaid_leg *leg)
{
    if (a->balance - a->unposted - a->reserved < leg->rate_fen)
        return -1;
    a->reserved += leg->rate_fen;
    leg->minutes++;
    return 0;
}

int prepaid_admit(struct prepaid *p, const char *account, struct prepaid_leg *leg)
{
    memset(leg, 0, sizeof *leg);
    pthread_mutex_lock(&p->mu);
    struct prepaid_account *a = find(p, account);
    int rc = -1;
    if (a) {
        leg->rate_fen = a->rate;
        rc = reserve(a, leg);
        if (rc == 0)
            leg->acct = a;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

const char *prepaid_leg_account(const struct prepaid_leg *leg)
{
    return leg->acct ? leg->acct->name : NULL; /* never changes once the record exists */
}

int prepaid_minute(struct prepaid *p, struct prepaid_leg *leg)
{
    if (!leg->acct)
        return -1;
    pthread_mutex_lock(&p->mu);
    int rc = reserve(leg->acct, leg);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int64_t prepaid_leg_end(struct prepaid *p, struct prepaid_leg *leg, int64_t billsec,
                        int64_t *bill_minutes)
{
    int64_t minutes = billsec > 0 ? (billsec + 59) / 60 : 0;
    if (!leg->acct) {
        *bill_minutes = minutes;
        return 0;
    }
    /* The hangup at the boundary of the last reserved minute keeps billsec inside it; a
     * rounding second past it is not charged beyond what was reserved. */
    if (minutes > leg->minutes)
        minutes = leg->minutes;
    int64_t cost = minutes * leg->rate_fen;
    pthread_mutex_lock(&p->mu);
    leg->acct->reserved -= leg->minutes * leg->rate_fen;
    leg->acct->unposted += cost;
    pthread_mutex_unlock(&p->mu);
    leg->acct = NULL;
    *bill_minutes = minutes;
    return cost;
}
