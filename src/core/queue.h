/* Multi-producer, single-consumer FIFO of intrusive nodes, used for every hand-off between
 * threads (SIP thread <-> workers, workers -> store, loader -> workers).
 * A producer learns whether the queue was empty so that it wakes the consumer only once per
 * batch; the consumer takes the whole batch under one lock. */
#ifndef VCS_QUEUE_H
#define VCS_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct qnode {
    struct qnode *next;
};

struct mpsc_queue {
    pthread_mutex_t mu;
    struct qnode *head, *tail;
    uint64_t oldest_us; /* clock_mono_us() when head was pushed; 0 when empty */
};

void queue_init(struct mpsc_queue *q);
void queue_destroy(struct mpsc_queue *q);
/* Appends n; returns true when the queue was empty before (the consumer needs a wake-up). */
bool queue_push(struct mpsc_queue *q, struct qnode *n);
/* Takes every queued node, oldest first, as a NULL-terminated list (NULL when empty). */
struct qnode *queue_take_all(struct mpsc_queue *q);
/* Any thread: how long the oldest node has been waiting at now_us, 0 when the queue is empty. */
uint64_t queue_wait_us(struct mpsc_queue *q, uint64_t now_us);

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
