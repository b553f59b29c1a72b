#include "queue.h"

#include <stddef.h>

#include "clock.h"
#include "thread_class.h"

void queue_init(struct mpsc_queue *q)
{
    thread_class_mutex_init(&q->mu); /* workers push and take on every side */
    q->head = q->tail = NULL;
    q->oldest_us = 0;
}

void queue_destroy(struct mpsc_queue *q)
{
    pthread_mutex_destroy(&q->mu);
}

bool queue_push(struct mpsc_queue *q, struct qnode *n)
{
    n->next = NULL;
    pthread_mutex_lock(&q->mu);
    bool was_empty = q->head == NULL;
    if (was_empty) {
        q->head = n;
        q->oldest_us = clock_mono_us();
    } else {
        q->tail->next = n;
    }
    q->tail = n;
    pthread_mutex_unlock(&q->mu);
    return was_empty;
}

struct qnode *queue_take_all(struct mpsc_queue *q)
{
    pthread_mutex_lock(&q->mu);
    struct qnode *list = q->head;
    q->head = q->tail = NULL;
    q->oldest_us = 0;
    pthread_mutex_unlock(&q->mu);
    return list;
}

uint64_t queue_wait_us(struct mpsc_queue *q, uint64_t now_us)
{
    pthread_mutex_lock(&q->mu);
    uint64_t since = q->oldest_us;
    pthread_mutex_unlock(&q->mu);
    return since && now_us > since ? now_us - since : 0;
}
