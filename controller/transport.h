/* transport.c: the controller's ZeroMQ ROUTER with CURVE, its ZAP handler
 * (only keys in the authorized-agents directory get in; the host id bound
 * to each key becomes the connection's User-Id) and a socket monitor that
 * logs failed handshakes. */
#ifndef CORDON_CTL_TRANSPORT_H
#define CORDON_CTL_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"

#define PEER_ID_MAX 256

struct peer {
	uint8_t rid[PEER_ID_MAX];     /* ROUTER routing id */
	size_t rid_len;
	char host_id[65];             /* bound to the key by ZAP */
	uint32_t version;             /* its own protocol version */
	uint32_t reply_stamp;         /* the version our replies are written in */
};

struct ctl_transport;

struct ctl_transport *ctl_transport_new(const struct ctl_config *cfg,
					char *err, size_t errlen);
/* Without sockets: only for reading keys (--check-config). */
struct ctl_transport *ctl_transport_new_unbound(char *err, size_t errlen);
void ctl_transport_free(struct ctl_transport *t);
/* (Re)reads the authorized-agents directory. Returns number of keys or -1. */
int ctl_transport_load_keys(struct ctl_transport *t, const char *dir,
			    char *err, size_t errlen);

void *ctl_transport_router(struct ctl_transport *t);
void *ctl_transport_zap(struct ctl_transport *t);
void *ctl_transport_monitor(struct ctl_transport *t);

void ctl_transport_handle_zap(struct ctl_transport *t);
void ctl_transport_handle_monitor(struct ctl_transport *t);
/* Reports the connection messages a flood made it suppress (periodically). */
void ctl_transport_log_flush(struct ctl_transport *t);
/* Receives one message: 1 with *env set (caller frees with codec_free),
 * 0 when nothing usable was there (malformed input is logged and dropped),
 * CTL_RECV_FAR when the peer's protocol is one we do not read (peer says
 * which; *env NULL), -1 on a socket error. */
#define CTL_RECV_FAR 2
int ctl_transport_recv(struct ctl_transport *t, struct peer *peer,
		       Cordon__Envelope **env);
int ctl_transport_send(struct ctl_transport *t, const struct peer *peer,
		       Cordon__Envelope *env);

#endif
