#include "script/watchdog.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;  /* slots, stopping */
static pthread_mutex_t life = PTHREAD_MUTEX_INITIALIZER;  /* starting and joining the thread */
static pthread_cond_t wake;
static struct watchdog_slot *slots;
static pthread_t thread;
static bool stopping;

/* The slot of the run on this thread, for the signal handler. */
static _Thread_local struct watchdog_slot *current;

static uint64_t now_us(void)
{
    struct timespec ts; /* clock_gettime is async-signal-safe, unlike most helpers */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool overdue(const struct watchdog_slot *s, uint64_t now)
{
    uint64_t started = atomic_load(&s->started_us);
    return started && now - started >= s->limit_us;
}

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    struct watchdog_slot *s = current;
    if (s && overdue(s, now_us())) {
        s->expired = 1;
        lua_State *co = s->running;
        if (co) /* lua_sethook is safe in a signal handler (lua.c stops scripts this way) */
            lua_sethook(co, s->hook, LUA_MASKCOUNT, 1);
    }
    errno = saved;
}

static void *watch(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (!stopping) {
        uint64_t now = now_us();
        for (struct watchdog_slot *s = slots; s; s = s->next)
            if (overdue(s, now))
                pthread_kill(s->thread, SIGUSR2);
        struct timespec until = clock_mono_deadline(WATCHDOG_PERIOD_MS);
        pthread_cond_timedwait(&wake, &lock, &until);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void install_handler(void)
{
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &attr);
    pthread_condattr_destroy(&attr);
}

int watchdog_add(struct watchdog_slot *s, long limit_ms, lua_Hook hook)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_handler);
    atomic_init(&s->started_us, 0);
    s->limit_us = (uint64_t)limit_ms * 1000u;
    s->running = NULL;
    s->expired = 0;
    s->hook = hook;
    pthread_mutex_lock(&life);
    pthread_mutex_lock(&lock);
    int rc = 0;
    if (!slots) {
        stopping = false;
        rc = pthread_create(&thread, NULL, watch, NULL);
        if (rc != 0)
            log_error("cannot start the script watchdog: %s", strerror(rc));
    }
    if (rc == 0) {
        s->next = slots;
        slots = s;
    }
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&life);
    return rc == 0 ? 0 : -1;
}

void watchdog_remove(struct watchdog_slot *s)
{
    pthread_mutex_lock(&life);
    pthread_mutex_lock(&lock);
    bool found = false;
    for (struct watchdog_slot **p = &slots; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            found = true;
            break;
        }
    }
    bool last = found && !slots;
    if (last) {
        stopping = true;
        pthread_cond_signal(&wake);
    }
    pthread_mutex_unlock(&lock);
    if (last)
        pthread_join(thread, NULL);
    pthread_mutex_unlock(&life);
    if (current == s)
        current = NULL;
}

void watchdog_begin(struct watchdog_slot *s, lua_State *co)
{
    s->thread = pthread_self();
    s->running = co;
    s->expired = 0;
    current = s;
    atomic_store(&s->started_us, now_us());
}

void watchdog_end(struct watchdog_slot *s)
{
    atomic_store(&s->started_us, 0);
    s->running = NULL;
}
