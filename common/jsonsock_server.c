#include "jsonsock_server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jsonsock.h"
#include "log.h"
#include "util.h"

struct jsonsock_conn {
	int fd;                 /* -1: a free slot */
	uid_t uid;
	int role;
	size_t request_max;
	uint64_t deadline_ms;   /* the request's, then the reply's */
	char *in;               /* the request as it arrives */
	size_t in_len, in_cap;
	char *out;              /* non-NULL: the reply being written */
	size_t out_len, out_off;
};

struct jsonsock_listener {
	int fd;
	int role;
	size_t request_max;
	char path[108];
	uint64_t paused_until_ms; /* out of descriptors: not polled before */
};

struct jsonsock_server {
	struct jsonsock_listener lis[JSONSOCK_MAX_LISTENERS];
	size_t n_lis;
	struct jsonsock_conn conns[JSONSOCK_MAX_CONNS];
	size_t n_open;
	/* What each item of the last jsonsock_server_poll_fill is: a listener
	 * (-1 - index) or a client (its index). */
	int polled[JSONSOCK_POLL_MAX];
	/* A descriptor kept free for an operator when the process runs out. */
	int spare_fd;
	struct log_limit accept_log, full_log, drop_log;
	const char *what;        /* "control socket", for the logs */
	jsonsock_serve_fn serve;
	void *ctx;
};

static int spare_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

struct jsonsock_server *jsonsock_server_new(const char *what, jsonsock_serve_fn serve, void *ctx)
{
	struct jsonsock_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->what = what;
	s->serve = serve;
	s->ctx = ctx;
	for (size_t i = 0; i < JSONSOCK_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->spare_fd = spare_open();
	return s;
}

static void conn_close(struct jsonsock_server *s, struct jsonsock_conn *c)
{
	bool big = c->out_len > JSONSOCK_TRIM_AFTER;

	close(c->fd);
	free(c->in);
	free(c->out);
	/* A big reply's tree and text were freed into the heap, not given
	 * back: `vms --json` at 20,000 VMs left cordond at 128 MiB. */
	if (big)
		malloc_trim(0);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	s->n_open--;
	/* A descriptor is free again: keep one for the next operator first,
	 * then let the listeners try again. */
	if (s->spare_fd < 0)
		s->spare_fd = spare_open();
	for (size_t i = 0; i < s->n_lis; i++)
		s->lis[i].paused_until_ms = 0;
}

void jsonsock_server_free(struct jsonsock_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < JSONSOCK_MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, &s->conns[i]);
	for (size_t i = 0; i < s->n_lis; i++) {
		close(s->lis[i].fd);
		unlink(s->lis[i].path);
	}
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
}

int jsonsock_server_add(struct jsonsock_server *s, int fd, const char *path, int role,
			size_t request_max)
{
	struct jsonsock_listener *l;

	if (s->n_lis == JSONSOCK_MAX_LISTENERS)
		return -1;
	l = &s->lis[s->n_lis];
	if (strlcpy_checked(l->path, path, sizeof(l->path)) < 0)
		return -1;
	l->fd = fd;
	l->role = role;
	l->request_max = request_max ? request_max : JSONSOCK_REQUEST_MAX;
	s->n_lis++;
	return 0;
}

size_t jsonsock_server_poll_fill(struct jsonsock_server *s, zmq_pollitem_t *items)
{
	uint64_t now = now_mono_ms();
	size_t n = 0;

	for (size_t i = 0; i < s->n_lis && s->n_open < JSONSOCK_MAX_CONNS; i++) {
		if (now < s->lis[i].paused_until_ms)
			continue;
		items[n] = (zmq_pollitem_t){ NULL, s->lis[i].fd, ZMQ_POLLIN, 0 };
		s->polled[n++] = -1 - (int)i;
	}
	for (size_t i = 0; i < JSONSOCK_MAX_CONNS; i++) {
		struct jsonsock_conn *c = &s->conns[i];
		if (c->fd < 0)
			continue;
		items[n] = (zmq_pollitem_t){ NULL, c->fd, c->out ? ZMQ_POLLOUT : ZMQ_POLLIN, 0 };
		s->polled[n++] = (int)i;
	}
	return n;
}

/* Sends what the socket takes now; closes the client once all is sent or
 * it went away. */
static void conn_write(struct jsonsock_server *s, struct jsonsock_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			log_debug("%s: uid %u went away before its reply was sent",
				  s->what, (unsigned)c->uid);
			break;
		}
		c->out_off += (size_t)n;
	}
	conn_close(s, c);
}

/* Takes reply (stolen) as the client's answer and starts sending it. */
static void conn_reply(struct jsonsock_server *s, struct jsonsock_conn *c, json_t *reply)
{
	c->out = reply ? jsonsock_encode(reply, &c->out_len) : NULL;
	json_decref(reply);
	free(c->in);
	c->in = NULL;
	if (!c->out) {
		log_warnx("%s: no reply for uid %u (out of memory)", s->what, (unsigned)c->uid);
		conn_close(s, c);
		return;
	}
	c->deadline_ms = now_mono_ms() + JSONSOCK_REPLY_MS;
	conn_write(s, c);
}

static void conn_serve(struct jsonsock_server *s, struct jsonsock_conn *c)
{
	json_error_t jerr;
	json_t *req, *reply;
	uint64_t t0 = now_mono_ms();

	c->in[c->in_len] = '\0';
	req = json_loads(c->in, JSON_DISABLE_EOF_CHECK, &jerr);
	reply = req ? s->serve(s->ctx, req, c->uid, c->role) :
		      json_pack("{s:b, s:s++}", "ok", 0, "error", "malformed JSON: ", jerr.text);
	log_debug("%s: %s from uid %u took %llu ms", s->what,
		  req ? json_string_value(json_object_get(req, "cmd")) : "(bad request)",
		  (unsigned)c->uid, (unsigned long long)(now_mono_ms() - t0));
	json_decref(req);
	conn_reply(s, c, reply);
}

/* Room for one more read; -1 when the request would exceed the cap. */
static int conn_grow(struct jsonsock_conn *c)
{
	char *grown;
	size_t cap;

	if (c->in_len + 1 < c->in_cap)
		return 0;
	if (c->in_cap > c->request_max)
		return -1;
	cap = c->in_cap ? c->in_cap * 2 : 4096;
	if (cap > c->request_max + 2)
		cap = c->request_max + 2;
	grown = realloc(c->in, cap);
	if (!grown)
		return -1;
	c->in = grown;
	c->in_cap = cap;
	return 0;
}

/* Reads what is there; serves the request once its line is complete. */
static void conn_read(struct jsonsock_server *s, struct jsonsock_conn *c)
{
	for (;;) {
		if (conn_grow(c) < 0) {
			conn_reply(s, c, json_pack("{s:b, s:s}", "ok", 0, "error",
						   "request larger than 1 MiB"));
			return;
		}
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			log_debug("%s: uid %u closed before sending a whole request", s->what,
				  (unsigned)c->uid);
			conn_close(s, c);
			return;
		}
		c->in_len += (size_t)n;
		if (memchr(c->in + c->in_len - (size_t)n, '\n', (size_t)n)) {
			conn_serve(s, c);
			return;
		}
	}
}

static struct jsonsock_conn *conn_slot(struct jsonsock_server *s)
{
	for (size_t i = 0; i < JSONSOCK_MAX_CONNS; i++)
		if (s->conns[i].fd < 0)
			return &s->conns[i];
	return NULL;
}

static void conn_open(struct jsonsock_server *s, struct jsonsock_listener *l, int fd)
{
	struct jsonsock_conn *c = conn_slot(s);

	if (!c || jsonsock_peer_uid(fd, &c->uid) < 0) {
		log_limited(&s->accept_log, LOG_LVL_WARN, errno,
			    "%s: client refused (no slot or no peer credentials)", s->what);
		close(fd);
		return;
	}
	c->fd = fd;
	c->role = l->role;
	c->request_max = l->request_max;
	c->deadline_ms = now_mono_ms() + JSONSOCK_REQUEST_MS;
	s->n_open++;
}

/* Out of descriptors: the spare one makes room for this one client, so an
 * operator gets through a flood; the listener then rests a while instead
 * of being polled (and failing) in a loop. */
static int accept_failed(struct jsonsock_server *s, struct jsonsock_listener *l, int err)
{
	int fd = -1;

	if ((err == EMFILE || err == ENFILE) && s->spare_fd >= 0) {
		close(s->spare_fd);
		s->spare_fd = -1;
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	}
	l->paused_until_ms = now_mono_ms() + JSONSOCK_ACCEPT_RETRY_MS;
	log_limited(&s->accept_log, LOG_LVL_WARN, err,
		    "%s %s: cannot accept; retrying in %d ms or when a client closes", s->what,
		    l->path, JSONSOCK_ACCEPT_RETRY_MS);
	return fd;
}

static void listener_accept(struct jsonsock_server *s, struct jsonsock_listener *l)
{
	while (s->n_open < JSONSOCK_MAX_CONNS) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0 && (errno == EAGAIN || errno == ECONNABORTED))
			return;
		if (fd < 0)
			fd = accept_failed(s, l, errno);
		if (fd < 0)
			return;
		conn_open(s, l, fd);
	}
	log_limited(&s->full_log, LOG_LVL_WARN, 0,
		    "%s: %d clients connected; the others wait until one is done", s->what,
		    JSONSOCK_MAX_CONNS);
}

static void expire(struct jsonsock_server *s)
{
	uint64_t now = now_mono_ms();

	for (size_t i = 0; i < JSONSOCK_MAX_CONNS; i++) {
		struct jsonsock_conn *c = &s->conns[i];
		if (c->fd < 0 || now < c->deadline_ms)
			continue;
		log_limited(&s->drop_log, LOG_LVL_WARN, 0,
			    "%s: closed uid %u's connection: %s within %d ms",
			    s->what, (unsigned)c->uid, c->out ? "reply not taken" : "no whole request",
			    c->out ? JSONSOCK_REPLY_MS : JSONSOCK_REQUEST_MS);
		conn_close(s, c);
	}
	if (s->spare_fd < 0) /* given up for an accept that then failed */
		s->spare_fd = spare_open();
	log_limit_flush(&s->accept_log);
	log_limit_flush(&s->full_log);
	log_limit_flush(&s->drop_log);
}

void jsonsock_server_poll_handle(struct jsonsock_server *s, const zmq_pollitem_t *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = s->polled[i];
		if (!items[i].revents)
			continue;
		if (k < 0) {
			listener_accept(s, &s->lis[-1 - k]);
			continue;
		}
		struct jsonsock_conn *c = &s->conns[k];
		if (c->fd < 0 || c->fd != items[i].fd)
			continue; /* closed meanwhile; its slot may be someone else's */
		if (c->out)
			conn_write(s, c);
		else
			conn_read(s, c);
	}
	expire(s);
}
