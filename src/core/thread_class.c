/* Thread scheduling classes. See thread_class.h. */
#include "core/thread_class.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "core/log.h"

void thread_class_background(const char *what)
{
    struct sched_param none = { .sched_priority = 0 };
    int rc = pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
    if (rc != 0)
        log_warn("%s: cannot run as a background (SCHED_BATCH) thread: %s", what, strerror(rc));
}

void thread_class_realtime(const char *what, int priority)
{
    struct sched_param rt = { .sched_priority = priority };
    int rc = pthread_setschedparam(pthread_self(), SCHED_RR, &rt);
    if (rc != 0)
        log_warn("%s: cannot run real-time (SCHED_RR %d): %s; running as an ordinary thread",
                 what, priority, strerror(rc));
}

void thread_class_mutex_init(pthread_mutex_t *mu)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    /* Only fails where the system has no priority inheritance: then a plain mutex. */
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(mu, &a);
    pthread_mutexattr_destroy(&a);
}
