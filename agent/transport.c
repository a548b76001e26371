#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "keys.h"
#include "log.h"
#include "util.h"

static int set_int(void *sock, int opt, int value)
{
	return zmq_setsockopt(sock, opt, &value, sizeof(value));
}

static int set_curve(void *sock, const struct agent_link *l, size_t idx)
{
	return zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, l->server_keys[idx], KEY_Z85_LEN) |
	       zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, l->mine.public_z85, KEY_Z85_LEN) |
	       zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, l->mine.secret_z85, KEY_Z85_LEN);
}

long link_retry_ms(long hb)
{
	return hb < 100 ? 100 : hb > 2000 ? 2000 : hb;
}

static int set_options(void *sock, long heartbeat_ms)
{
	int64_t maxmsg = CORDON_MAX_MSG;
	int hb = (int)heartbeat_ms;
	/* Cut off from the controller, the agent tries it again about once a
	 * heartbeat (every 2 s at most), and gives up a TCP connect after as
	 * long (500 ms at least: above any RTT within a region). Left to TCP,
	 * a connect whose SYNs a partition lost waits out the SYN backoff
	 * (1, 2, 4 ... 64 s) and keeps a healed link unused that long: test
	 * 520 measured 12.5 s after a 58 s partition. */
	int retry = (int)link_retry_ms(heartbeat_ms);
	int connect_timeout = retry < 500 ? 500 : retry;

	/* IMMEDIATE: nothing queues while disconnected, so a reconnect starts
	 * with a fresh Hello instead of a backlog of stale messages. */
	return set_int(sock, ZMQ_IMMEDIATE, 1) | set_int(sock, ZMQ_LINGER, 0) |
	       set_int(sock, ZMQ_RECONNECT_IVL, 100) |
	       set_int(sock, ZMQ_RECONNECT_IVL_MAX, retry) |
	       set_int(sock, ZMQ_CONNECT_TIMEOUT, connect_timeout) |
	       set_int(sock, ZMQ_HEARTBEAT_IVL, hb) |
	       set_int(sock, ZMQ_HEARTBEAT_TIMEOUT, hb * 3) |
	       set_int(sock, ZMQ_HANDSHAKE_IVL, 5000) |
	       zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
}

/* A DEALER to endpoint idx and the PAIR that reads its monitor, into
 * *dealer and *monitor. 0, or -1 with both closed. */
static int open_socket(struct agent_link *l, size_t idx, void **dealer, void **monitor,
		       char *err, size_t errlen)
{
	char name[64];

	*monitor = NULL;
	*dealer = zmq_socket(l->zctx, ZMQ_DEALER);
	snprintf(name, sizeof(name), "inproc://cordon-agent-monitor-%u", ++l->monitor_seq);
	if (!*dealer || set_options(*dealer, l->heartbeat_ms) != 0 || set_curve(*dealer, l, idx)) {
		snprintf(err, errlen, "cannot create the controller socket: %s", zmq_strerror(errno));
		goto fail;
	}
	if (zmq_socket_monitor(*dealer, name, ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
			       ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
			       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) < 0 ||
	    !(*monitor = zmq_socket(l->zctx, ZMQ_PAIR)) || zmq_connect(*monitor, name) < 0) {
		snprintf(err, errlen, "socket monitor: %s", zmq_strerror(errno));
		goto fail;
	}
	if (zmq_connect(*dealer, l->endpoints[idx]) < 0) {
		snprintf(err, errlen, "invalid controller endpoint '%s': %s", l->endpoints[idx],
			 zmq_strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (*dealer)
		zmq_close(*dealer);
	if (*monitor)
		zmq_close(*monitor);
	*dealer = *monitor = NULL;
	return -1;
}

/* Every endpoint's key, read once: one file for all, or one each. */
static int load_keys(struct agent_link *l, const struct agent_config *cfg, char *err,
		     size_t errlen)
{
	struct keypair server;

	if (keys_load(cfg->key, &l->mine, err, errlen) < 0)
		return -1;
	if (!l->mine.secret_z85[0]) {
		snprintf(err, errlen, "%s holds no secret key (use the _secret file)", cfg->key);
		return -1;
	}
	for (size_t i = 0; i < cfg->n_controllers; i++) {
		if (keys_load(agent_config_controller_key(cfg, i), &server, err, errlen) < 0)
			return -1;
		memcpy(l->server_keys[i], server.public_z85, sizeof(l->server_keys[i]));
		memcpy(l->endpoints[i], cfg->controllers[i], sizeof(l->endpoints[i]));
	}
	l->n_endpoints = cfg->n_controllers;
	return 0;
}

struct agent_link *link_new(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct agent_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->heartbeat_ms = cfg->heartbeat_ms;
	l->zctx = zmq_ctx_new();
	if (!l->zctx) {
		snprintf(err, errlen, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
		goto fail;
	}
	if (load_keys(l, cfg, err, errlen) < 0 ||
	    open_socket(l, 0, &l->dealer, &l->monitor, err, errlen) < 0)
		goto fail;
	snprintf(l->detail, sizeof(l->detail), "connecting to %s", l->endpoints[0]);
	l->stamp = CORDON_PROTO_VERSION;
	l->last_rx_mono = now_mono_ms();
	return l;
fail:
	link_free(l);
	return NULL;
}

void link_free(struct agent_link *l)
{
	if (!l)
		return;
	if (l->dealer)
		zmq_close(l->dealer);
	if (l->monitor)
		zmq_close(l->monitor);
	if (l->zctx)
		zmq_ctx_term(l->zctx);
	memset(&l->mine, 0, sizeof(l->mine));
	free(l);
}

int link_switch(struct agent_link *l, size_t idx)
{
	void *dealer, *monitor;
	char err[512];

	if (idx >= l->n_endpoints)
		return -1;
	/* The new one first: failing (out of descriptors), the old stays. */
	if (open_socket(l, idx, &dealer, &monitor, err, sizeof(err)) < 0) {
		log_warnx("cannot move to controller %s: %s; staying on %s", l->endpoints[idx], err,
			  link_endpoint(l));
		return -1;
	}
	zmq_close(l->dealer);
	zmq_close(l->monitor);
	l->dealer = dealer;
	l->monitor = monitor;
	l->current = idx;
	l->state = LINK_CONNECTING;
	l->hello_needed = false; /* after the handshake */
	l->stamp = CORDON_PROTO_VERSION;
	l->silent = false;
	l->last_rx_mono = now_mono_ms(); /* its silence counts from now */
	snprintf(l->detail, sizeof(l->detail), "connecting to %s", l->endpoints[idx]);
	return 0;
}

const char *link_endpoint(const struct agent_link *l)
{
	return l->endpoints[l->current];
}

int link_endpoint_index(const struct agent_link *l, const char *endpoint)
{
	for (size_t i = 0; i < l->n_endpoints; i++)
		if (endpoint_same(l->endpoints[i], endpoint))
			return (int)i;
	return -1;
}

void link_reconnect(struct agent_link *l)
{
	/* A new socket to the same endpoint: libzmq gave the old session up. */
	if (link_switch(l, l->current) == 0)
		log_info("trying the controller again with this host's key");
}

int link_send(struct agent_link *l, Cordon__Envelope *env)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (codec_encode_as(env, l->stamp, &buf, &len) < 0)
		return -1;
	rc = zmq_send(l->dealer, buf, len, ZMQ_DONTWAIT);
	free(buf);
	return rc < 0 ? -1 : 0;
}

/* Logged once per change: a far controller answers every Hello retry. */
static void protocol_mismatch(struct agent_link *l, const struct codec_peer *peer)
{
	char detail[sizeof(l->detail)];

	snprintf(detail, sizeof(detail), "the controller speaks protocol %u, this agent "
		 "protocol %d (it talks with %d-%d): upgrade the %s; the cuts saved here hold",
		 peer->version, CORDON_PROTO_VERSION, CORDON_PROTO_MIN, CORDON_PROTO_READ_MAX,
		 peer->version < CORDON_PROTO_VERSION ? "controller" : "agent");
	if (l->state != LINK_PROTOCOL || strcmp(detail, l->detail) != 0)
		log_errorx("%s", detail);
	memcpy(l->detail, detail, sizeof(detail));
	l->state = LINK_PROTOCOL;
	l->controller_version = peer->version;
}

/* Refused carries its own reason (the controller stamps it so that any
 * version reads it); anything else from a controller too far is not
 * ours to apply. */
static bool protocol_accepted(struct agent_link *l, const Cordon__Envelope *env,
			      const struct codec_peer *peer)
{
	if (env->body_case != CORDON__ENVELOPE__BODY_REFUSED &&
	    !codec_version_compatible(peer->version)) {
		protocol_mismatch(l, peer);
		return false;
	}
	l->controller_version = peer->version;
	if (env->body_case != CORDON__ENVELOPE__BODY_REFUSED)
		l->stamp = codec_negotiate(peer->version);
	return true;
}

int link_recv(struct agent_link *l, Cordon__Envelope **env)
{
	struct codec_peer peer;
	zmq_msg_t msg;
	char err[256];
	int rc;

	*env = NULL;
	zmq_msg_init(&msg);
	rc = zmq_msg_recv(&msg, l->dealer, ZMQ_DONTWAIT);
	if (rc < 0) {
		zmq_msg_close(&msg);
		return errno == EAGAIN ? 0 : -1;
	}
	if (zmq_msg_more(&msg)) {
		log_warnx("dropping a multi-frame message from the controller");
		zmq_msg_close(&msg);
		return 0;
	}
	*env = codec_decode_peer(zmq_msg_data(&msg), zmq_msg_size(&msg), &peer, err,
				 sizeof(err));
	zmq_msg_close(&msg);
	if (!*env && peer.version_refused) {
		protocol_mismatch(l, &peer);
		return 0;
	}
	if (!*env) {
		log_warnx("dropping a malformed message from the controller: %s", err);
		return 0;
	}
	if (!protocol_accepted(l, *env, &peer)) {
		codec_free(*env);
		*env = NULL;
		return 0;
	}
	l->last_rx_mono = now_mono_ms();
	l->silent = false;
	return 1;
}

void link_hello_unanswered(struct agent_link *l)
{
	if (l->stamp != CORDON_PROTO_VERSION || CORDON_PROTO_MIN < 1)
		return;
	l->stamp = CORDON_PROTO_MIN;
	l->hello_needed = true;
	snprintf(l->detail, sizeof(l->detail), "no answer to a hello in protocol %d; trying "
		 "protocol %d (an older controller?)", CORDON_PROTO_VERSION, CORDON_PROTO_MIN);
	log_warnx("%s", l->detail);
}

void link_handle_monitor(struct agent_link *l)
{
	zmq_msg_t ev, addr;
	uint16_t event = 0;

	zmq_msg_init(&ev);
	zmq_msg_init(&addr);
	if (zmq_msg_recv(&ev, l->monitor, 0) >= 6 && zmq_msg_more(&ev) &&
	    zmq_msg_recv(&addr, l->monitor, 0) >= 0) {
		memcpy(&event, zmq_msg_data(&ev), 2);
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			l->sessions++;
			l->hello_needed = true;
			/* A new session may be a new controller: our own first. */
			l->stamp = CORDON_PROTO_VERSION;
			l->silent = false;
			l->last_rx_mono = now_mono_ms();
			log_info("connected to the controller %s (session %u)", link_endpoint(l),
				 l->sessions);
		} else if (event == ZMQ_EVENT_DISCONNECTED) {
			if (l->state == LINK_UP || l->state == LINK_HELLO_SENT)
				log_warnx("controller link lost; reconnecting");
			/* Not-leader stays until follow.c moves the link. */
			if (l->state != LINK_AUTH_FAILED && l->state != LINK_NOT_LEADER)
				l->state = LINK_CONNECTING;
		} else {
			l->state = LINK_AUTH_FAILED;
			snprintf(l->detail, sizeof(l->detail), "%s",
				 event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ?
				 "the controller refused this host's key (is it in the controller's "
				 "authorized-agents directory?)" :
				 "CURVE handshake failed (wrong controller key?)");
			log_warnx("%s", l->detail);
		}
	}
	zmq_msg_close(&ev);
	zmq_msg_close(&addr);
}

const char *link_state_name(enum link_state s)
{
	switch (s) {
	case LINK_CONNECTING: return "connecting";
	case LINK_HELLO_SENT: return "hello-sent";
	case LINK_UP: return "connected";
	case LINK_REFUSED: return "refused";
	case LINK_AUTH_FAILED: return "auth-failed";
	case LINK_PROTOCOL: return "protocol-mismatch";
	case LINK_NOT_LEADER: return "not-leader";
	}
	return "?";
}

bool link_holds_off(const struct agent_link *l)
{
	return l->state == LINK_REFUSED || l->state == LINK_PROTOCOL ||
	       l->state == LINK_NOT_LEADER;
}
