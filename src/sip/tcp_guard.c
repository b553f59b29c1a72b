/* With _GNU_SOURCE, glibc declares accept() with a transparent union for its address argument;
 * the plain POSIX prototype is the one to define. */
#undef _GNU_SOURCE
#define _DEFAULT_SOURCE
#include "sip/tcp_guard.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TRACKED_FDS 65536
#define LISTENERS 4 /* SIP may listen on several addresses of one port */

static atomic_int guard_port;
static atomic_int guard_max;
static atomic_int listeners[LISTENERS] = { -1, -1, -1, -1 };
static atomic_int connections;
static atomic_uint_fast64_t refused;
static atomic_uchar tracked[TRACKED_FDS];

void tcp_guard_init(uint16_t sip_port, int max_connections)
{
    atomic_store(&guard_port, sip_port);
    atomic_store(&guard_max, max_connections);
}

int tcp_guard_connections(void)
{
    return atomic_load(&connections);
}

uint64_t tcp_guard_refused(void)
{
    return atomic_load(&refused);
}

static bool is_sip_listener(int fd)
{
    for (int i = 0; i < LISTENERS; i++)
        if (atomic_load(&listeners[i]) == fd)
            return true;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
             : ss.ss_family == AF_INET  ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : -1;
    if (port != atomic_load(&guard_port))
        return false;
    for (int i = 0; i < LISTENERS; i++) {
        int expected = -1;
        if (atomic_compare_exchange_strong(&listeners[i], &expected, fd))
            break;
    }
    return true;
}

int accept(int fd, struct sockaddr *restrict addr, socklen_t *restrict len)
{
    int s = (int)syscall(SYS_accept4, fd, addr, len, 0);
    if (s < 0 || atomic_load(&guard_max) <= 0 || !is_sip_listener(fd))
        return s;
    if (s >= TRACKED_FDS || atomic_fetch_add(&connections, 1) >= atomic_load(&guard_max)) {
        if (s < TRACKED_FDS)
            atomic_fetch_sub(&connections, 1);
        syscall(SYS_close, s); /* the peer sees the connection closed at once */
        atomic_fetch_add(&refused, 1);
        errno = EAGAIN;
        return -1;
    }
    atomic_store(&tracked[s], 1);
    return s;
}

int close(int fd)
{
    if (fd >= 0 && fd < TRACKED_FDS && atomic_exchange(&tracked[fd], 0))
        atomic_fetch_sub(&connections, 1);
    return (int)syscall(SYS_close, fd);
}
