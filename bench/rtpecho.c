/* rtpecho: the carrier's media in the bridging benchmarks. Every datagram that arrives on
 * IP:PORT goes straight back to where it came from (so vcsd's b-leg hears its own packets,
 * which carry the caller's audio across the bridge a second time).
 *
 * It replaces SIPp's -rtp_echo, whose one socket, with the default receive buffer (~200
 * packets: 8 ms at 500 calls), overflowed whenever the idle-priority generator was not
 * scheduled for a few milliseconds: at 500 bridged calls that socket dropped 195,000 packets
 * in 40 s while vcsd's 2,000 sockets dropped none, and rtpsink counted the missing echo as
 * the caller's audio lost. Here the receive buffer is 32 MB (SO_RCVBUFFORCE as root: over a
 * second of packets at 1000 calls) and packets move in batches of 256 per system call.
 * Kernel drops on the socket (SO_RXQ_OVFL) are counted and reported, so that a starved echo
 * still shows as the generator's fault, never vcsd's.
 *
 *   rtpecho -a IP -p PORT [-o summary.json]
 * Runs until SIGTERM/SIGINT, then writes {"echoed": N, "drops": N} to the summary (or stdout). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 256
#define DGRAM 2048
#define RCVBUF (32 * 1024 * 1024)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static uint8_t data[BATCH][DGRAM];
static struct sockaddr_storage src[BATCH];
static struct iovec iov[BATCH];
static struct mmsghdr msg[BATCH];
static char ctl[BATCH][CMSG_SPACE(sizeof(uint32_t))];

int main(int argc, char **argv)
{
    const char *ip = NULL, *out = NULL;
    int port = 0, opt;
    while ((opt = getopt(argc, argv, "a:p:o:")) != -1) {
        switch (opt) {
        case 'a': ip = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'o': out = optarg; break;
        default: goto usage;
        }
    }
    if (!ip || port <= 0 || port > 65535)
        goto usage;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 2;
    }
    int size = RCVBUF, one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a)) {
        fprintf(stderr, "rtpecho: cannot bind %s:%d: %s\n", ip, port, strerror(errno));
        return 2;
    }
    /* No SA_RESTART: the signal ends the blocking recvmmsg with EINTR. */
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    uint64_t echoed = 0;
    uint32_t drops = 0; /* the kernel's running count, carried by each datagram */
    while (!stop) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){ .iov_base = data[i], .iov_len = DGRAM };
            msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &src[i],
                                                    .msg_namelen = sizeof src[i],
                                                    .msg_iov = &iov[i], .msg_iovlen = 1,
                                                    .msg_control = ctl[i],
                                                    .msg_controllen = sizeof ctl[i] } };
        }
        /* Blocks for the first datagram, then takes whatever else is already queued. */
        int n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &msg[i].msg_hdr;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL)
                    memcpy(&drops, CMSG_DATA(c), sizeof drops);
            iov[i].iov_len = msg[i].msg_len;
            h->msg_control = NULL;
            h->msg_controllen = 0;
        }
        for (int done = 0; done < n;) {
            int m = sendmmsg(fd, msg + done, (unsigned)(n - done), 0);
            if (m <= 0) {
                if (m < 0 && errno == EINTR)
                    continue;
                break; /* an unreachable source: the rest of this batch is not echoed */
            }
            done += m;
            echoed += (uint64_t)m;
        }
    }
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        perror(out);
        return 1;
    }
    fprintf(f, "{\"echoed\": %llu, \"drops\": %u}\n", (unsigned long long)echoed, drops);
    if (f != stdout)
        fclose(f);
    return 0;

usage:
    fprintf(stderr, "usage: rtpecho -a IP -p PORT [-o summary.json]\n");
    return 2;
}
