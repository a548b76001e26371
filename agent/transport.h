/* transport.c: the agent's link to the controller: a ZeroMQ DEALER with
 * CURVE, reconnect with backoff (libzmq's), and a socket monitor that says
 * when a (re)connection completed so Hello can be sent again. */
#ifndef CORDON_AGENT_TRANSPORT_H
#define CORDON_AGENT_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"

enum link_state {
	LINK_CONNECTING,   /* no session yet */
	LINK_HELLO_SENT,   /* waiting for the full desired set */
	LINK_UP,           /* desired set received, heartbeats answered */
	LINK_REFUSED,      /* controller refused our hello */
	LINK_AUTH_FAILED,  /* CURVE/ZAP refused our key */
	LINK_PROTOCOL,     /* the controller's protocol is too far from ours */
};

struct agent_link {
	void *zctx, *dealer, *monitor;
	enum link_state state;
	bool hello_needed;
	uint64_t last_rx_mono;        /* any message from the controller */
	int64_t last_heartbeat_wall;  /* last heartbeat answered, seconds */
	uint64_t last_tx_heartbeat;   /* mono ms */
	uint64_t heartbeat_seq;
	unsigned sessions;            /* completed handshakes */
	bool silent;                  /* no message for 3 heartbeats */
	/* Protocol versions (proto/cordon.proto, "Versions"): the one we
	 * stamp on what we send, and the controller's own (0: not heard). */
	uint32_t stamp;
	uint32_t controller_version;
	char detail[320];
};

struct agent_link *link_new(const struct agent_config *cfg, char *err, size_t errlen);
void link_free(struct agent_link *l);
/* A new session to endpoint, after libzmq gave up one whose key was refused. */
void link_reconnect(struct agent_link *l, const char *endpoint);
/* 0 sent, -1 not sent (not connected: retried by the caller). */
int link_send(struct agent_link *l, Cordon__Envelope *env);
/* 1 with *env (codec_free it), 0 nothing (or dropped), -1 error. A
 * message in a protocol too far from ours is dropped and puts the link in
 * LINK_PROTOCOL, saying both versions in detail. */
int link_recv(struct agent_link *l, Cordon__Envelope **env);
void link_handle_monitor(struct agent_link *l);
/* A Hello with no answer at all: stamped with our own version, try the
 * one before (a protocol-1 controller drops anything else without a
 * word). Once per session. */
void link_hello_unanswered(struct agent_link *l);
const char *link_state_name(enum link_state s);
/* Refused (by the controller, or for its protocol): no Hello, no answer
 * to HelloRequired until a new session. */
bool link_holds_off(const struct agent_link *l);

#endif
