/* thread_class_mutex_init: a lock with priority inheritance. While a real-time thread waits for
 * it, the ordinary thread holding it runs at the waiter's priority (the kernel's effective
 * priority of the holder, /proc's "priority" field, goes from 20 to -11 for SCHED_RR 10), and
 * drops back when it lets go. Skipped where real-time threads are not allowed. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/thread_class.h"

#define RT_PRIORITY 10
#define BOOSTED (-1 - RT_PRIORITY) /* how /proc shows SCHED_RR 10 */
#define WAIT_MS 10000

static pthread_mutex_t mu;

/* The calling thread's effective priority as the kernel shows it (field 18 of its stat). */
static long my_priority(void)
{
    char buf[1024];
    FILE *f = fopen("/proc/thread-self/stat", "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    assert_non_null(p);
    long value = 0; /* fields 3 (state) to 17 skipped */
    assert_int_equal(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %ld",
                            &value), 1);
    return value;
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Polls (1 ms apart, WAIT_MS at most) until the holder's priority is want. */
static long wait_priority(long want)
{
    long now = my_priority();
    for (int i = 0; i < WAIT_MS && now != want; i++) {
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
        now = my_priority();
    }
    return now;
}

static void test_holder_runs_at_the_waiters_priority(void **state)
{
    (void)state;
    thread_class_mutex_init(&mu);
    long base = my_priority();
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&a, SCHED_RR);
    pthread_attr_setschedparam(&a, &(struct sched_param){ .sched_priority = RT_PRIORITY });
    pthread_mutex_lock(&mu);
    pthread_t t;
    int rc = pthread_create(&t, &a, waiter, NULL);
    pthread_attr_destroy(&a);
    if (rc == EPERM) {
        pthread_mutex_unlock(&mu);
        pthread_mutex_destroy(&mu);
        skip(); /* no CAP_SYS_NICE nor RLIMIT_RTPRIO here */
    }
    assert_int_equal(rc, 0);
    assert_int_equal(wait_priority(BOOSTED), BOOSTED); /* lent while the waiter waits */
    pthread_mutex_unlock(&mu);
    assert_int_equal(my_priority(), base); /* given back with the lock */
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_mutex_destroy(&mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holder_runs_at_the_waiters_priority),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
