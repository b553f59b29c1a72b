#include "queue.h"

#include <stddef.h>

void queue_init(struct mpsc_queue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    q->head = q->tail = NULL;
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
    if (was_empty)
        q->head = n;
    else
        q->tail->next = n;
    q->tail = n;
    pthread_mutex_unlock(&q->mu);
    return was_empty;
}

struct qnode *queue_take_all(struct mpsc_queue *q)
{
    pthread_mutex_lock(&q->mu);
    struct qnode *list = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return list;
}
