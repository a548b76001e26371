#include "metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* A scraper that opens many connections or sends nothing must not hold
 * the daemon: few at once, each gone after a few idle seconds. */
#define METRICS_CONNECTIONS 16
#define METRICS_IDLE_S 5

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	struct MHD_Daemon *mhd;
	int epoll_fd;
	metrics_render_fn *render;
	void *ctx;
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = '\0';
	log_warnx("metrics: %s", line);
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result answer_metrics(struct metrics_http *h, struct MHD_Connection *c)
{
	struct MHD_Response *r;
	enum MHD_Result rc;
	size_t len = 0;
	char *body = h->render(h->ctx, &len);

	if (!body)
		return answer(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics could not be read\n");
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* Answered at the first call, with the headers: a GET has no body to wait
 * for, and another method's body is not wanted. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return answer(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
	return answer_metrics(cls, c);
}

/* Our own socket, so that a bind failure says why (MHD would only log). */
static int listen_on(const struct metrics_addr *addr, char *err, size_t errlen)
{
	int one = 1, fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (addr->sa.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)&addr->sa, addr->sa_len) < 0 ||
	    listen(fd, METRICS_CONNECTIONS) < 0) {
		snprintf(err, errlen, "metrics_listen %s: %s", addr->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct MHD_Daemon *mhd_start(struct metrics_http *h, int fd)
{
	/* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no thread,
	 * one epoll descriptor for our loop (select's FD_SETSIZE would
	 * limit the daemon's descriptors to 1024). */
	return MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				on_request, h,
				/* first, or MHD logs the others its own way */
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_S,
				MHD_OPTION_END);
}

struct metrics_http *metrics_http_start(const struct metrics_addr *addr,
					metrics_render_fn *render, void *ctx, char *err,
					size_t errlen)
{
	struct metrics_http *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	int fd;

	if (!h) {
		snprintf(err, errlen, "metrics: out of memory");
		return NULL;
	}
	h->render = render;
	h->ctx = ctx;
	fd = listen_on(addr, err, errlen);
	if (fd < 0) {
		free(h);
		return NULL;
	}
	h->mhd = mhd_start(h, fd);
	info = h->mhd ? MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info || info->epoll_fd < 0) {
		snprintf(err, errlen, "metrics_listen %s: libmicrohttpd did not start", addr->text);
		if (!h->mhd)
			close(fd); /* else MHD_stop_daemon closes it */
		metrics_http_free(h);
		return NULL;
	}
	h->epoll_fd = info->epoll_fd;
	return h;
}

struct metrics_http *metrics_http_serve(const struct metrics_addr *addr,
					metrics_render_fn *render, void *ctx)
{
	struct metrics_http *h;
	char err[512];

	if (!addr->enabled)
		return NULL;
	h = metrics_http_start(addr, render, ctx, err, sizeof(err));
	if (!h)
		log_errorx("%s; serving no metrics", err);
	else
		log_info("metrics on http://%s/metrics", addr->text);
	return h;
}

void metrics_http_free(struct metrics_http *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h);
}

int metrics_http_fd(const struct metrics_http *h)
{
	return h ? h->epoll_fd : -1;
}

long metrics_http_timeout(const struct metrics_http *h, long max_ms)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!h || MHD_get_timeout(h->mhd, &ms) != MHD_YES || ms >= (MHD_UNSIGNED_LONG_LONG)max_ms)
		return max_ms;
	return (long)ms;
}

void metrics_http_run(struct metrics_http *h)
{
	if (h && MHD_run(h->mhd) != MHD_YES)
		log_warnx("metrics: serving HTTP failed");
}
