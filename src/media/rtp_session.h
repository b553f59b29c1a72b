/* One RTP stream (RFC 3550) and its RTCP companion over UDP, for one call leg.
 * Sending: the caller supplies 20 ms payloads; the session keeps SSRC, sequence number and
 * timestamp (random starts) and sets the marker when asked (talk-spurt start). We send to the
 * peer's SDP address until the peer is latched, then to where its packets come from.
 * Receiving: packets are validated (version, header length, CSRC, extension, padding), then
 * admitted only from the peer (strict RTP, per session, i.e. per local port: many calls may come
 * from one remote address and port, as from SIPp):
 *  - Nothing is accepted before the first learning window; rtp_session_learn() opens one when
 *    the SDP offer/answer completes (our 183/200 sent, a re-INVITE answered) and discards what
 *    arrived before it.
 *  - A packet from the SDP address and port latches the session to it at once, whenever it
 *    comes (the signalling vouches for that address).
 *  - Another source is learned only if the peer may be behind NAT (its SDP address is private,
 *    loopback or link-local, and is not the address its SIP came from), or if it has the SDP's
 *    IP (a phone sending from another port). Such a source must begin inside the window
 *    (RTP_LEARN_WINDOW_MS after the exchange) and be the only one besides the SDP address for
 *    RTP_LEARN_CONFIRM_MS; any other source resets that probation, and its packets are dropped
 *    until it is latched. Until the window ends, a packet from the SDP address still takes the
 *    latch over. (Left exposed: an attacker reaching a NAT'd peer's new port first, and alone.)
 *  - Latched: only that address and port, and only its SSRC. A new SSRC from that address is
 *    taken by its first packet after an exchange (re-INVITE), or when the old SSRC has been
 *    silent for RTP_SSRC_RESTART_MS (a phone restarting its stream); interleaved with a live
 *    stream it is dropped.
 *  - A new SDP address or port (a re-INVITE moving the media) forgets the latch.
 * Dropped packets are counted per session and process-wide (rtp_session_drop_totals).
 * No allocation after open: the session lives inside its call. Owned by one worker thread. */
#ifndef VCS_RTP_SESSION_H
#define VCS_RTP_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct port_pool;

#define RTP_LEARN_WINDOW_MS 5000u   /* a non-SDP source may start this long after the exchange */
#define RTP_LEARN_CONFIRM_MS 500u   /* ... and is latched after this long as the only one */
#define RTP_SSRC_RESTART_MS 300u    /* a silent SSRC may be replaced after this long */
#define RTP_RECV_BUDGET 64          /* datagrams read per session per round */

/* A peer's RTP address: IPv4 or IPv6 only, so 28 bytes where sockaddr_storage takes 128 (a
 * leg keeps five). */
union rtp_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct rtp_stats {
    uint64_t sent_packets, sent_octets;
    uint64_t recv_packets, recv_octets, recv_invalid;
    uint64_t dropped_source; /* valid RTP from an address that is not (yet) the peer's */
    uint64_t dropped_ssrc;   /* from the peer's address with another SSRC */
};

struct rtp_session {
    int fd, rtcp_fd;
    uint16_t port;
    union rtp_addr remote, rtcp_remote; /* where we send */
    socklen_t remote_len;
    bool have_remote;
    union rtp_addr sdp;       /* the peer's SDP address and port */
    bool have_sdp;
    union rtp_addr signal;    /* where the peer's SIP came from (port 0) */
    bool have_signal;
    bool learned_once;                 /* a learning window has opened */
    uint64_t learn_until_ms;           /* 0: no window open */
    bool any_ssrc;                     /* the next packet of the peer may bring a new SSRC */
    union rtp_addr candidate; /* a non-SDP source on probation */
    bool have_candidate;
    uint64_t candidate_ms;
    bool latched;                      /* remote is the peer's real source */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint32_t peer_ssrc;
    uint64_t peer_last_ms;             /* last packet admitted */
    uint64_t last_rtcp_us;
    struct rtp_stats stats;
};

struct rtp_packet {
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload; /* points into the batch */
    size_t len;
};

#define RTP_BATCH 4          /* datagrams per recvmmsg() */
#define RTP_DATAGRAM_MAX 1600

/* Datagrams read from one session's socket, handed out one by one: the caller's scratch space
 * (on its stack), reset with rtp_batch_reset() before it is used for a session. */
struct rtp_batch {
    uint8_t data[RTP_BATCH][RTP_DATAGRAM_MAX];
    union rtp_addr src[RTP_BATCH];
    struct iovec iov[RTP_BATCH];
    struct mmsghdr msg[RTP_BATCH];
    unsigned n, next, read; /* datagrams in data, the next to look at, read since the reset */
    bool drained;           /* the last read came back short: nothing more is waiting */
};

/* Binds an even port from the pool (and RTCP on port+1) on local_ip. 0, or -1 with err. */
int rtp_session_open(struct rtp_session *s, struct port_pool *pp, const char *local_ip,
                     char *err, size_t errlen);
void rtp_session_close(struct rtp_session *s, struct port_pool *pp);
/* The peer's SDP address: where to send until latched. A different address or port than before
 * forgets the latch; an unspecified address (0.0.0.0, ::) or port 0 changes nothing (hold,
 * RFC 2543 style). 0, or -1 if invalid. */
int rtp_session_set_remote(struct rtp_session *s, const char *addr, uint16_t port);
/* The IP address the peer's SIP requests come from (NAT detection). 0, or -1 if invalid. */
int rtp_session_set_signal(struct rtp_session *s, const char *addr);
/* The SDP offer/answer has completed: opens a learning window at now_ms (monotonic). */
void rtp_session_learn(struct rtp_session *s, uint64_t now_ms);
/* Sends one packet; advances seq and the timestamp by samples. Returns 0, -1 on error
 * (an unreachable peer is not fatal: RTP is fire and forget). */
int rtp_session_send(struct rtp_session *s, uint8_t pt, const uint8_t *payload, size_t len,
                     uint32_t samples, bool marker);
/* Sends one packet stamped ts without moving the stream's timestamp: RFC 4733 events carry
 * their start's timestamp in every packet. */
int rtp_session_send_at(struct rtp_session *s, uint8_t pt, const uint8_t *payload, size_t len,
                        uint32_t ts, bool marker);
/* Advances the timestamp without sending (hold), so that the timeline stays continuous. */
void rtp_session_skip(struct rtp_session *s, uint32_t samples);
void rtp_batch_reset(struct rtp_batch *b);
/* The next datagram waiting on s that is the peer's, at now_ms (monotonic): 1 with *pkt
 * filled (valid until the next call), 0 when the socket is drained or after a bounded number
 * of datagrams (RTP_RECV_BUDGET; the rest waits for the next round). Invalid and unadmitted
 * datagrams are counted and skipped. First hands out what rtp_io_run_reads() read into b
 * (rtp_io.h), then reads RTP_BATCH datagrams per system call while more may be waiting, so
 * draining a socket that holds one packet takes at most one recvmmsg(), not a read and an
 * EAGAIN. */
int rtp_session_recv(struct rtp_session *s, struct rtp_batch *b, struct rtp_packet *pkt,
                     uint64_t now_ms);
/* Packets dropped by all sessions of the process since it started. Any thread. */
void rtp_session_drop_totals(uint64_t *source, uint64_t *ssrc);
/* Every interval_us: drains incoming RTCP (its content not used yet) and sends a sender
 * report; true when RTCP had come in (the peer is alive). Cheap to call on every tick: it
 * returns at once until the interval has passed. */
bool rtp_session_rtcp(struct rtp_session *s, uint64_t now_us, uint64_t interval_us);

#endif
