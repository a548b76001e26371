#include "transport.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "agent_keys.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* Peer addresses of open TCP connections, by file descriptor, so that a
 * connection dropped before or during the handshake (garbage, port scans,
 * wrong keys) can be logged with where it came from. */
#define CONN_SLOTS 256

struct conn_slot {
	int fd;
	char peer[64];
};

struct ctl_transport {
	void *zctx, *router, *zap, *monitor;
	struct conn_slot conns[CONN_SLOTS];
	struct authorized_key *keys;
	size_t n_keys;
	/* A flood of junk connections must not become a flood of lines. */
	struct log_limit conn_log, handshake_log, zap_log;
};

static int set_int(void *sock, int opt, int value)
{
	return zmq_setsockopt(sock, opt, &value, sizeof(value));
}

int ctl_transport_load_keys(struct ctl_transport *t, const char *dir,
			    char *err, size_t errlen)
{
	struct authorized_key *keys;
	ssize_t n = agent_keys_load(dir, &keys, err, errlen);

	if (n < 0)
		return -1;
	free(t->keys);
	t->keys = keys;
	t->n_keys = (size_t)n;
	log_info("%zu authorized agent key(s) from %s", t->n_keys, dir);
	return (int)n;
}

static int open_router(struct ctl_transport *t, const struct ctl_config *cfg,
		       char *err, size_t errlen)
{
	struct keypair kp;
	int64_t maxmsg = CORDON_MAX_MSG;

	if (keys_load(cfg->key, &kp, err, errlen) < 0)
		return -1;
	if (!kp.secret_z85[0]) {
		snprintf(err, errlen, "%s holds no secret key (use the _secret file)", cfg->key);
		return -1;
	}
	t->router = zmq_socket(t->zctx, ZMQ_ROUTER);
	if (!t->router || set_int(t->router, ZMQ_CURVE_SERVER, 1) < 0 ||
	    zmq_setsockopt(t->router, ZMQ_CURVE_SECRETKEY, kp.secret_z85, KEY_Z85_LEN) < 0 ||
	    zmq_setsockopt(t->router, ZMQ_ZAP_DOMAIN, "cordon", 6) < 0 ||
	    zmq_setsockopt(t->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0 ||
	    set_int(t->router, ZMQ_LINGER, 0) < 0 ||
	    set_int(t->router, ZMQ_HEARTBEAT_IVL, 2000) < 0 ||
	    set_int(t->router, ZMQ_HEARTBEAT_TIMEOUT, 6000) < 0 ||
	    set_int(t->router, ZMQ_HANDSHAKE_IVL, (int)cfg->handshake_ms) < 0) {
		snprintf(err, errlen, "cannot set up the agent socket: %s", zmq_strerror(errno));
		return -1;
	}
	memset(kp.secret_z85, 0, sizeof(kp.secret_z85));
	if (zmq_socket_monitor(t->router, "inproc://cordon-router-monitor",
			       ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
			       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
			       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
			       ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) < 0)
		return -1;
	t->monitor = zmq_socket(t->zctx, ZMQ_PAIR);
	if (!t->monitor || zmq_connect(t->monitor, "inproc://cordon-router-monitor") < 0)
		return -1;
	if (zmq_bind(t->router, cfg->listen) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen, zmq_strerror(errno));
		return -1;
	}
	return 0;
}

struct ctl_transport *ctl_transport_new_unbound(char *err, size_t errlen)
{
	struct ctl_transport *t = calloc(1, sizeof(*t));

	if (!t)
		snprintf(err, errlen, "out of memory");
	return t;
}

struct ctl_transport *ctl_transport_new(const struct ctl_config *cfg,
					char *err, size_t errlen)
{
	struct ctl_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->zctx = zmq_ctx_new();
	/* ZAP must be bound before the first CURVE handshake can happen. */
	t->zap = t->zctx ? zmq_socket(t->zctx, ZMQ_REP) : NULL;
	if (!t->zap || set_int(t->zap, ZMQ_LINGER, 0) < 0 ||
	    zmq_bind(t->zap, "inproc://zeromq.zap.01") < 0) {
		snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(errno));
		goto fail;
	}
	if (ctl_transport_load_keys(t, cfg->authorized_agents, err, errlen) < 0)
		goto fail;
	if (open_router(t, cfg, err, errlen) < 0)
		goto fail;
	return t;
fail:
	if (!err[0])
		snprintf(err, errlen, "transport: %s", zmq_strerror(errno));
	ctl_transport_free(t);
	return NULL;
}

void ctl_transport_free(struct ctl_transport *t)
{
	if (!t)
		return;
	if (t->router)
		zmq_close(t->router);
	if (t->monitor)
		zmq_close(t->monitor);
	if (t->zap)
		zmq_close(t->zap);
	if (t->zctx)
		zmq_ctx_term(t->zctx);
	free(t->keys);
	free(t);
}

void *ctl_transport_router(struct ctl_transport *t) { return t->router; }
void *ctl_transport_zap(struct ctl_transport *t) { return t->zap; }
void *ctl_transport_monitor(struct ctl_transport *t) { return t->monitor; }

/* ZAP (RFC 27): frames version, request id, domain, address, identity,
 * mechanism, then the CURVE client key (32 bytes). */
#define ZAP_FRAMES 7

static const struct authorized_key *key_lookup(struct ctl_transport *t,
					       const uint8_t key[32])
{
	char z85[KEY_Z85_LEN + 1];

	if (!zmq_z85_encode(z85, key, 32))
		return NULL;
	for (size_t i = 0; i < t->n_keys; i++)
		if (strcmp(t->keys[i].public_z85, z85) == 0)
			return &t->keys[i];
	return NULL;
}

/* 1 a request read, 0 none waiting, -1 failed. */
static int zap_read(void *sock, zmq_msg_t frames[ZAP_FRAMES], int *n)
{
	int more = 1;

	*n = 0;
	while (more) {
		zmq_msg_t junk, *m = *n < ZAP_FRAMES ? &frames[*n] : &junk;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, *n ? 0 : ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(m);
			for (int i = 0; i < *n; i++)
				zmq_msg_close(&frames[i]);
			return *n == 0 && errno == EAGAIN ? 0 : -1;
		}
		more = zmq_msg_more(m);
		if (m == &junk)
			zmq_msg_close(m);
		else
			(*n)++;
	}
	return 1;
}

static void zap_reply(void *sock, zmq_msg_t *reqid, const char *code,
		      const char *text, const char *user)
{
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(sock, zmq_msg_data(reqid), zmq_msg_size(reqid), ZMQ_SNDMORE);
	zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

/* 1 a request answered, 0 none waiting, -1 failed. */
static int zap_answer_one(struct ctl_transport *t)
{
	zmq_msg_t f[ZAP_FRAMES];
	const struct authorized_key *key = NULL;
	char addr[64] = "?";
	int n, rc = zap_read(t->zap, f, &n);

	if (rc <= 0)
		return rc;
	if (n == ZAP_FRAMES && zmq_msg_size(&f[5]) == 5 &&
	    memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&f[6]) == 32)
		key = key_lookup(t, zmq_msg_data(&f[6]));
	if (n >= 4 && zmq_msg_size(&f[3]) < sizeof(addr)) {
		memcpy(addr, zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
		addr[zmq_msg_size(&f[3])] = '\0';
	}
	if (n >= 2) {
		if (key) {
			log_debug("agent key for host %s accepted from %s", key->host_id, addr);
			zap_reply(t->zap, &f[1], "200", "OK", key->host_id);
		} else {
			log_limited(&t->zap_log, LOG_LVL_WARN, 0, "refused a connection from %s:"
				    " key not in the authorized agents directory", addr);
			zap_reply(t->zap, &f[1], "400", "key not authorized", "");
		}
	}
	for (int i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
	return 1;
}

/* Every request waiting, not one per turn of the loop: a turn can hold a
 * control request (its fsync, a slow client), and each CURVE handshake
 * waits for its reply; one not done within ZMQ_HANDSHAKE_IVL is dropped
 * and started again (test 541). */
void ctl_transport_handle_zap(struct ctl_transport *t)
{
	while (zap_answer_one(t) == 1)
		;
}

static void conn_accepted(struct ctl_transport *t, int fd)
{
	struct conn_slot *slot = &t->conns[(unsigned)fd % CONN_SLOTS];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	slot->fd = fd;
	snprintf(slot->peer, sizeof(slot->peer), "%s:%u", host, port);
	log_limited(&t->conn_log, LOG_LVL_DEBUG, 0, "agent port: connection from %s", slot->peer);
}

static const char *conn_peer(struct ctl_transport *t, int fd)
{
	struct conn_slot *slot = &t->conns[(unsigned)fd % CONN_SLOTS];
	return slot->fd == fd && slot->peer[0] ? slot->peer : "an unknown peer";
}

static void monitor_event(struct ctl_transport *t, uint16_t event, uint32_t value)
{
	switch (event) {
	case ZMQ_EVENT_ACCEPTED:
		conn_accepted(t, (int)value);
		break;
	case ZMQ_EVENT_DISCONNECTED:
		log_limited(&t->conn_log, LOG_LVL_INFO, 0, "agent port: connection from %s closed",
			    conn_peer(t, (int)value));
		t->conns[value % CONN_SLOTS].peer[0] = '\0';
		break;
	default:
		log_limited(&t->handshake_log, LOG_LVL_WARN, 0,
			    "agent port: handshake failed (%s, code %u)",
			    event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "authentication" :
			    event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ?
			    "protocol error: not a cordon agent?" : "connection dropped", value);
	}
}

/* 1 an event read, 0 none waiting, -1 failed. */
static int monitor_read_one(struct ctl_transport *t)
{
	zmq_msg_t ev, addr;
	uint16_t event = 0;
	uint32_t value = 0;
	int rc = -1;

	zmq_msg_init(&ev);
	zmq_msg_init(&addr);
	if (zmq_msg_recv(&ev, t->monitor, ZMQ_DONTWAIT) < 0)
		rc = errno == EAGAIN ? 0 : -1;
	else if (zmq_msg_size(&ev) >= 6 && zmq_msg_more(&ev) &&
		 zmq_msg_recv(&addr, t->monitor, 0) >= 0) {
		memcpy(&event, zmq_msg_data(&ev), 2);
		memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
		monitor_event(t, event, value);
		rc = 1;
	}
	zmq_msg_close(&ev);
	zmq_msg_close(&addr);
	return rc;
}

/* Every event waiting: a reconnecting fleet makes hundreds at once. */
void ctl_transport_handle_monitor(struct ctl_transport *t)
{
	while (monitor_read_one(t) == 1)
		;
}

void ctl_transport_log_flush(struct ctl_transport *t)
{
	log_limit_flush(&t->conn_log);
	log_limit_flush(&t->handshake_log);
	log_limit_flush(&t->zap_log);
}

static void drain_rest(void *sock)
{
	int more = 1;
	size_t len = sizeof(more);

	while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == 0 && more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		zmq_msg_recv(&m, sock, 0);
		zmq_msg_close(&m);
	}
}

/* A compatible peer is answered in the lower of our two versions; one too
 * far gets nothing but Refused, written in its own stamp so that it can
 * read why. */
static void peer_protocol(struct peer *peer, const struct codec_peer *cp)
{
	peer->version = cp->version;
	peer->reply_stamp = codec_version_compatible(cp->version) ?
			    codec_negotiate(cp->version) : cp->stamp;
}

int ctl_transport_recv(struct ctl_transport *t, struct peer *peer,
		       Cordon__Envelope **env)
{
	struct codec_peer cp;
	zmq_msg_t rid, body;
	char err[256];
	const char *user;
	int rc = 0;

	*env = NULL;
	zmq_msg_init(&rid);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&rid, t->router, ZMQ_DONTWAIT) < 0) {
		rc = errno == EAGAIN ? 0 : -1;
		goto out;
	}
	if (!zmq_msg_more(&rid) || zmq_msg_size(&rid) > PEER_ID_MAX ||
	    zmq_msg_recv(&body, t->router, 0) < 0)
		goto out;
	if (zmq_msg_more(&body)) {
		log_warnx("dropping a multi-frame message from an agent");
		drain_rest(t->router);
		goto out;
	}
	memcpy(peer->rid, zmq_msg_data(&rid), zmq_msg_size(&rid));
	peer->rid_len = zmq_msg_size(&rid);
	user = zmq_msg_gets(&body, "User-Id");
	if (!user || strlcpy_checked(peer->host_id, user, sizeof(peer->host_id)) < 0)
		goto out;
	*env = codec_decode_peer(zmq_msg_data(&body), zmq_msg_size(&body), &cp, err,
				 sizeof(err));
	peer_protocol(peer, &cp);
	if (!*env && cp.version_refused)
		rc = CTL_RECV_FAR; /* refused by the caller, visibly */
	else if (!*env)
		log_warnx("dropping a malformed message from host %s: %s", peer->host_id, err);
	else
		rc = 1;
out:
	zmq_msg_close(&rid);
	zmq_msg_close(&body);
	return rc;
}

int ctl_transport_send(struct ctl_transport *t, const struct peer *peer,
		       Cordon__Envelope *env)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (codec_encode_as(env, peer->reply_stamp, &buf, &len) < 0)
		return -1;
	rc = zmq_send(t->router, peer->rid, peer->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	if (rc >= 0)
		rc = zmq_send(t->router, buf, len, ZMQ_DONTWAIT);
	free(buf);
	return rc < 0 ? -1 : 0;
}
