/* Which threads may take the CPU from which. vcsd's media workers must send every 20 ms on time
 * (and the SIP thread answer promptly); the threads with slack of their own (the recorder's and
 * the store's writers with buffered work, TTS, the prompt loader, webhooks, the resolvers) run
 * as SCHED_BATCH: the same share of the CPU under CFS, but their wake-ups never preempt a
 * running thread, so their bursts fill the gaps between ticks instead of cutting into one.
 * Optionally the workers go further and run real-time (as FreeSWITCH's packaged unit runs its
 * media threads): then no ordinary thread, a load generator or a build on the same box
 * included, can take a worker's CPU in the middle of a tick; the kernel's real-time throttling
 * (95 % of each second by default) still leaves the rest of the box some CPU if a worker ever
 * spins. */
#ifndef VCS_THREAD_CLASS_H
#define VCS_THREAD_CLASS_H

#include <pthread.h>

/* The calling thread (a media worker) runs SCHED_RR at priority (1-99), ahead of every
 * ordinary thread of the box, when the operator asked for it (engine.realtime_priority) and the
 * kernel allows it (CAP_SYS_NICE or RLIMIT_RTPRIO); otherwise it stays as it is and what
 * names it in the warning. */
void thread_class_realtime(const char *what, int priority);

/* The calling thread becomes a background one; what names it in the warning when the kernel
 * refuses (nothing else changes then). */
void thread_class_background(const char *what);

/* A lock a worker may wait for while a thread of a lower class holds it: with priority
 * inheritance, so that a real-time worker waiting lends the holder its priority instead of
 * waiting until every ready thread above the holder has run (on 2 cores: the other worker's
 * whole tick). Uncontended it costs what a plain mutex costs. */
void thread_class_mutex_init(pthread_mutex_t *mu);

#endif
