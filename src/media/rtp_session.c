#include "rtp_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "media/port_pool.h"
#include "media/rtp_io.h"

#define RTP_HEADER 12
#define RTP_RCVBUF (256 * 1024)
#define DRAIN_BUDGET 4096 /* stale datagrams discarded when the first window opens */

static atomic_ullong total_dropped_source, total_dropped_ssrc;

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v)
        v = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)&v;
    return v;
}

static int parse_addr(const char *ip, uint16_t port, union rtp_addr *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

static uint16_t addr_port(const union rtp_addr *ss)
{
    if (ss->sa.sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void set_port(union rtp_addr *ss, uint16_t port)
{
    if (ss->sa.sa_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static bool same_addr(const union rtp_addr *a, const union rtp_addr *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return false;
    if (a->sa.sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static bool same_ip(const union rtp_addr *a, const union rtp_addr *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return false;
    if (a->sa.sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
           ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

static bool unspecified(const union rtp_addr *ss)
{
    if (ss->sa.sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/* Addresses a phone behind NAT puts in its SDP: private, shared (CGNAT), link-local, loopback. */
static bool non_public(const union rtp_addr *ss)
{
    uint32_t v4;
    if (ss->sa.sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (!IN6_IS_ADDR_V4MAPPED(a))
            return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_LINKLOCAL(a) || (a->s6_addr[0] & 0xfe) == 0xfc;
        memcpy(&v4, &a->s6_addr[12], sizeof v4);
    } else {
        v4 = ((const struct sockaddr_in *)ss)->sin_addr.s_addr;
    }
    uint32_t h = ntohl(v4);
    return (h >> 24) == 10 || (h >> 24) == 127 || (h >> 20) == 0xac1 || (h >> 16) == 0xc0a8 ||
           (h >> 16) == 0xa9fe || (h >> 22) == (0x64400000u >> 22);
}

static int bind_udp(const union rtp_addr *local, socklen_t len)
{
    int fd = socket(local->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (const struct sockaddr *)local, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int rtp_session_open(struct rtp_session *s, struct port_pool *pp, const char *local_ip,
                     char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->fd = s->rtcp_fd = -1;
    union rtp_addr local;
    socklen_t len;
    if (parse_addr(local_ip, 0, &local, &len) != 0) {
        snprintf(err, errlen, "invalid media address '%s'", local_ip);
        return -1;
    }
    /* Another program may hold some ports of the range: try a bounded number of them. */
    for (unsigned attempt = 0; attempt < 64; attempt++) {
        uint16_t port = port_pool_take(pp);
        if (!port) {
            snprintf(err, errlen, "RTP port range exhausted");
            return -1;
        }
        set_port(&local, port);
        int fd = bind_udp(&local, len);
        if (fd >= 0) {
            set_port(&local, (uint16_t)(port + 1));
            int rfd = bind_udp(&local, len);
            if (rfd >= 0) {
                int size = RTP_RCVBUF;
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
                s->fd = fd;
                s->rtcp_fd = rfd;
                s->port = port;
                s->ssrc = random_u32();
                s->seq = (uint16_t)random_u32();
                s->ts = random_u32();
                return 0;
            }
            close(fd);
        }
        port_pool_release(pp, port);
    }
    snprintf(err, errlen, "no bindable RTP port on %s: %s", local_ip, strerror(errno));
    return -1;
}

void rtp_session_close(struct rtp_session *s, struct port_pool *pp)
{
    rtp_io_before_close();
    if (s->fd >= 0)
        close(s->fd);
    if (s->rtcp_fd >= 0)
        close(s->rtcp_fd);
    if (s->port)
        port_pool_release(pp, s->port);
    s->fd = s->rtcp_fd = -1;
    s->port = 0;
}

static void send_to(struct rtp_session *s, const union rtp_addr *to, socklen_t len)
{
    s->remote = *to;
    s->remote_len = len;
    s->rtcp_remote = *to;
    set_port(&s->rtcp_remote, (uint16_t)(addr_port(to) + 1));
    s->have_remote = true;
}

int rtp_session_set_remote(struct rtp_session *s, const char *addr, uint16_t port)
{
    union rtp_addr ss;
    socklen_t len;
    if (parse_addr(addr, port, &ss, &len) != 0)
        return -1;
    if (!port || unspecified(&ss))
        return 0;
    if (s->have_sdp && same_addr(&s->sdp, &ss))
        return 0; /* the media did not move: the latch stands */
    s->sdp = ss;
    s->have_sdp = true;
    s->latched = false;
    s->have_candidate = false;
    send_to(s, &ss, len);
    return 0;
}

int rtp_session_set_signal(struct rtp_session *s, const char *addr)
{
    socklen_t len;
    if (parse_addr(addr, 0, &s->signal, &len) != 0)
        return -1;
    s->have_signal = true;
    return 0;
}

static void drop(uint64_t *count, atomic_ullong *total)
{
    (*count)++;
    atomic_fetch_add_explicit(total, 1, memory_order_relaxed);
}

void rtp_session_learn(struct rtp_session *s, uint64_t now_ms)
{
    if (!s->learned_once) {
        /* Nobody knew our port before our SDP went out: what is queued was sprayed at it. */
        uint8_t buf[64];
        for (int i = 0; i < DRAIN_BUDGET && recv(s->fd, buf, sizeof buf, MSG_DONTWAIT) >= 0; i++)
            drop(&s->stats.dropped_source, &total_dropped_source);
        s->learned_once = true;
    }
    s->learn_until_ms = now_ms + RTP_LEARN_WINDOW_MS;
    s->any_ssrc = true; /* a re-INVITE may come with a restarted stream */
}

void rtp_session_drop_totals(uint64_t *source, uint64_t *ssrc)
{
    *source = atomic_load_explicit(&total_dropped_source, memory_order_relaxed);
    *ssrc = atomic_load_explicit(&total_dropped_ssrc, memory_order_relaxed);
}

static int send_packet(struct rtp_session *s, uint8_t pt, const uint8_t *payload, size_t len,
                       uint32_t ts, bool marker)
{
    uint8_t pkt[RTP_HEADER + 512];
    if (len > sizeof pkt - RTP_HEADER)
        return -1;
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    pkt[2] = (uint8_t)(s->seq >> 8);
    pkt[3] = (uint8_t)s->seq;
    pkt[4] = (uint8_t)(ts >> 24);
    pkt[5] = (uint8_t)(ts >> 16);
    pkt[6] = (uint8_t)(ts >> 8);
    pkt[7] = (uint8_t)ts;
    pkt[8] = (uint8_t)(s->ssrc >> 24);
    pkt[9] = (uint8_t)(s->ssrc >> 16);
    pkt[10] = (uint8_t)(s->ssrc >> 8);
    pkt[11] = (uint8_t)s->ssrc;
    memcpy(pkt + RTP_HEADER, payload, len);
    s->seq++;
    if (!s->have_remote)
        return 0;
    if (rtp_io_sendto(s->fd, pkt, RTP_HEADER + len, (const struct sockaddr *)&s->remote,
                      s->remote_len) < 0)
        return -1;
    s->stats.sent_packets++;
    s->stats.sent_octets += len;
    return 0;
}

int rtp_session_send(struct rtp_session *s, uint8_t pt, const uint8_t *payload, size_t len,
                     uint32_t samples, bool marker)
{
    int rc = send_packet(s, pt, payload, len, s->ts, marker);
    s->ts += samples;
    return rc;
}

int rtp_session_send_at(struct rtp_session *s, uint8_t pt, const uint8_t *payload, size_t len,
                        uint32_t ts, bool marker)
{
    return send_packet(s, pt, payload, len, ts, marker);
}

void rtp_session_skip(struct rtp_session *s, uint32_t samples)
{
    s->ts += samples;
}

static void latch(struct rtp_session *s, const union rtp_addr *src, socklen_t len,
                  uint32_t ssrc, uint64_t now_ms)
{
    send_to(s, src, len);
    s->latched = true;
    s->have_candidate = false;
    s->peer_ssrc = ssrc;
    s->peer_last_ms = now_ms;
    s->any_ssrc = false;
    if (s->have_sdp && same_addr(&s->sdp, src))
        s->learn_until_ms = 0; /* nothing can beat the SDP address: learning is over */
}

/* May a source other than the SDP address be the peer? */
static bool may_learn(const struct rtp_session *s, const union rtp_addr *src)
{
    if (!s->have_sdp)
        return false;
    if (same_ip(&s->sdp, src))
        return true; /* the SDP's host, sending from another port */
    return s->have_signal && !same_ip(&s->sdp, &s->signal) && non_public(&s->sdp);
}

/* Strict RTP (see the header): is this packet the peer's? */
static bool admit(struct rtp_session *s, const union rtp_addr *src, socklen_t len,
                  uint32_t ssrc, uint64_t now_ms)
{
    bool window = now_ms < s->learn_until_ms;
    if (s->latched) {
        if (!same_addr(&s->remote, src)) {
            if (window && s->have_sdp && same_addr(&s->sdp, src)) {
                latch(s, src, len, ssrc, now_ms); /* the SDP address beats a learned source */
                return true;
            }
            drop(&s->stats.dropped_source, &total_dropped_source);
            return false;
        }
        if (ssrc != s->peer_ssrc && !s->any_ssrc && now_ms - s->peer_last_ms < RTP_SSRC_RESTART_MS) {
            drop(&s->stats.dropped_ssrc, &total_dropped_ssrc);
            return false;
        }
        s->peer_ssrc = ssrc;
        s->peer_last_ms = now_ms;
        s->any_ssrc = false;
        return true;
    }
    if (s->learned_once && s->have_sdp && same_addr(&s->sdp, src)) {
        latch(s, src, len, ssrc, now_ms);
        return true;
    }
    if (s->have_candidate && same_addr(&s->candidate, src)) {
        if (now_ms - s->candidate_ms >= RTP_LEARN_CONFIRM_MS) {
            latch(s, src, len, ssrc, now_ms);
            return true;
        }
    } else if (window && may_learn(s, src)) {
        s->candidate = *src; /* the newest source restarts the probation */
        s->have_candidate = true;
        s->candidate_ms = now_ms;
    } else {
        s->have_candidate = false; /* contested: learn nobody */
    }
    drop(&s->stats.dropped_source, &total_dropped_source);
    return false;
}

void rtp_batch_reset(struct rtp_batch *b)
{
    b->n = b->next = b->read = 0;
    b->drained = false;
}

/* Reads the next datagrams into b: false when none is waiting or the budget is spent. */
static bool batch_fill(struct rtp_session *s, struct rtp_batch *b)
{
    if (b->drained || b->read >= RTP_RECV_BUDGET)
        return false;
    for (unsigned i = 0; i < RTP_BATCH; i++) {
        b->iov[i] = (struct iovec){ .iov_base = b->data[i], .iov_len = sizeof b->data[i] };
        b->msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &b->src[i],
                                                   .msg_namelen = sizeof b->src[i],
                                                   .msg_iov = &b->iov[i], .msg_iovlen = 1 } };
    }
    int n = recvmmsg(s->fd, b->msg, RTP_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) { /* EAGAIN, or an ICMP error from an earlier send: nothing to read */
        b->drained = true;
        return false;
    }
    b->n = (unsigned)n;
    b->next = 0;
    b->read += (unsigned)n;
    b->drained = n < RTP_BATCH;
    return true;
}

/* Parses a datagram into *pkt: false (counted) when it is not valid RTP media. */
static bool parse(struct rtp_session *s, const uint8_t *buf, size_t len, struct rtp_packet *pkt)
{
    size_t hdr = RTP_HEADER + 4u * (buf[0] & 0x0f);
    if (len < RTP_HEADER || (buf[0] >> 6) != 2 || len < hdr) {
        s->stats.recv_invalid++;
        return false;
    }
    if (buf[0] & 0x10) { /* header extension: 4 bytes + length words */
        if (len < hdr + 4) {
            s->stats.recv_invalid++;
            return false;
        }
        hdr += 4 + 4u * (size_t)((buf[hdr + 2] << 8) | buf[hdr + 3]);
        if (len < hdr) {
            s->stats.recv_invalid++;
            return false;
        }
    }
    size_t end = len;
    if (buf[0] & 0x20) { /* padding: the last byte counts it */
        size_t pad = buf[len - 1];
        if (pad == 0 || pad > len - hdr) {
            s->stats.recv_invalid++;
            return false;
        }
        end -= pad;
    }
    pkt->marker = (buf[1] & 0x80) != 0;
    pkt->pt = buf[1] & 0x7f;
    pkt->seq = (uint16_t)((buf[2] << 8) | buf[3]);
    pkt->ts = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | ((uint32_t)buf[6] << 8) | buf[7];
    pkt->ssrc = ((uint32_t)buf[8] << 24) | ((uint32_t)buf[9] << 16) | ((uint32_t)buf[10] << 8) | buf[11];
    pkt->payload = buf + hdr;
    pkt->len = end - hdr;
    if (pkt->pt >= 72 && pkt->pt <= 76) { /* RTCP on the RTP port (rtcp-mux): not media */
        s->stats.recv_invalid++;
        return false;
    }
    return true;
}

int rtp_session_recv(struct rtp_session *s, struct rtp_batch *b, struct rtp_packet *pkt,
                     uint64_t now_ms)
{
    for (;;) {
        if (b->next == b->n && !batch_fill(s, b))
            return 0;
        unsigned i = b->next++;
        const struct msghdr *h = &b->msg[i].msg_hdr;
        if (!parse(s, b->data[i], b->msg[i].msg_len, pkt) ||
            !admit(s, &b->src[i], h->msg_namelen, pkt->ssrc, now_ms))
            continue;
        s->stats.recv_packets++;
        s->stats.recv_octets += pkt->len;
        return 1;
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool rtp_session_rtcp(struct rtp_session *s, uint64_t now_us, uint64_t interval_us)
{
    if (now_us - s->last_rtcp_us < interval_us)
        return false;
    s->last_rtcp_us = now_us;
    uint8_t buf[1500];
    bool heard = false;
    while (recv(s->rtcp_fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        heard = true; /* reports from the peer are not used yet; keep the socket drained */
    if (!s->have_remote)
        return heard;
    /* Sender report (RFC 3550 6.4.1) without report blocks. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint32_t ntp_sec = (uint32_t)ts.tv_sec + 2208988800u;
    uint32_t ntp_frac = (uint32_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000u);
    uint8_t sr[28];
    sr[0] = 0x80;
    sr[1] = 200;
    sr[2] = 0;
    sr[3] = 6; /* length in 32-bit words minus one */
    put32(sr + 4, s->ssrc);
    put32(sr + 8, ntp_sec);
    put32(sr + 12, ntp_frac);
    put32(sr + 16, s->ts);
    put32(sr + 20, (uint32_t)s->stats.sent_packets);
    put32(sr + 24, (uint32_t)s->stats.sent_octets);
    ssize_t n = sendto(s->rtcp_fd, sr, sizeof sr, 0, (const struct sockaddr *)&s->rtcp_remote,
                       s->remote_len);
    (void)n;
    return heard;
}
