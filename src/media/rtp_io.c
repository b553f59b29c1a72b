#include "rtp_io.h"

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two reads per session: an RTP stream brings one datagram per tick, so the second read's
 * EAGAIN is what says "drained" without another system call. */
#define READS_PER_SESSION 2
#define RING_ENTRIES 128
#define SEND_MAX 576 /* RTP header + 512 bytes of payload, the largest we build, with room */

struct send_slot {
    uint8_t data[SEND_MAX];
    struct sockaddr_storage to;
    struct iovec iov;
    struct msghdr msg;
};

struct rtp_io {
    bool uring_ok;
    struct io_uring ring;
    struct rtp_batch *reads[RTP_IO_CHUNK];
    unsigned nreads;
    struct send_slot sends[RTP_IO_SENDS];
    unsigned nsends;
};

_Static_assert(RTP_BATCH >= READS_PER_SESSION, "a batch holds a session's queued reads");
_Static_assert(RTP_IO_CHUNK * READS_PER_SESSION <= RING_ENTRIES, "a chunk's reads fit the ring");
_Static_assert(RTP_IO_SENDS <= RING_ENTRIES, "the queued sends fit the ring");

static _Thread_local struct rtp_io *sending; /* between begin_sends and end_sends */

struct rtp_io *rtp_io_new(bool use_uring, char *why, size_t whylen)
{
    struct rtp_io *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    why[0] = '\0';
    if (!use_uring) {
        snprintf(why, whylen, "disabled by media.io_uring");
        return io;
    }
    int rc = io_uring_queue_init(RING_ENTRIES, &io->ring, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring refused: %s", strerror(-rc));
        return io;
    }
    io->uring_ok = true;
    return io;
}

void rtp_io_free(struct rtp_io *io)
{
    if (!io)
        return;
    if (io->uring_ok)
        io_uring_queue_exit(&io->ring);
    free(io);
}

bool rtp_io_batched(const struct rtp_io *io) { return io->uring_ok; }

/* Hands everything queued to the kernel and waits for all of it: nonblocking sockets and
 * MSG_DONTWAIT make every operation complete within the call (an empty socket answers
 * EAGAIN at once, it is never polled). Calls done(cqe) for each completion. */
static void submit_all(struct rtp_io *io, unsigned queued, void (*done)(struct io_uring_cqe *))
{
    unsigned seen = 0;
    while (seen < queued) {
        int rc = io_uring_submit_and_wait(&io->ring, queued - seen);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            /* the ring is unusable: what it did not run is lost (a tick's datagrams at most:
             * unread ones wait in their sockets), and this thread goes on without it */
            io->uring_ok = false;
            sending = NULL;
            break;
        }
        unsigned head, n = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&io->ring, head, cqe)
        {
            if (done)
                done(cqe);
            n++;
        }
        io_uring_cq_advance(&io->ring, n);
        seen += n;
    }
}

/* ---- reads ------------------------------------------------------------------------------- */

void rtp_io_queue_read(struct rtp_io *io, int fd, struct rtp_batch *b)
{
    if (!io->uring_ok || io->nreads == RTP_IO_CHUNK ||
        io_uring_sq_space_left(&io->ring) < READS_PER_SESSION)
        return; /* the batch reads for itself */
    for (unsigned i = 0; i < READS_PER_SESSION; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
        b->iov[i] = (struct iovec){ .iov_base = b->data[i], .iov_len = sizeof b->data[i] };
        b->msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &b->src[i],
                                                   .msg_namelen = sizeof b->src[i],
                                                   .msg_iov = &b->iov[i], .msg_iovlen = 1 } };
        io_uring_prep_recvmsg(sqe, fd, &b->msg[i].msg_hdr, MSG_DONTWAIT);
        /* a batch is at least 8-byte aligned: the slot's index rides in the low bits */
        io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)b | i);
        b->msg[i].msg_len = 0;
    }
    io->reads[io->nreads++] = b;
}

static void read_done(struct io_uring_cqe *cqe)
{
    if (!cqe->user_data)
        return; /* a send's */
    struct rtp_batch *b = (struct rtp_batch *)(uintptr_t)(cqe->user_data & ~(uint64_t)7);
    unsigned i = (unsigned)(cqe->user_data & 7);
    /* an error (EAGAIN: nothing waiting; ECONNREFUSED: an ICMP error for an earlier send)
     * leaves the slot empty, as recvmmsg() returning -1 does */
    b->msg[i].msg_len = cqe->res > 0 ? (unsigned)cqe->res : 0;
}

/* The slots that got a datagram, first ones first: a datagram can land in a later slot than
 * an empty one when it arrives between the two reads. */
static void compact(struct rtp_batch *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < READS_PER_SESSION; i++) {
        if (!b->msg[i].msg_len)
            continue;
        if (i != n) {
            memcpy(b->data[n], b->data[i], b->msg[i].msg_len);
            memcpy(&b->src[n], &b->src[i], sizeof b->src[n]);
            b->msg[n].msg_hdr.msg_namelen = b->msg[i].msg_hdr.msg_namelen;
            b->msg[n].msg_len = b->msg[i].msg_len;
        }
        n++;
    }
    b->n = n;
    b->next = 0;
    b->read = n;
    b->drained = n < READS_PER_SESSION;
}

void rtp_io_run_reads(struct rtp_io *io)
{
    if (!io->nreads)
        return;
    submit_all(io, io->nreads * READS_PER_SESSION, read_done);
    for (unsigned k = 0; k < io->nreads; k++)
        compact(io->reads[k]);
    io->nreads = 0;
}

/* ---- sends ------------------------------------------------------------------------------- */

static void flush_sends(struct rtp_io *io)
{
    if (!io->nsends)
        return;
    submit_all(io, io->nsends, NULL);
    io->nsends = 0;
}

void rtp_io_begin_sends(struct rtp_io *io)
{
    sending = io->uring_ok ? io : NULL;
}

void rtp_io_end_sends(void)
{
    if (sending)
        flush_sends(sending);
    sending = NULL;
}

void rtp_io_before_close(void)
{
    if (sending)
        flush_sends(sending);
}

int rtp_io_sendto(int fd, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen)
{
    struct rtp_io *io = sending;
    if (!io || len > SEND_MAX || tolen > sizeof(struct sockaddr_storage))
        return sendto(fd, buf, len, 0, to, tolen) < 0 ? -1 : 0;
    if (io->nsends == RTP_IO_SENDS)
        flush_sends(io);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
    if (!sqe)
        return sendto(fd, buf, len, 0, to, tolen) < 0 ? -1 : 0;
    struct send_slot *s = &io->sends[io->nsends++];
    memcpy(s->data, buf, len);
    memcpy(&s->to, to, tolen);
    s->iov = (struct iovec){ .iov_base = s->data, .iov_len = len };
    s->msg = (struct msghdr){ .msg_name = &s->to, .msg_namelen = tolen, .msg_iov = &s->iov,
                              .msg_iovlen = 1 };
    io_uring_prep_sendmsg(sqe, fd, &s->msg, MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, 0);
    return 0;
}
