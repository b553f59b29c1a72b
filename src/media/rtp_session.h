/* One RTP stream (RFC 3550) and its RTCP companion over UDP, for one call leg.
 * Sending: the caller supplies 20 ms payloads; the session keeps SSRC, sequence number and
 * timestamp (random starts) and sets the marker when asked (talk-spurt start).
 * Receiving: packets are validated (version, header length, CSRC, extension, padding) and the
 * session latches to where the peer's packets really come from (symmetric RTP, needed behind
 * NAT): first valid packet at once, afterwards only when three packets in a row come from the
 * same new address, so a stray packet cannot steal the stream.
 * No allocation after open: the session lives inside its call. Owned by one worker thread. */
#ifndef VCS_RTP_SESSION_H
#define VCS_RTP_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct port_pool;

struct rtp_stats {
    uint64_t sent_packets, sent_octets;
    uint64_t recv_packets, recv_octets, recv_invalid;
};

struct rtp_session {
    int fd, rtcp_fd;
    uint16_t port;
    struct sockaddr_storage remote, rtcp_remote;
    socklen_t remote_len;
    bool have_remote;
    struct sockaddr_storage candidate; /* a new source seen while latched */
    int candidate_hits;
    bool latched;
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint32_t peer_ssrc;
    uint64_t last_rtcp_us;
    struct rtp_stats stats;
};

struct rtp_packet {
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload; /* points into the caller's buffer */
    size_t len;
};

/* Binds an even port from the pool (and RTCP on port+1) on local_ip. 0, or -1 with err. */
int rtp_session_open(struct rtp_session *s, struct port_pool *pp, const char *local_ip,
                     char *err, size_t errlen);
void rtp_session_close(struct rtp_session *s, struct port_pool *pp);
/* Where to send, from the peer's SDP (until latching says otherwise). 0, or -1 if invalid. */
int rtp_session_set_remote(struct rtp_session *s, const char *addr, uint16_t port);
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
/* Reads one datagram into buf. Returns 1 with *pkt filled, 0 when nothing is waiting, and
 * skips (counting them) packets that are not valid RTP. */
int rtp_session_recv(struct rtp_session *s, uint8_t *buf, size_t cap, struct rtp_packet *pkt);
/* Every interval_us: drains incoming RTCP (not used yet) and sends a sender report.
 * Cheap to call on every tick: it returns at once until the interval has passed. */
void rtp_session_rtcp(struct rtp_session *s, uint64_t now_us, uint64_t interval_us);

#endif
