/* codec.c: the wire codec shared by cordond and cordon-agent.
 *
 * One ZeroMQ frame = one protobuf Envelope (proto/cordon.proto). Decoding
 * never trusts its input: oversized, truncated, unknown-version, empty-body
 * or semantically invalid messages (bad MAC, uuid, host id, scope bits,
 * too many items) are rejected with a reason. */
#ifndef CORDON_CODEC_H
#define CORDON_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cordon.pb-c.h"

/* The protocol this build speaks (proto/cordon.proto, "Versions"). Test
 * builds claim another one (make CORDON_PROTO_VERSION_OVERRIDE=N, test 127)
 * to play a newer or a far newer peer. */
#ifdef CORDON_PROTO_VERSION_OVERRIDE
#define CORDON_PROTO_VERSION CORDON_PROTO_VERSION_OVERRIDE
#else
#define CORDON_PROTO_VERSION 2
#endif
/* The lowest version this build still speaks (to an older peer), and the
 * window of stamps it reads: [own - 1, own + 1]. */
#define CORDON_PROTO_MIN (CORDON_PROTO_VERSION - 1)
#define CORDON_PROTO_READ_MAX (CORDON_PROTO_VERSION + 1)
/* Also ZMQ_MAXMSGSIZE on both sockets. Room for a Hello of 20,000 VMs with
 * two interfaces each and their enforced states (about 9 MiB; test_codec). */
#define CORDON_MAX_MSG (16 * 1024 * 1024)
/* Memory the decoder may take for a message of len bytes: len * factor +
 * slack. Legitimate messages need about 3x; empty items would need 50x. */
#define CORDON_DECODE_FACTOR 8
#define CORDON_DECODE_SLACK (64 * 1024)
#define CORDON_MAX_ITEMS 200000    /* VMs / states per message */
#define CORDON_MAX_IFACES 64       /* interfaces per VM */
#define CORDON_MAX_IPS 64          /* addresses per interface */
#define CORDON_MAX_STR 256         /* any string field */

/* What the peer said of its protocol, from the envelope codec_decode_peer
 * read (valid even when the stamp was refused). */
struct codec_peer {
	uint32_t stamp;         /* Envelope.version: written in */
	uint32_t version;       /* the sender's own version (= stamp from 1) */
	bool version_refused;   /* stamp outside [own - 1, own + 1] */
};

/* Returns a decoded and validated envelope (free with codec_free), or NULL
 * with a one-line reason in err. */
Cordon__Envelope *codec_decode(const void *buf, size_t len, char *err,
			       size_t errlen);
/* The same, saying in *peer (when not NULL) which versions the sender
 * claimed; a refused stamp sets peer->version_refused. */
Cordon__Envelope *codec_decode_peer(const void *buf, size_t len,
				    struct codec_peer *peer, char *err,
				    size_t errlen);
void codec_free(Cordon__Envelope *env);
size_t codec_decode_budget(size_t len);

/* Stamps env with this build's version and packs. *out is malloc'ed, the
 * caller's to free. 0 or -1. */
int codec_encode(Cordon__Envelope *env, uint8_t **out, size_t *len);
/* The same, stamped with version (what the peer reads: see
 * codec_negotiate); sender_version and sender_min say what we speak. */
int codec_encode_as(Cordon__Envelope *env, uint32_t version, uint8_t **out,
		    size_t *len);

/* 1 when a stamp is one this build reads ([own - 1, own + 1]). */
bool codec_version_readable(uint32_t stamp);
/* 1 when a peer whose own version is peer_version can talk with us:
 * the two differ by at most one. */
bool codec_version_compatible(uint32_t peer_version);
/* The version to speak with a compatible peer: the lower of the two. */
uint32_t codec_negotiate(uint32_t peer_version);

/* Name of the body case, for logs: "hello", "ack", ... or "unknown". */
const char *codec_body_name(const Cordon__Envelope *env);

/* Validators also used on CLI and file input. */
int codec_valid_host_id(const char *s);   /* [A-Za-z0-9._-]{1,64} */
int codec_valid_uuid(const char *s);      /* 1..64 of [A-Za-z0-9-] */

#endif
