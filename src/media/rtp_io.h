/* A media thread's batched RTP socket I/O (io_uring). On these VMs a system call costs more
 * than the datagram it carries (1.1 us for a null one; see bench/RESULTS.md), and every call
 * leg has its own socket, so one recvmmsg()/sendto() per packet cannot be batched by the socket
 * calls themselves. Instead the tick queues the reads of a chunk of sessions, and its sends,
 * and hands each batch to the kernel in one io_uring_enter().
 *
 * Without io_uring (media.io_uring = false, or the kernel or a seccomp filter refuses it)
 * every function still works: reads are left to rtp_session_recv()'s recvmmsg() and sends are
 * plain sendto(). The results are the same either way; only the number of system calls
 * differs. An rtp_io belongs to one thread at a time. */
#ifndef VCS_MEDIA_RTP_IO_H
#define VCS_MEDIA_RTP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "media/rtp_session.h"

#define RTP_IO_CHUNK 32  /* sessions whose reads go to the kernel together */
#define RTP_IO_SENDS 64  /* sends queued before they go to the kernel together */

struct rtp_io;

/* A new I/O context, batched through io_uring when use_uring and the kernel agrees (why not is
 * written to why, "" when batched). NULL only when out of memory. */
struct rtp_io *rtp_io_new(bool use_uring, char *why, size_t whylen);
void rtp_io_free(struct rtp_io *io);
bool rtp_io_batched(const struct rtp_io *io);

/* Reads: b (reset, and kept alive until rtp_io_run_reads returns) is to receive the first
 * datagrams waiting on fd. At most RTP_IO_CHUNK batches between two runs; more are ignored
 * (left to rtp_session_recv). rtp_io_run_reads fills every queued batch at once: after it,
 * rtp_session_recv() hands out what was read first, and reads the socket itself only when
 * more may be waiting. */
void rtp_io_queue_read(struct rtp_io *io, int fd, struct rtp_batch *b);
void rtp_io_run_reads(struct rtp_io *io);

/* Sends: between rtp_io_begin_sends and rtp_io_end_sends, rtp_io_sendto() on this thread
 * copies the datagram and queues it; the queue goes to the kernel when full and at the end.
 * Outside, rtp_io_sendto() is sendto(). Fire and forget: a send the kernel refuses later is
 * lost as a datagram on the wire would be. -1 only for a datagram refused at once. */
void rtp_io_begin_sends(struct rtp_io *io);
void rtp_io_end_sends(void);
int rtp_io_sendto(int fd, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen);
/* Before a socket is closed on this thread: the queued sends go out now, while their descriptor
 * numbers are still theirs (any thread's next socket or file may take a closed number). */
void rtp_io_before_close(void);

#endif
