/* The compliance check off the media workers (see compliance_gate.h). */
#include "campaign/compliance_gate.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/thread_class.h"
#include "store/db_open.h"

#define BUSY_TIMEOUT_MS 5000

struct question {
    struct question *next;
    char account[64], number[64];
    compliance_answer_fn done;
    void *arg;
};

struct compliance_gate {
    sqlite3 *db;
    int day_cap, week_cap;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct question *head, *tail; /* under mu */
    bool stop;                    /* under mu */
};

static void answer(struct compliance_gate *g, struct question *q)
{
    q->done(compliance_check(g->db, q->account, q->number, g->day_cap, g->week_cap,
                             clock_wall_ms()),
            q->arg);
    free(q);
}

static void *gate_main(void *arg)
{
    struct compliance_gate *g = arg;
    thread_class_background("compliance gate");
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->head && !g->stop)
            pthread_cond_wait(&g->cond, &g->mu);
        struct question *batch = g->head;
        g->head = g->tail = NULL;
        bool stop = g->stop;
        pthread_mutex_unlock(&g->mu);
        while (batch) {
            struct question *q = batch;
            batch = q->next;
            answer(g, q);
        }
        pthread_mutex_lock(&g->mu);
        if (stop && !g->head)
            break;
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

struct compliance_gate *compliance_gate_create(const char *db_path, int day_cap, int week_cap,
                                               char *err, size_t errlen)
{
    struct compliance_gate *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "compliance: out of memory");
        return NULL;
    }
    g->day_cap = day_cap;
    g->week_cap = week_cap;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->db = db_open("compliance", db_path, SQLITE_OPEN_READONLY, BUSY_TIMEOUT_MS, err, errlen);
    if (!g->db) {
        compliance_gate_destroy(g);
        return NULL;
    }
    int rc = pthread_create(&g->thread, NULL, gate_main, g);
    if (rc != 0) {
        snprintf(err, errlen, "compliance: cannot start its thread: %s", strerror(rc));
        compliance_gate_destroy(g);
        return NULL;
    }
    g->thread_started = true;
    return g;
}

int compliance_gate_ask(struct compliance_gate *g, const char *account, const char *number,
                        compliance_answer_fn done, void *arg)
{
    struct question *q = calloc(1, sizeof *q);
    if (!q || strlen(account) >= sizeof q->account || strlen(number) >= sizeof q->number) {
        free(q);
        return -1;
    }
    memcpy(q->account, account, strlen(account) + 1);
    memcpy(q->number, number, strlen(number) + 1);
    q->done = done;
    q->arg = arg;
    pthread_mutex_lock(&g->mu);
    if (g->tail)
        g->tail->next = q;
    else
        g->head = q;
    g->tail = q;
    pthread_cond_signal(&g->cond);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

void compliance_gate_destroy(struct compliance_gate *g)
{
    if (!g)
        return;
    if (g->thread_started) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_signal(&g->cond);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    sqlite3_close(g->db);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
