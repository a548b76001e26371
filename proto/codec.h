/* codec.c: the wire codec shared by cordond and cordon-agent.
 *
 * One ZeroMQ frame = one protobuf Envelope (proto/cordon.proto). Decoding
 * never trusts its input: oversized, truncated, unknown-version, empty-body
 * or semantically invalid messages (bad MAC, uuid, host id, scope bits,
 * too many items) are rejected with a reason. */
#ifndef CORDON_CODEC_H
#define CORDON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "cordon.pb-c.h"

#define CORDON_PROTO_VERSION 1
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

/* Returns a decoded and validated envelope (free with codec_free), or NULL
 * with a one-line reason in err. */
Cordon__Envelope *codec_decode(const void *buf, size_t len, char *err,
			       size_t errlen);
void codec_free(Cordon__Envelope *env);
size_t codec_decode_budget(size_t len);

/* Sets env->version and packs. *out is malloc'ed, the caller's to free.
 * 0 or -1. */
int codec_encode(Cordon__Envelope *env, uint8_t **out, size_t *len);

/* Name of the body case, for logs: "hello", "ack", ... or "unknown". */
const char *codec_body_name(const Cordon__Envelope *env);

/* Validators also used on CLI and file input. */
int codec_valid_host_id(const char *s);   /* [A-Za-z0-9._-]{1,64} */
int codec_valid_uuid(const char *s);      /* 1..64 of [A-Za-z0-9-] */

#endif
