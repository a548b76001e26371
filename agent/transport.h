/* transport.c: the agent's link to the controller: a ZeroMQ DEALER with
 * CURVE, reconnect with backoff (libzmq's), and a socket monitor that says
 * when a (re)connection completed so Hello can be sent again. The link
 * talks to one of the configured endpoints at a time; moving to another
 * (follow.c decides when) is a new socket, so nothing queued for or from
 * the one before is left on it. */
#ifndef CORDON_AGENT_TRANSPORT_H
#define CORDON_AGENT_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "config.h"
#include "keys.h"

enum link_state {
	LINK_CONNECTING,   /* no session yet */
	LINK_HELLO_SENT,   /* waiting for the full desired set */
	LINK_UP,           /* desired set received, heartbeats answered */
	LINK_REFUSED,      /* controller refused our hello */
	LINK_AUTH_FAILED,  /* CURVE/ZAP refused our key */
	LINK_PROTOCOL,     /* the controller's protocol is too far from ours */
	LINK_NOT_LEADER,   /* it is not the acting leader: moving on (follow.c) */
};

/* follow.c's record of where the link is going next. */
struct link_follow {
	unsigned hops;           /* moves since the link was last in sync */
	bool pending;            /* a move is due at at_mono */
	size_t to;
	uint64_t at_mono;
	char why[160];
};

struct agent_link {
	void *zctx, *dealer, *monitor;
	/* The controller endpoints (agent.conf controller), each one's
	 * public key, and the one in use. */
	char endpoints[AGENT_MAX_CONTROLLERS][ENDPOINT_MAX + 1];
	char server_keys[AGENT_MAX_CONTROLLERS][KEY_Z85_LEN + 1];
	size_t n_endpoints, current;
	struct keypair mine;          /* for each new socket */
	long heartbeat_ms;
	unsigned monitor_seq;         /* a fresh inproc name per socket */
	struct link_follow follow;
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
/* A new session to the endpoint in use, after libzmq gave up one whose key
 * was refused. */
void link_reconnect(struct agent_link *l);
/* Talks to endpoint idx from now on, on a new socket (state connecting,
 * Hello after the handshake). 0, or -1 (logged) keeping the old socket. */
int link_switch(struct agent_link *l, size_t idx);
const char *link_endpoint(const struct agent_link *l);
/* The position of endpoint in the configured list, or -1. */
int link_endpoint_index(const struct agent_link *l, const char *endpoint);
/* libzmq's reconnect interval at most (ms): once a heartbeat, 100-2000. */
long link_retry_ms(long heartbeat_ms);
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
/* Refused (by the controller, or for its protocol) or told it is not the
 * leader: no Hello, no answer to HelloRequired until a new session. */
bool link_holds_off(const struct agent_link *l);

#endif
