/* rtpsink: the far end of every benchmark call's media, for thousands of calls at once.
 *
 * Every call's SDP offer names the same loopback port, so all of vcsd's streams arrive on one
 * UDP socket. Streams are told apart by their source port (vcsd's per-call RTP port) and SSRC;
 * a new SSRC on a port starts a new stream (the port was reused by a later call).
 * Per stream it measures: packets received, packets expected from the sequence numbers (loss),
 * packets expected from the stream's wall-clock duration at 50 packets/s (what a sender that
 * skipped ahead did not send), out-of-order/duplicate packets, silent payloads, and lateness:
 * arrival time (kernel timestamp, SO_TIMESTAMPNS, so that this program's own scheduling does
 * not count) minus the time the RTP timestamp says, relative to the smallest such offset over
 * the stream's last second (a sliding minimum, so that a permanent phase shift is counted as
 * late for at most one second and clock drift is allowed for).
 * With -s it also plays the caller: every active stream gets one 172-byte PCMU packet every
 * 20 ms sent back to its source port from the same socket (symmetric RTP).
 * Output: one line per second on stdout ("T ..." timeline, with CLOCK_MONOTONIC seconds so that
 * it can be lined up with other samples) and a JSON summary (-o) written on
 * SIGTERM/SIGINT or after -t seconds. Kernel drops on our own socket (SO_RXQ_OVFL) are reported
 * separately so that they are never blamed on the sender. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 128
#define WINDOW 50             /* sliding-minimum window: one second of 20 ms packets */
#define RING 64               /* > WINDOW, a power of two */
#define LATE_NS 5000000LL     /* "late": more than 5 ms behind the stream's timeline */
#define NS_PER_SAMPLE 125000LL /* 8 kHz */
#define FRAME_NS 20000000LL

struct stream {
    bool active;
    uint32_t ssrc;
    int64_t first_ns, last_ns;
    uint16_t base_seq, max_seq;
    uint32_t cycles;
    uint32_t last_ts;
    int64_t ts_rel;           /* RTP timestamp relative to the first packet, unwrapped */
    uint64_t received, ooo, silent, late5, late20, late50;
    int64_t max_late_ns;
    uint64_t idx;             /* packets seen, for the window */
    int64_t first_off, early_min; /* first packet's offset; smallest of the next WINDOW */
    bool dump;                /* -d: every packet of this stream goes to the dump file */
    uint64_t ring_idx[RING];
    int64_t ring_off[RING];
    unsigned head, tail;      /* deque of increasing offsets: [head, tail) mod RING */
    /* sender side (-s) */
    uint16_t tx_seq;
    uint32_t tx_ts, tx_ssrc;
    uint8_t pt;
};

struct totals {
    uint64_t streams, received, exp_seq, lost_seq, exp_time, short_time, ooo, silent;
    uint64_t late5, late20, late50, invalid, rtcp, sent, send_errors, first_early;
    int64_t max_late_ns;
    uint64_t streams_with_late, streams_with_loss;
    double sum_duration_s;
};

static volatile sig_atomic_t stop_flag;
static struct stream *streams[65536];
static uint16_t active_ports[65536];
static unsigned n_active;
static struct totals tot;
static FILE *per_stream_csv;
static FILE *dump_file;
static unsigned dump_every;
static uint64_t streams_started;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int64_t now_ns(clockid_t clk)
{
    struct timespec t;
    clock_gettime(clk, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int open_udp(uint16_t port, int bufsize)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("socket");
        exit(2);
    }
    /* FORCE needs CAP_NET_ADMIN; otherwise take what rmem_max allows. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof bufsize) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "rtpsink: bind 127.0.0.1:%u: %s\n", port, strerror(errno));
        exit(2);
    }
    return fd;
}

static bool payload_silent(const uint8_t *p, size_t n, uint8_t pt)
{
    /* Digital silence of G.711: 0xFF/0x7F (mu-law), 0xD5/0x55 (A-law). */
    uint8_t zero = pt == 8 ? 0x55 : 0x7F; /* compared without the sign bit */
    for (size_t i = 0; i < n; i++)
        if ((p[i] & 0x7F) != zero)
            return false;
    return true;
}

static void finish_stream(uint16_t port)
{
    struct stream *s = streams[port];
    if (!s || !s->active)
        return;
    s->active = false;
    uint64_t exp_seq = (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
    uint64_t lost = exp_seq > s->received ? exp_seq - s->received : 0;
    uint64_t exp_time = (uint64_t)llround((double)(s->last_ns - s->first_ns) / FRAME_NS) + 1;
    uint64_t shortfall = exp_time > exp_seq ? exp_time - exp_seq : 0;
    tot.streams++;
    if (s->idx > 1 && s->early_min - s->first_off > LATE_NS)
        tot.first_early++;
    tot.received += s->received;
    tot.exp_seq += exp_seq;
    tot.lost_seq += lost;
    tot.exp_time += exp_time;
    tot.short_time += shortfall;
    tot.ooo += s->ooo;
    tot.silent += s->silent;
    tot.late5 += s->late5;
    tot.late20 += s->late20;
    tot.late50 += s->late50;
    if (s->max_late_ns > tot.max_late_ns)
        tot.max_late_ns = s->max_late_ns;
    if (s->late5)
        tot.streams_with_late++;
    if (lost)
        tot.streams_with_loss++;
    tot.sum_duration_s += (double)(s->last_ns - s->first_ns) / 1e9;
    if (per_stream_csv)
        fprintf(per_stream_csv, "%u,%08x,%.3f,%llu,%llu,%llu,%llu,%llu,%llu,%.3f\n", port, s->ssrc,
                (double)(s->last_ns - s->first_ns) / 1e9, (unsigned long long)s->received,
                (unsigned long long)exp_seq, (unsigned long long)exp_time,
                (unsigned long long)s->ooo, (unsigned long long)s->silent,
                (unsigned long long)s->late5, (double)s->max_late_ns / 1e6);
}

static void remove_active(unsigned i)
{
    active_ports[i] = active_ports[--n_active];
}

static void start_stream(struct stream *s, uint16_t port, uint32_t ssrc, uint16_t seq, uint32_t ts,
                         int64_t t, uint8_t pt)
{
    uint16_t tx_seq = s->tx_seq;
    uint32_t tx_ts = s->tx_ts;
    memset(s, 0, sizeof *s);
    s->active = true;
    s->ssrc = ssrc;
    s->first_ns = s->last_ns = t;
    s->base_seq = s->max_seq = seq;
    s->last_ts = ts;
    s->pt = pt;
    s->tx_seq = (uint16_t)(tx_seq + 1000);
    s->tx_ts = tx_ts + 123456u;
    s->tx_ssrc = 0x5EED0000u ^ ((uint32_t)port << 8) ^ ssrc;
    s->dump = dump_file && streams_started % dump_every == 0;
    streams_started++;
    active_ports[n_active++] = port;
}

static void on_packet(uint16_t port, const uint8_t *b, size_t n, int64_t t)
{
    if (n < 12 || (b[0] >> 6) != 2) {
        tot.invalid++;
        return;
    }
    size_t hl = 12 + 4u * (b[0] & 0x0F);
    if (b[0] & 0x10) {
        if (n < hl + 4) {
            tot.invalid++;
            return;
        }
        hl += 4 + 4u * (((size_t)b[hl + 2] << 8) | b[hl + 3]);
    }
    if (n < hl) {
        tot.invalid++;
        return;
    }
    uint8_t pt = b[1] & 0x7F;
    uint16_t seq = (uint16_t)((b[2] << 8) | b[3]);
    uint32_t ts = ((uint32_t)b[4] << 24) | ((uint32_t)b[5] << 16) | ((uint32_t)b[6] << 8) | b[7];
    uint32_t ssrc = ((uint32_t)b[8] << 24) | ((uint32_t)b[9] << 16) | ((uint32_t)b[10] << 8) | b[11];
    struct stream *s = streams[port];
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            perror("calloc");
            exit(2);
        }
        streams[port] = s;
    }
    if (!s->active || s->ssrc != ssrc) {
        if (s->active) {
            finish_stream(port);
            for (unsigned i = 0; i < n_active; i++)
                if (active_ports[i] == port) {
                    remove_active(i);
                    break;
                }
        }
        start_stream(s, port, ssrc, seq, ts, t, pt);
    } else {
        uint16_t d = (uint16_t)(seq - s->max_seq);
        if (d == 0 || d >= 3000) {
            s->ooo++; /* duplicate or late reordering */
        } else {
            if (seq < s->max_seq)
                s->cycles += 65536;
            s->max_seq = seq;
        }
        s->ts_rel += (int32_t)(ts - s->last_ts);
        s->last_ts = ts;
        if (t > s->last_ns)
            s->last_ns = t;
    }
    s->received++;
    if (pt == 0 || pt == 8) {
        if (payload_silent(b + hl, n - hl, pt))
            s->silent++;
    }
    /* Lateness against the sliding minimum of (arrival - RTP time) over the last WINDOW packets.
     * The first packet is kept out of the reference: with vcsd's shared 20 ms tick, some streams
     * send their first packet up to a tick ahead of the timeline the rest of the stream keeps.
     * That one step is counted on its own (first_early) rather than as a second of "late"
     * packets; lateness then measures the jitter of the stream once it runs. */
    int64_t off = t - s->ts_rel * NS_PER_SAMPLE;
    uint64_t i = s->idx++;
    if (i == 0) {
        s->first_off = off;
        if (s->dump)
            fprintf(dump_file, "%u,%08x,0,%u,%lld,,\n", port, ssrc, seq, (long long)t);
        return;
    }
    if (i <= WINDOW && (i == 1 || off < s->early_min))
        s->early_min = off;
    while (s->tail != s->head && s->ring_off[(s->tail - 1) & (RING - 1)] >= off)
        s->tail--;
    s->ring_idx[s->tail & (RING - 1)] = i;
    s->ring_off[s->tail & (RING - 1)] = off;
    s->tail++;
    while (s->ring_idx[s->head & (RING - 1)] + WINDOW <= i)
        s->head++;
    int64_t late = off - s->ring_off[s->head & (RING - 1)];
    if (late > LATE_NS)
        s->late5++;
    if (late > 4 * LATE_NS)
        s->late20++;
    if (late > 10 * LATE_NS)
        s->late50++;
    if (late > s->max_late_ns)
        s->max_late_ns = late;
    if (s->dump)
        fprintf(dump_file, "%u,%08x,%llu,%u,%lld,%lld,%lld\n", port, ssrc, (unsigned long long)i,
                seq, (long long)t, (long long)off, (long long)late);
}

static uint64_t drops_total;

static size_t drain(int fd, uint64_t *rx_count, bool rtcp)
{
    static uint8_t bufs[BATCH][1600];
    static struct iovec iov[BATCH];
    static struct sockaddr_in from[BATCH];
    static char ctrl[BATCH][128];
    static struct mmsghdr msgs[BATCH];
    size_t total = 0;
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i];
            msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                               .msg_iov = &iov[i], .msg_iovlen = 1,
                                               .msg_control = ctrl[i],
                                               .msg_controllen = sizeof ctrl[i] };
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        int64_t fallback = now_ns(CLOCK_REALTIME);
        for (int i = 0; i < n; i++) {
            int64_t t = fallback;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
                 c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    t = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t d;
                    memcpy(&d, CMSG_DATA(c), sizeof d);
                    if (!rtcp)
                        drops_total = d;
                }
            }
            if (rtcp)
                tot.rtcp++;
            else
                on_packet(ntohs(from[i].sin_port), bufs[i], msgs[i].msg_len, t);
        }
        total += (size_t)n;
        *rx_count += (uint64_t)n;
        if (n < BATCH)
            break;
    }
    return total;
}

/* One 20 ms frame of a 1 kHz tone in mu-law: the caller's "voice". */
static uint8_t tone_frame[160];

static uint8_t ulaw_encode(int16_t pcm)
{
    int sign = pcm < 0 ? 0x80 : 0;
    int v = pcm < 0 ? -(int)pcm : pcm;
    if (v > 32635)
        v = 32635;
    v += 0x84;
    int exp = 7;
    for (int mask = 0x4000; (v & mask) == 0 && exp > 0; mask >>= 1)
        exp--;
    int mant = (v >> (exp + 3)) & 0x0F;
    return (uint8_t)~(sign | (exp << 4) | mant);
}

static void send_frames(int fd, int64_t mono_now, int64_t idle_ns, int64_t rt_now)
{
    static uint8_t pkts[BATCH][172];
    static struct iovec iov[BATCH];
    static struct sockaddr_in to[BATCH];
    static struct mmsghdr msgs[BATCH];
    (void)mono_now;
    unsigned k = 0;
    for (unsigned i = 0; i < n_active; i++) {
        struct stream *s = streams[active_ports[i]];
        if (rt_now - s->last_ns > idle_ns)
            continue;
        uint8_t *p = pkts[k];
        p[0] = 0x80;
        p[1] = 0; /* PCMU */
        p[2] = (uint8_t)(s->tx_seq >> 8);
        p[3] = (uint8_t)s->tx_seq;
        p[4] = (uint8_t)(s->tx_ts >> 24);
        p[5] = (uint8_t)(s->tx_ts >> 16);
        p[6] = (uint8_t)(s->tx_ts >> 8);
        p[7] = (uint8_t)s->tx_ts;
        p[8] = (uint8_t)(s->tx_ssrc >> 24);
        p[9] = (uint8_t)(s->tx_ssrc >> 16);
        p[10] = (uint8_t)(s->tx_ssrc >> 8);
        p[11] = (uint8_t)s->tx_ssrc;
        memcpy(p + 12, tone_frame, sizeof tone_frame);
        s->tx_seq++;
        s->tx_ts += 160;
        to[k] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(active_ports[i]) };
        to[k].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        iov[k] = (struct iovec){ .iov_base = p, .iov_len = 172 };
        msgs[k].msg_hdr = (struct msghdr){ .msg_name = &to[k], .msg_namelen = sizeof to[k],
                                           .msg_iov = &iov[k], .msg_iovlen = 1 };
        if (++k == BATCH || i + 1 == n_active) {
            unsigned off = 0;
            while (off < k) {
                int r = sendmmsg(fd, msgs + off, k - off, 0);
                if (r <= 0) {
                    /* EAGAIN (buffer full) or ECONNREFUSED from an ICMP of an ended call. */
                    tot.send_errors += k - off;
                    break;
                }
                off += (unsigned)r;
                tot.sent += (uint64_t)r;
            }
            k = 0;
        }
    }
    if (k) {
        int r = sendmmsg(fd, msgs, k, 0);
        if (r > 0)
            tot.sent += (uint64_t)r;
        else
            tot.send_errors += k;
    }
}

static void write_summary(const char *path, double elapsed_s)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        perror(path);
        f = stdout;
    }
    fprintf(f,
            "{\"elapsed_s\": %.3f, \"streams\": %llu, \"received\": %llu, \"expected_seq\": %llu,"
            " \"lost_seq\": %llu, \"expected_time\": %llu, \"shortfall_time\": %llu,"
            " \"out_of_order\": %llu, \"silent\": %llu, \"late5\": %llu, \"late20\": %llu,"
            " \"late50\": %llu, \"max_late_ms\": %.3f, \"streams_with_late\": %llu,"
            " \"streams_with_loss\": %llu, \"mean_duration_s\": %.3f, \"invalid\": %llu,"
            " \"rtcp\": %llu, \"sent\": %llu, \"send_errors\": %llu, \"sink_drops\": %llu,"
            " \"first_early\": %llu}\n",
            elapsed_s, (unsigned long long)tot.streams, (unsigned long long)tot.received,
            (unsigned long long)tot.exp_seq, (unsigned long long)tot.lost_seq,
            (unsigned long long)tot.exp_time, (unsigned long long)tot.short_time,
            (unsigned long long)tot.ooo, (unsigned long long)tot.silent,
            (unsigned long long)tot.late5, (unsigned long long)tot.late20,
            (unsigned long long)tot.late50, (double)tot.max_late_ns / 1e6,
            (unsigned long long)tot.streams_with_late, (unsigned long long)tot.streams_with_loss,
            tot.streams ? tot.sum_duration_s / (double)tot.streams : 0.0,
            (unsigned long long)tot.invalid, (unsigned long long)tot.rtcp,
            (unsigned long long)tot.sent, (unsigned long long)tot.send_errors,
            (unsigned long long)drops_total, (unsigned long long)tot.first_early);
    if (f != stdout)
        fclose(f);
}

static void usage(void)
{
    fprintf(stderr, "usage: rtpsink -p PORT [-s] [-o summary.json] [-c streams.csv] "
                    "[-t max_seconds] [-i idle_ms] [-d dump.csv -D K]\n"
                    "  PORT even; RTCP is drained on PORT+1. -s: also send 50 pps per stream.\n"
                    "  -d: every packet of one stream in K (default 10): port, ssrc, index, seq,\n"
                    "  arrival (ns, CLOCK_REALTIME), offset and lateness (ns).\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int port = 0, max_s = 600, idle_ms = 1000;
    bool send_mode = false;
    const char *out = NULL, *csv = NULL, *dump = NULL;
    dump_every = 10;
    int opt;
    while ((opt = getopt(argc, argv, "p:so:c:t:i:d:D:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 's': send_mode = true; break;
        case 'o': out = optarg; break;
        case 'c': csv = optarg; break;
        case 't': max_s = atoi(optarg); break;
        case 'i': idle_ms = atoi(optarg); break;
        case 'd': dump = optarg; break;
        case 'D': dump_every = (unsigned)atoi(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || port > 65534 || (port & 1) || max_s <= 0 || idle_ms <= 0 || dump_every == 0)
        usage();
    if (dump) {
        dump_file = fopen(dump, "w");
        if (!dump_file) {
            perror(dump);
            return 2;
        }
        fprintf(dump_file, "port,ssrc,index,seq,arrival_ns,offset_ns,late_ns\n");
    }
    if (csv) {
        per_stream_csv = fopen(csv, "w");
        if (!per_stream_csv) {
            perror(csv);
            return 2;
        }
        fprintf(per_stream_csv, "port,ssrc,duration_s,received,expected_seq,expected_time,"
                                "out_of_order,silent,late5,max_late_ms\n");
    }
    for (int i = 0; i < 160; i++)
        tone_frame[i] = ulaw_encode((int16_t)(8000.0 * sin(2.0 * M_PI * 1000.0 * i / 8000.0)));
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fd = open_udp((uint16_t)port, 64 << 20);
    int rfd = open_udp((uint16_t)(port + 1), 1 << 20);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("READY %d\n", port);

    int64_t start = now_ns(CLOCK_MONOTONIC);
    int64_t next_tx = start + FRAME_NS, next_report = start + 1000000000LL;
    int64_t idle_ns = (int64_t)idle_ms * 1000000LL;
    uint64_t rx = 0, rx_last = 0, late_last = 0, sent_last = 0, rtcp_rx = 0;
    struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = rfd, .events = POLLIN } };
    while (!stop_flag) {
        int64_t now = now_ns(CLOCK_MONOTONIC);
        if (now - start >= (int64_t)max_s * 1000000000LL)
            break;
        int64_t wake = next_report < next_tx || !send_mode ? next_report : next_tx;
        int timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        if (timeout_ms > 5)
            timeout_ms = 5;
        if (poll(pf, 2, timeout_ms) < 0 && errno != EINTR) {
            perror("poll");
            return 2;
        }
        drain(fd, &rx, false);
        drain(rfd, &rtcp_rx, true);
        now = now_ns(CLOCK_MONOTONIC);
        if (send_mode && now >= next_tx) {
            send_frames(fd, now, idle_ns / 4, now_ns(CLOCK_REALTIME));
            next_tx += FRAME_NS;
            if (now - next_tx > 100000000LL)
                next_tx = now + FRAME_NS; /* we were stopped: skip, never burst */
        }
        if (now >= next_report) {
            /* Streams that went quiet have ended (BYE); fold them into the totals. */
            int64_t rt = now_ns(CLOCK_REALTIME);
            uint64_t late_now = tot.late5;
            for (unsigned i = 0; i < n_active; i++)
                late_now += streams[active_ports[i]]->late5;
            for (unsigned i = 0; i < n_active;) {
                if (rt - streams[active_ports[i]]->last_ns > idle_ns) {
                    finish_stream(active_ports[i]);
                    remove_active(i);
                } else {
                    i++;
                }
            }
            printf("T %.1f mono %.3f active %u rx_pps %llu late5 %llu tx_pps %llu "
                   "sink_drops %llu\n",
                   (double)(now - start) / 1e9, (double)now / 1e9, n_active,
                   (unsigned long long)(rx - rx_last),
                   (unsigned long long)(late_now - late_last),
                   (unsigned long long)(tot.sent - sent_last), (unsigned long long)drops_total);
            rx_last = rx;
            late_last = late_now;
            sent_last = tot.sent;
            next_report += 1000000000LL;
        }
    }
    while (n_active) {
        finish_stream(active_ports[0]);
        remove_active(0);
    }
    if (per_stream_csv)
        fclose(per_stream_csv);
    if (dump_file)
        fclose(dump_file);
    write_summary(out, (double)(now_ns(CLOCK_MONOTONIC) - start) / 1e9);
    return 0;
}
