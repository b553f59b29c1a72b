/* rtp_io, batched (io_uring) and not, with real UDP sockets on loopback: a chunk's reads give
 * each session's first datagrams and say whether its socket is drained; what a queued read
 * did not take is still handed out, in order, by rtp_session_recv; queued sends all arrive, in
 * order and intact, also past a full queue, and before their socket closes; outside a send
 * phase a send goes out at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/port_pool.h"
#include "media/rtp_io.h"
#include "media/rtp_session.h"

#define T0 1000000u
#define SESSIONS 3
#define BURST 5

struct fixture {
    bool want_uring;
    struct rtp_io *io;
    struct port_pool *pp;
    struct rtp_session s[SESSIONS];
    int peer;
    uint16_t peer_port;
    uint16_t seq;
};

static int setup(void **state, bool want_uring)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    f.want_uring = want_uring;
    char why[128];
    f.io = rtp_io_new(want_uring, why, sizeof why);
    assert_non_null(f.io);
    if (want_uring && !rtp_io_batched(f.io))
        print_message("io_uring unavailable here (%s): the batched cases run unbatched\n", why);
    f.pp = port_pool_create(42000, 42999);
    assert_non_null(f.pp);
    f.peer = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(f.peer, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(f.peer, (struct sockaddr *)&a, &len), 0);
    f.peer_port = ntohs(a.sin_port);
    for (int i = 0; i < SESSIONS; i++) {
        char err[200];
        assert_int_equal(rtp_session_open(&f.s[i], f.pp, "127.0.0.1", err, sizeof err), 0);
        assert_int_equal(rtp_session_set_remote(&f.s[i], "127.0.0.1", f.peer_port), 0);
        rtp_session_learn(&f.s[i], T0);
    }
    *state = &f;
    return 0;
}

static int setup_batched(void **state) { return setup(state, true); }
static int setup_plain(void **state) { return setup(state, false); }

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < SESSIONS; i++)
        rtp_session_close(&f->s[i], f->pp);
    port_pool_destroy(f->pp);
    close(f->peer);
    rtp_io_free(f->io);
    return 0;
}

static bool batched(const struct fixture *f) { return f->want_uring && rtp_io_batched(f->io); }

/* The peer sends one RTP packet (seq, payload byte = seq) to session i. */
static void peer_send(struct fixture *f, int i)
{
    uint8_t pkt[12 + 160] = { 0x80, 0 };
    pkt[2] = (uint8_t)(f->seq >> 8);
    pkt[3] = (uint8_t)f->seq;
    pkt[11] = 7; /* ssrc */
    memset(pkt + 12, (uint8_t)f->seq, 160);
    f->seq++;
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->s[i].port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(sendto(f->peer, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)sizeof pkt);
}

static void wait_readable(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 2000), 1);
}

static void reads_in_one_go(void **state)
{
    struct fixture *f = *state;
    /* session 0: nothing; session 1: one datagram; session 2: a burst */
    peer_send(f, 1);
    for (int k = 0; k < BURST; k++)
        peer_send(f, 2);
    wait_readable(f->s[1].fd);
    wait_readable(f->s[2].fd);

    static struct rtp_batch b[SESSIONS];
    for (int i = 0; i < SESSIONS; i++) {
        rtp_batch_reset(&b[i]);
        rtp_io_queue_read(f->io, f->s[i].fd, &b[i]);
    }
    rtp_io_run_reads(f->io);
    if (batched(f)) {
        assert_int_equal(b[0].n, 0);
        assert_true(b[0].drained); /* no system call left for an empty socket */
        assert_int_equal(b[1].n, 1);
        assert_true(b[1].drained); /* one datagram: the second read said so */
        assert_true(b[2].n >= 1);
    } else {
        for (int i = 0; i < SESSIONS; i++) {
            assert_int_equal(b[i].n, 0);
            assert_false(b[i].drained); /* rtp_session_recv reads for itself */
        }
    }

    struct rtp_packet pkt;
    assert_int_equal(rtp_session_recv(&f->s[0], &b[0], &pkt, T0 + 20), 0);
    assert_int_equal(rtp_session_recv(&f->s[1], &b[1], &pkt, T0 + 20), 1);
    assert_int_equal(pkt.seq, 0);
    assert_int_equal(pkt.len, 160);
    assert_int_equal(pkt.payload[159], 0);
    assert_int_equal(rtp_session_recv(&f->s[1], &b[1], &pkt, T0 + 20), 0);

    /* the burst: all of it, in order, whether the queued reads or recvmmsg took it */
    uint16_t want = 1;
    for (int round = 0; round < 100 && want <= BURST; round++) {
        while (rtp_session_recv(&f->s[2], &b[2], &pkt, T0 + 20) == 1) {
            assert_int_equal(pkt.seq, want);
            assert_int_equal(pkt.payload[0], (uint8_t)want);
            want++;
        }
        if (want <= BURST) { /* not all delivered yet: read again once the socket has more */
            wait_readable(f->s[2].fd);
            rtp_batch_reset(&b[2]);
        }
    }
    assert_int_equal(want, BURST + 1);
}

/* What the peer receives, in order: count packets whose seq follows first_seq. */
static void peer_receives(struct fixture *f, int count, uint16_t first_seq)
{
    for (int k = 0; k < count; k++) {
        uint8_t buf[1600];
        wait_readable(f->peer);
        ssize_t n = recv(f->peer, buf, sizeof buf, MSG_DONTWAIT);
        assert_int_equal(n, 12 + 160);
        assert_int_equal((uint16_t)((buf[2] << 8) | buf[3]), (uint16_t)(first_seq + k));
        assert_int_equal(buf[12 + 159], (uint8_t)k);
    }
}

static void sends_queued_then_flushed(void **state)
{
    struct fixture *f = *state;
    struct rtp_session *s = &f->s[0];
    enum { N = RTP_IO_SENDS + RTP_IO_SENDS / 2 }; /* past a full queue */
    uint16_t first = s->seq;
    uint8_t frame[160];
    rtp_io_begin_sends(f->io);
    for (int k = 0; k < N; k++) {
        memset(frame, (uint8_t)k, sizeof frame);
        assert_int_equal(rtp_session_send(s, 0, frame, sizeof frame, 160, false), 0);
    }
    if (batched(f)) { /* the full queue went out; the rest waits for the end of the phase */
        uint8_t buf[1600];
        int got = 0;
        for (int k = 0; k < RTP_IO_SENDS; k++) {
            wait_readable(f->peer);
            got += recv(f->peer, buf, sizeof buf, MSG_DONTWAIT) > 0;
        }
        assert_int_equal(got, RTP_IO_SENDS);
        assert_int_equal(recv(f->peer, buf, sizeof buf, MSG_DONTWAIT), -1);
        rtp_io_end_sends();
        for (int k = RTP_IO_SENDS; k < N; k++) {
            wait_readable(f->peer);
            ssize_t n = recv(f->peer, buf, sizeof buf, MSG_DONTWAIT);
            assert_int_equal(n, 12 + 160);
            assert_int_equal((uint16_t)((buf[2] << 8) | buf[3]), (uint16_t)(first + k));
            assert_int_equal(buf[12 + 159], (uint8_t)k);
        }
    } else {
        rtp_io_end_sends();
        peer_receives(f, N, first);
    }
    assert_int_equal(s->stats.sent_packets, N);

    /* outside a send phase: at once */
    first = s->seq;
    memset(frame, 0, sizeof frame);
    assert_int_equal(rtp_session_send(s, 0, frame, sizeof frame, 160, false), 0);
    peer_receives(f, 1, first);
}

/* A socket closed in the middle of a send phase: what it had queued leaves first, while the
 * descriptor number is still its own. */
static void queued_sends_leave_before_close(void **state)
{
    struct fixture *f = *state;
    struct rtp_session *s = &f->s[0];
    uint16_t first = s->seq;
    uint8_t frame[160];
    rtp_io_begin_sends(f->io);
    for (int k = 0; k < 3; k++) {
        memset(frame, (uint8_t)k, sizeof frame);
        assert_int_equal(rtp_session_send(s, 0, frame, sizeof frame, 160, false), 0);
    }
    rtp_session_close(s, f->pp);
    peer_receives(f, 3, first);
    rtp_io_end_sends();
    uint8_t buf[1600];
    assert_int_equal(recv(f->peer, buf, sizeof buf, MSG_DONTWAIT), -1); /* nothing twice */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reads_in_one_go, setup_batched, teardown),
        cmocka_unit_test_setup_teardown(sends_queued_then_flushed, setup_batched, teardown),
        cmocka_unit_test_setup_teardown(queued_sends_leave_before_close, setup_batched, teardown),
        cmocka_unit_test_setup_teardown(reads_in_one_go, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(sends_queued_then_flushed, setup_plain, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
