/* SDP offer/answer for G.711 audio with RFC 4733 telephone-events.
 * Pure functions (no I/O, no threads): parse and validate an offer with Sofia's sdp_parse(),
 * choose what we will use, and write our SDP. Every value taken from the peer is checked
 * (address, port, payload types, ptime, an audio m= line must exist) because sdp_parse()
 * accepts nonsense such as port 65536 or c=IN IP4 999.1.1.1. An answer has one m= line per
 * offered m= line, in the offer's order, with port 0 on every stream but the audio one we use
 * (RFC 3264 section 6), so that a phone offering audio and video gets its call. */
#ifndef VCS_SDP_H
#define VCS_SDP_H

#include <stddef.h>
#include <stdint.h>

enum sdp_direction { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

#define SDP_PT_PCMU 0
#define SDP_PT_PCMA 8

/* At most this many codecs in our offer (G.711 has two; room for the gateway list's bound). */
#define SDP_MAX_CODECS 4

/* At most this many m= lines in an offer (audio, video, text, data, BFCP and a spare). */
#define SDP_MAX_STREAMS 8

/* An offered m= line as we refuse it: "m=<media> 0 <proto> <fmt>" (RFC 4566 tokens). */
struct sdp_stream {
    char media[16];
    char proto[24];
    char fmt[24];             /* the first format offered: RFC 3264 wants one in a refusal */
};

struct sdp_media {
    char addr[64];            /* the peer's media address, numeric IPv4 or IPv6 */
    int family;               /* AF_INET or AF_INET6 */
    uint16_t port;            /* 1..65535 (odd ports are legal, if unusual) */
    int codec_pt;             /* SDP_PT_PCMU or SDP_PT_PCMA: the first of the peer's list we support */
    int n_offer;              /* our offer only: codecs offered in this order (0: codec_pt alone) */
    int offer_pts[SDP_MAX_CODECS];
    int dtmf_pt;              /* telephone-event/8000 payload type offered, or -1 */
    int ptime;                /* ms, 10..120, multiple of 10; 20 when absent */
    enum sdp_direction dir;   /* as offered; c=0.0.0.0 counts as sendonly (RFC 2543 hold) */
    int n_streams;            /* m= lines offered; 0 when there was no offer (we offer) */
    int audio_index;          /* which of them is the audio stream above */
    struct sdp_stream streams[SDP_MAX_STREAMS];
};

/* Result codes of sdp_negotiate(). */
#define SDP_OK 0
#define SDP_BAD_REQUEST 400     /* unparseable or invalid values */
#define SDP_NOT_ACCEPTABLE 488  /* valid, but unusable: no audio stream with a codec we support,
                                 * payload types beyond 127, a ptime we cannot do, too many
                                 * streams */

/* Parses and validates an SDP offer (or answer) of len bytes. On SDP_OK fills *out.
 * Otherwise writes a short reason suitable for a Warning header into err. */
int sdp_negotiate(const char *sdp, size_t len, struct sdp_media *out, char *err, size_t errlen);

/* The direction we answer with: sendonly <-> recvonly, others mirrored. */
enum sdp_direction sdp_answer_direction(enum sdp_direction offered);

/* Writes our SDP (offer or answer) into buf: the audio stream on local_ip:port with the codec
 * chosen in m, or in an offer every codec of m->offer_pts in order when m->n_offer > 0 (each
 * PCMU or PCMA, at most once), and m->dtmf_pt when >= 0; ptime 20, direction dir; when m answers an offer
 * (m->n_streams > 0), every other offered m= line is refused with port 0 in its place.
 * sess_version must grow each time our SDP changes (RFC 3264 section 8). Returns the length,
 * or -1 if buf is too small or m is inconsistent. */
int sdp_write(char *buf, size_t buflen, const char *local_ip, uint16_t port, uint64_t sess_id,
              uint64_t sess_version, const struct sdp_media *m, enum sdp_direction dir);

#endif
