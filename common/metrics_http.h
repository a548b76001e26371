/* metrics_http.c: GET /metrics over HTTP (libmicrohttpd) inside a
 * daemon's own single-threaded poll loop: MHD runs with no thread of its
 * own; its one epoll descriptor joins the loop's zmq_poll items and
 * metrics_http_run() serves what is ready, so the render callback runs on
 * the loop's thread and may read the daemon's state freely. */
#ifndef CORDON_METRICS_HTTP_H
#define CORDON_METRICS_HTTP_H

#include <stddef.h>

#include "metrics_addr.h"

struct metrics_http;

/* The exposition text, malloc'd (the server frees it), its length in *len;
 * NULL answers 500. */
typedef char *metrics_render_fn(void *ctx, size_t *len);

/* Listens on addr. NULL with the reason in err (the address in use, ...). */
struct metrics_http *metrics_http_start(const struct metrics_addr *addr,
					metrics_render_fn *render, void *ctx, char *err,
					size_t errlen);
/* metrics_http_start for a daemon: NULL when addr is off, and when it
 * cannot be served, logged (enforcement never waits for its dashboard). */
struct metrics_http *metrics_http_serve(const struct metrics_addr *addr,
					metrics_render_fn *render, void *ctx);
void metrics_http_free(struct metrics_http *h);
/* The descriptor to poll for input; -1 for NULL. */
int metrics_http_fd(const struct metrics_http *h);
/* max_ms, or less when MHD has a connection timeout due sooner. */
long metrics_http_timeout(const struct metrics_http *h, long max_ms);
/* Accepts, reads, answers and times out connections: call when the
 * descriptor is readable and when the timeout above has passed. */
void metrics_http_run(struct metrics_http *h);

#endif
