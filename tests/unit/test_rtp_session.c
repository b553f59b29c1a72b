/* rtp_session strict RTP, with real UDP sockets on loopback and the clock as a parameter:
 * nothing before the first learning window (and what was queued is discarded), the SDP source
 * latching at once, other hosts never learned for a peer not behind NAT, a NAT'd peer learned
 * after its probation (the SDP address taking over inside the window, not after), contested
 * probation learning nobody, the SSRC lock and its restart and
 * re-INVITE rules, a re-INVITE moving the media, drop counters, and that we only ever send to
 * the peer. */
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
#include "media/rtp_session.h"

#define T0 1000000u /* any monotonic start */

struct peer {
    int fd;
    uint16_t port;
    char ip[16];
    uint16_t seq;
};

struct fixture {
    struct port_pool *pp;
    struct rtp_session s;
    struct peer phone, other_port, attacker;
};

static void peer_open(struct peer *p, const char *ip)
{
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(p->fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(p->fd, (struct sockaddr *)&a, &len), 0);
    p->port = ntohs(a.sin_port);
    strcpy(p->ip, ip);
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    f.pp = port_pool_create(41000, 41999);
    assert_non_null(f.pp);
    char err[200];
    assert_int_equal(rtp_session_open(&f.s, f.pp, "127.0.0.1", err, sizeof err), 0);
    peer_open(&f.phone, "127.0.0.1");
    peer_open(&f.other_port, "127.0.0.1");
    peer_open(&f.attacker, "127.0.0.2");
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rtp_session_close(&f->s, f->pp);
    port_pool_destroy(f->pp);
    close(f->phone.fd);
    close(f->other_port.fd);
    close(f->attacker.fd);
    return 0;
}

static void send_rtp(struct fixture *f, struct peer *p, uint32_t ssrc)
{
    uint8_t pkt[12 + 160] = { 0x80, 0 };
    pkt[2] = (uint8_t)(p->seq >> 8);
    pkt[3] = (uint8_t)p->seq;
    p->seq++;
    pkt[8] = (uint8_t)(ssrc >> 24);
    pkt[9] = (uint8_t)(ssrc >> 16);
    pkt[10] = (uint8_t)(ssrc >> 8);
    pkt[11] = (uint8_t)ssrc;
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->s.port) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    assert_int_equal(sendto(p->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)sizeof pkt);
}

/* Sends one packet from p and lets the session read it at now: 1 admitted, 0 dropped. */
static int deliver(struct fixture *f, struct peer *p, uint32_t ssrc, uint64_t now)
{
    send_rtp(f, p, ssrc);
    struct pollfd pfd = { .fd = f->s.fd, .events = POLLIN };
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    static struct rtp_batch batch;
    struct rtp_packet pkt;
    rtp_batch_reset(&batch);
    int rc = rtp_session_recv(&f->s, &batch, &pkt, now);
    if (rc == 1)
        assert_int_equal(pkt.ssrc, ssrc);
    return rc;
}

/* Whether p received what the session sent just now. */
static bool got_ours(struct peer *p)
{
    uint8_t buf[1600];
    struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
    if (poll(&pfd, 1, 200) != 1)
        return false;
    return recv(p->fd, buf, sizeof buf, MSG_DONTWAIT) > 0;
}

static void send_ours(struct fixture *f)
{
    uint8_t payload[160] = { 0 };
    assert_int_equal(rtp_session_send(&f->s, 0, payload, sizeof payload, 160, false), 0);
}

static void sdp(struct fixture *f, const char *ip, uint16_t port, const char *signal)
{
    assert_int_equal(rtp_session_set_signal(&f->s, signal), 0);
    assert_int_equal(rtp_session_set_remote(&f->s, ip, port), 0);
}

static void test_before_window_and_sdp_latch(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    send_rtp(f, &f->attacker, 7);
    send_rtp(f, &f->phone, 7);
    usleep(50000);
    rtp_session_learn(&f->s, T0); /* discards both: nobody could know our port yet */
    assert_int_equal(f->s.stats.dropped_source, 2);
    assert_int_equal(deliver(f, &f->attacker, 1, T0 + 10), 0);
    assert_int_equal(deliver(f, &f->phone, 42, T0 + 20), 1);
    assert_true(f->s.latched);
    assert_int_equal(deliver(f, &f->attacker, 42, T0 + 40), 0);
    assert_int_equal(deliver(f, &f->other_port, 42, T0 + 60), 0);
    assert_int_equal(deliver(f, &f->phone, 42, T0 + 80), 1);
    assert_int_equal(f->s.stats.dropped_source, 5);
    send_ours(f);
    assert_true(got_ours(&f->phone));
    assert_false(got_ours(&f->attacker));
    uint64_t src, ssrc;
    rtp_session_drop_totals(&src, &ssrc);
    assert_true(src >= 5);
}

/* A round reads what is waiting in batches, in order, up to RTP_RECV_BUDGET datagrams: a
 * flooded session leaves the rest for the next round, and nothing read is lost. */
static void test_drain_rounds(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    rtp_session_learn(&f->s, T0);
    assert_int_equal(deliver(f, &f->phone, 5, T0 + 10), 1);
    const unsigned total = RTP_RECV_BUDGET + RTP_BATCH + 2;
    uint16_t first = f->phone.seq;
    for (unsigned i = 0; i < total; i++)
        send_rtp(f, &f->phone, 5);
    usleep(50000); /* loopback delivers at once; this only lets the sender's queue empty */
    static struct rtp_batch batch;
    struct rtp_packet pkt;
    unsigned got = 0;
    for (int round = 0; round < 3; round++) {
        unsigned in_round = 0;
        rtp_batch_reset(&batch);
        while (rtp_session_recv(&f->s, &batch, &pkt, T0 + 20) == 1) {
            assert_int_equal(pkt.seq, (uint16_t)(first + got));
            got++;
            in_round++;
        }
        assert_true(in_round <= RTP_RECV_BUDGET);
        if (round == 0)
            assert_int_equal(in_round, RTP_RECV_BUDGET);
    }
    assert_int_equal(got, total);
}

static void test_other_host_never_learned(void **state)
{
    struct fixture *f = *state;
    /* Not behind NAT (SDP address = SIP source): the attacker on another host is never the
     * peer, however long it sends alone; we keep sending to the SDP address. */
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    rtp_session_learn(&f->s, T0);
    for (uint64_t t = 0; t < 10000; t += 100)
        assert_int_equal(deliver(f, &f->attacker, 9, T0 + t), 0);
    assert_false(f->s.latched);
    send_ours(f);
    assert_false(got_ours(&f->attacker));
    assert_true(got_ours(&f->phone));
    assert_int_equal(deliver(f, &f->phone, 3, T0 + 20000), 1); /* the SDP source, however late */
}

static void test_nat_probation(void **state)
{
    struct fixture *f = *state;
    /* Behind NAT: the SDP has a private address that is not where SIP came from; the packets
     * come from the NAT's address (the attacker socket stands in for it). */
    sdp(f, "127.0.0.9", 5004, "127.0.0.2");
    rtp_session_learn(&f->s, T0);
    assert_int_equal(deliver(f, &f->attacker, 5, T0 + 100), 0);
    assert_int_equal(deliver(f, &f->attacker, 5, T0 + 100 + RTP_LEARN_CONFIRM_MS - 1), 0);
    assert_int_equal(deliver(f, &f->attacker, 5, T0 + 100 + RTP_LEARN_CONFIRM_MS), 1);
    assert_true(f->s.latched);
    send_ours(f);
    assert_true(got_ours(&f->attacker)); /* symmetric RTP: back through the NAT */
    assert_int_equal(deliver(f, &f->phone, 5, T0 + 2000), 0);
}

static void test_nat_contested(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.9", 5004, "127.0.0.2");
    rtp_session_learn(&f->s, T0);
    /* Two sources take turns: each resets the other's probation, nobody is learned. */
    for (uint64_t t = 0; t < RTP_LEARN_WINDOW_MS + 2000; t += 40) {
        assert_int_equal(deliver(f, &f->attacker, 5, T0 + t), 0);
        assert_int_equal(deliver(f, &f->phone, 6, T0 + t + 20), 0);
    }
    assert_false(f->s.latched);
    /* After the window no new source starts a probation. */
    for (uint64_t t = 0; t < 2000; t += 100)
        assert_int_equal(deliver(f, &f->phone, 6, T0 + RTP_LEARN_WINDOW_MS + 3000 + t), 0);
    assert_false(f->s.latched);
}

static void test_same_host_other_port(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    rtp_session_learn(&f->s, T0);
    assert_int_equal(deliver(f, &f->other_port, 8, T0), 0);
    assert_int_equal(deliver(f, &f->other_port, 8, T0 + RTP_LEARN_CONFIRM_MS), 1);
    assert_true(f->s.latched);
    send_ours(f);
    assert_true(got_ours(&f->other_port));
    /* Inside the window the SDP address still takes over, and then keeps the latch. */
    assert_int_equal(deliver(f, &f->phone, 9, T0 + 1000), 1);
    assert_int_equal(deliver(f, &f->other_port, 8, T0 + 1020), 0);
    send_ours(f);
    assert_true(got_ours(&f->phone));
}

static void test_learned_source_final_after_window(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    rtp_session_learn(&f->s, T0);
    assert_int_equal(deliver(f, &f->other_port, 8, T0), 0);
    assert_int_equal(deliver(f, &f->other_port, 8, T0 + RTP_LEARN_CONFIRM_MS), 1);
    assert_int_equal(deliver(f, &f->phone, 9, T0 + RTP_LEARN_WINDOW_MS), 0);
    assert_int_equal(deliver(f, &f->other_port, 8, T0 + RTP_LEARN_WINDOW_MS + 20), 1);
}

static void test_ssrc_rules(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    rtp_session_learn(&f->s, T0);
    uint64_t t = T0;
    assert_int_equal(deliver(f, &f->phone, 100, t), 1);
    /* Another SSRC interleaved with the live stream: dropped. */
    for (int i = 0; i < 20; i++) {
        t += 20;
        assert_int_equal(deliver(f, &f->phone, 100, t), 1);
        assert_int_equal(deliver(f, &f->phone, 666, t + 1), 0);
    }
    assert_int_equal(f->s.stats.dropped_ssrc, 20);
    /* The stream restarts: the old SSRC falls silent, the new one is taken once it has been
     * silent long enough. */
    assert_int_equal(deliver(f, &f->phone, 200, t + RTP_SSRC_RESTART_MS - 1), 0);
    assert_int_equal(deliver(f, &f->phone, 200, t + RTP_SSRC_RESTART_MS), 1);
    t += RTP_SSRC_RESTART_MS;
    assert_int_equal(deliver(f, &f->phone, 100, t + 20), 0);
    /* A re-INVITE that keeps the media: the first packet after it sets the SSRC, at once. */
    assert_int_equal(rtp_session_set_remote(&f->s, "127.0.0.1", f->phone.port), 0);
    rtp_session_learn(&f->s, t + 40);
    assert_int_equal(deliver(f, &f->phone, 300, t + 60), 1);
    assert_int_equal(deliver(f, &f->phone, 200, t + 80), 0);
    assert_true(f->s.latched);
}

static void test_media_moves(void **state)
{
    struct fixture *f = *state;
    sdp(f, "127.0.0.1", f->phone.port, "127.0.0.1");
    rtp_session_learn(&f->s, T0);
    assert_int_equal(deliver(f, &f->phone, 1, T0), 1);
    /* Hold the old way (c=0.0.0.0) changes nothing. */
    assert_int_equal(rtp_session_set_remote(&f->s, "0.0.0.0", f->phone.port), 0);
    assert_true(f->s.latched);
    /* A re-INVITE moving the media to another port: the old source is dropped, the new one
     * latched at once. */
    assert_int_equal(rtp_session_set_remote(&f->s, "127.0.0.1", f->other_port.port), 0);
    assert_false(f->s.latched);
    rtp_session_learn(&f->s, T0 + 5000);
    assert_int_equal(deliver(f, &f->phone, 1, T0 + 5010), 0);
    assert_int_equal(deliver(f, &f->other_port, 2, T0 + 5020), 1);
    assert_int_equal(deliver(f, &f->phone, 1, T0 + 5030), 0);
    send_ours(f);
    assert_true(got_ours(&f->other_port));
    assert_false(got_ours(&f->phone));
    assert_int_equal(rtp_session_set_remote(&f->s, "not an address", 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_before_window_and_sdp_latch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_host_never_learned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nat_probation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nat_contested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_host_other_port, setup, teardown),
        cmocka_unit_test_setup_teardown(test_learned_source_final_after_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssrc_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_media_moves, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
