/* virt.c: the host's VMs from libvirt, kept current by libvirt's events.
 *
 * Threads. Every libvirt call of the inventory path is made by a reader
 * thread of ours, so a hung (not dead) libvirtd stalls that thread only,
 * never the main loop (nft re-assertion, the controller link, status):
 *
 *   libvirt event loop thread       reader thread              main thread
 *   - domain events, close     ->   - connects (backoff),  ->  - takes the newest
 *     callback: flags + signal        reads every domain         read (eventfd),
 *                                     (virt_read.c) when due,    adds the held
 *                                     publishes the result       interfaces
 *
 * The lock guards the schedule (what is due when), the published result
 * and the status fields; it is never held across a libvirt call (the
 * event thread's callbacks take it). Only the reader touches conn.
 *
 * Failing closed: if libvirtd goes away or a read fails half way, nothing
 * is published and the main thread keeps its last good inventory. */
#include "virt.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "virt_read.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000    /* a restarted libvirtd is found within 2 s */
#define SETTLE_MS 20           /* after the first event: let a burst arrive */
#define COALESCE_MS 100        /* at most one re-read per this */
#define RETRY_READ_MS 1000     /* a read failed on a live connection */
#define RESYNC_MS 60000        /* re-read anyway: lease/ARP addresses change */
#define KEEPALIVE_S 5          /* a hung libvirtd is dropped after ~20 s */
#define KEEPALIVE_COUNT 3
#define STOP_WAIT_MS 2000      /* virt_free: for the reader's current read */

enum { EV_LIFECYCLE, EV_DEVICE_ADDED, EV_DEVICE_REMOVED, EV_METADATA, EV_COUNT };

enum work { WORK_QUIT, WORK_CHECK_LOST, WORK_CONNECT, WORK_READ };

struct virt {
	char uri[1024];
	const struct agent_config *cfg;
	int efd;                  /* reader -> main: a result is published */
	pthread_t ev_thread, rd_thread;
	bool ev_running, rd_running;
	atomic_bool ev_quit;
	atomic_uint events;       /* domain events seen, for status */
	/* reader thread only */
	virConnectPtr conn;
	int cb_ids[EV_COUNT];
	bool close_cb, failing;
	/* lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* wakes the reader; main waits on it at start */
	bool quit, lost, connected;
	bool reload_pending;
	uint64_t reload_due, last_read, next_connect, backoff_ms;
	unsigned attempts;        /* connects failed + reads done or failed */
	struct inventory fresh;   /* published, not taken yet (if fresh_ready) */
	struct dom_xml *fresh_xmls;
	size_t fresh_n;
	bool fresh_ready;
	unsigned connects;
	size_t domains;
	int64_t connected_since, last_read_wall;
	char last_error[512];
	/* main thread only: the domain XML of the last read taken */
	struct dom_xml *xmls;
	size_t n_xmls;
};

/* ------------------------------------------------------ event thread side */

/* Schedules a read at `due` unless one is due sooner. Lock held. */
static void reload_at(struct virt *v, uint64_t due)
{
	if (v->reload_pending && v->reload_due <= due)
		return;
	v->reload_pending = true;
	v->reload_due = due;
}

/* A domain changed: read again soon, bursts coalesced. */
static void domain_event(struct virt *v)
{
	uint64_t due = now_mono_ms() + SETTLE_MS;

	atomic_fetch_add(&v->events, 1);
	pthread_mutex_lock(&v->lock);
	if (due < v->last_read + COALESCE_MS)
		due = v->last_read + COALESCE_MS;
	if (v->connected)
		reload_at(v, due);
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
	(void)c;
	log_debug("libvirt: domain %s: lifecycle event %d/%d", virDomainGetName(d), event, detail);
	domain_event(opaque);
	return 0;
}

static void on_device(virConnectPtr c, virDomainPtr d, const char *alias, void *opaque)
{
	(void)c;
	log_debug("libvirt: domain %s: device %s added or removed", virDomainGetName(d), alias);
	domain_event(opaque);
}

static void on_metadata(virConnectPtr c, virDomainPtr d, int type, const char *nsuri,
			void *opaque)
{
	(void)c;
	(void)type;
	log_debug("libvirt: domain %s: metadata %s changed", virDomainGetName(d),
		  nsuri ? nsuri : "-");
	domain_event(opaque);
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	struct virt *v = opaque;

	(void)c;
	log_debug("libvirt: connection closed (reason %d)", reason);
	pthread_mutex_lock(&v->lock);
	v->lost = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

static void *event_thread(void *arg)
{
	struct virt *v = arg;

	while (!atomic_load(&v->ev_quit))
		if (virEventRunDefaultImpl() < 0) {
			log_warnx("libvirt event loop: %s", virGetLastErrorMessage());
			usleep(100000); /* do not spin on a persistent failure */
		}
	return NULL;
}

static void wake_loop(int timer, void *opaque)
{
	(void)opaque;
	if (virEventRemoveTimeout(timer) < 0)
		log_debug("libvirt: cannot remove the wake-up timeout");
}

static void stop_event_thread(struct virt *v)
{
	int rc;

	if (!v->ev_running)
		return;
	atomic_store(&v->ev_quit, true);
	/* A zero timeout makes virEventRunDefaultImpl return; quit is then seen. */
	if (virEventAddTimeout(0, wake_loop, NULL, NULL) < 0) {
		log_warnx("cannot wake libvirt's event loop; leaving its thread");
		return;
	}
	if ((rc = pthread_join(v->ev_thread, NULL)) != 0)
		log_warnx("joining libvirt's event thread: %s", strerror(rc));
	v->ev_running = false;
}

/* ------------------------------------------------- connection (reader) */

/* libvirt prints every error on stderr by default; we log our own. */
static void quiet_error(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static int libvirt_init(char *err, size_t errlen)
{
	static bool done;

	if (done)
		return 0;
	xmlInitParser();
	if (virInitialize() < 0) {
		snprintf(err, errlen, "libvirt: cannot initialise: %s", virGetLastErrorMessage());
		return -1;
	}
	virSetErrorFunc(NULL, quiet_error);
	/* Must precede the first connection: remote events need a loop. */
	if (virEventRegisterDefaultImpl() < 0) {
		snprintf(err, errlen, "libvirt: no event loop: %s", virGetLastErrorMessage());
		return -1;
	}
	done = true;
	return 0;
}

static void unregister_callbacks(struct virt *v, virConnectPtr c)
{
	for (int i = 0; i < EV_COUNT; i++) {
		if (v->cb_ids[i] >= 0 && virConnectDomainEventDeregisterAny(c, v->cb_ids[i]) < 0)
			log_debug("libvirt: deregistering event %d: %s", i, virGetLastErrorMessage());
		v->cb_ids[i] = -1;
	}
	if (v->close_cb && virConnectUnregisterCloseCallback(c, on_close) < 0)
		log_debug("libvirt: unregistering close callback: %s", virGetLastErrorMessage());
	v->close_cb = false;
}

static int register_callbacks(struct virt *v, virConnectPtr c)
{
	static const int ids[EV_COUNT] = {
		VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
		VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
	};
	const virConnectDomainEventGenericCallback cbs[EV_COUNT] = {
		VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), VIR_DOMAIN_EVENT_CALLBACK(on_device),
		VIR_DOMAIN_EVENT_CALLBACK(on_device), VIR_DOMAIN_EVENT_CALLBACK(on_metadata),
	};

	/* Close callback first: a connection lost from here on is noticed. */
	if (virConnectRegisterCloseCallback(c, on_close, v, NULL) < 0)
		return -1;
	v->close_cb = true;
	for (int i = 0; i < EV_COUNT; i++) {
		v->cb_ids[i] = virConnectDomainEventRegisterAny(c, NULL, ids[i], cbs[i], v, NULL);
		if (v->cb_ids[i] < 0)
			return -1;
	}
	return 0;
}

static void connect_failed(struct virt *v, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", what, virGetLastErrorMessage());
	if (!v->failing)
		log_warnx("libvirt %s: %s; retrying (up to every %d ms)", v->uri, msg,
			  BACKOFF_MAX_MS);
	else
		log_debug("libvirt %s: %s", v->uri, msg);
	v->failing = true;
	pthread_mutex_lock(&v->lock);
	snprintf(v->last_error, sizeof(v->last_error), "%s", msg);
	v->next_connect = now_mono_ms() + v->backoff_ms;
	v->backoff_ms = v->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : v->backoff_ms * 2;
	v->attempts++;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

static void virt_connect(struct virt *v)
{
	virConnectPtr c = virConnectOpen(v->uri);
	bool again;

	if (!c)
		return connect_failed(v, "cannot connect");
	/* Without keepalive a hung (not dead) libvirtd is never noticed. */
	if (virConnectSetKeepAlive(c, KEEPALIVE_S, KEEPALIVE_COUNT) < 0)
		log_debug("libvirt: no keepalive: %s", virGetLastErrorMessage());
	if (register_callbacks(v, c) < 0) {
		connect_failed(v, "cannot register for events");
		unregister_callbacks(v, c);
		if (virConnectClose(c) < 0)
			log_debug("libvirt: close: %s", virGetLastErrorMessage());
		return;
	}
	v->conn = c;
	v->failing = false;
	pthread_mutex_lock(&v->lock);
	v->connected = true;
	again = v->connects++ > 0;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->connected_since = (int64_t)(now_wall_ms() / 1000);
	/* Whatever happened while we were away: read everything now. */
	reload_at(v, now_mono_ms());
	pthread_mutex_unlock(&v->lock);
	log_info("libvirt %s: connected%s", v->uri, again ? " again" : "");
}

static void disconnect(struct virt *v, const char *why)
{
	size_t domains;

	if (!v->conn)
		return;
	unregister_callbacks(v, v->conn);
	if (virConnectClose(v->conn) < 0)
		log_debug("libvirt: close: %s", virGetLastErrorMessage());
	v->conn = NULL;
	pthread_mutex_lock(&v->lock);
	snprintf(v->last_error, sizeof(v->last_error), "%s", why);
	v->connected = false;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->next_connect = now_mono_ms() + BACKOFF_MIN_MS;
	v->reload_pending = false;
	domains = v->domains;
	pthread_mutex_unlock(&v->lock);
	log_warnx("libvirt %s: %s; keeping the last inventory (%zu VM(s)), reconnecting",
		  v->uri, why, domains);
}

/* ------------------------------------------------------ reads (reader) */

/* Hands a complete read to the main thread (an untaken one is replaced). */
static void publish(struct virt *v, struct inventory *inv, struct dom_xml *xmls, size_t n)
{
	uint64_t one = 1;

	pthread_mutex_lock(&v->lock);
	if (v->fresh_ready) {
		inventory_clear(&v->fresh);
		dom_xmls_free(v->fresh_xmls, v->fresh_n);
	}
	v->fresh = *inv;
	v->fresh_xmls = xmls;
	v->fresh_n = n;
	v->fresh_ready = true;
	v->domains = inv->n;
	v->last_read_wall = (int64_t)(now_wall_ms() / 1000);
	v->attempts++;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (write(v->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("libvirt: writing the event fd: %s", strerror(errno));
}

static void read_failed(struct virt *v, const char *why)
{
	bool alive = virConnectIsAlive(v->conn) == 1;

	log_warnx("libvirt %s: %s; keeping the last inventory", v->uri, why);
	if (!alive)
		disconnect(v, why);
	pthread_mutex_lock(&v->lock);
	snprintf(v->last_error, sizeof(v->last_error), "%s", why);
	if (alive)
		reload_at(v, now_mono_ms() + RETRY_READ_MS);
	v->attempts++;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

static void read_now(struct virt *v)
{
	struct inventory inv = { 0 };
	struct dom_xml *xmls = NULL;
	size_t n = 0;
	char why[512];
	/* When it began: what changed after may be missing from it. */
	uint64_t began = now_mono_ms();

	if (virt_read_domains(v->conn, v->cfg, &inv, &xmls, &n, why, sizeof(why)) < 0)
		return read_failed(v, why);
	inv.read_ms = began;
	publish(v, &inv, xmls, n);
}

/* ------------------------------------------------------ reader schedule */

static void deadline(struct timespec *ts, uint64_t due_ms)
{
	uint64_t now = now_mono_ms(), wait = due_ms > now ? due_ms - now : 0;

	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(wait / 1000);
	ts->tv_nsec += (long)(wait % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits for what is due next. Lock held. */
static enum work next_work(struct virt *v)
{
	for (;;) {
		uint64_t now = now_mono_ms(), due;
		struct timespec ts;

		if (v->quit)
			return WORK_QUIT;
		if (v->lost) {
			v->lost = false;
			return WORK_CHECK_LOST;
		}
		if (!v->connected) {
			if (now >= v->next_connect)
				return WORK_CONNECT;
			due = v->next_connect;
		} else {
			if (!v->reload_pending && now - v->last_read >= RESYNC_MS)
				reload_at(v, now);
			if (v->reload_pending && now >= v->reload_due) {
				v->reload_pending = false;
				v->last_read = now;
				return WORK_READ;
			}
			due = v->reload_pending ? v->reload_due : v->last_read + RESYNC_MS;
		}
		deadline(&ts, due);
		pthread_cond_timedwait(&v->cond, &v->lock, &ts);
	}
}

static void *reader_thread(void *arg)
{
	struct virt *v = arg;

	for (;;) {
		enum work w;

		pthread_mutex_lock(&v->lock);
		w = next_work(v);
		pthread_mutex_unlock(&v->lock);
		if (w == WORK_QUIT)
			break;
		if (w == WORK_CHECK_LOST && v->conn && virConnectIsAlive(v->conn) != 1)
			disconnect(v, "libvirtd closed the connection");
		else if (w == WORK_CONNECT)
			virt_connect(v);
		else if (w == WORK_READ && v->conn)
			read_now(v);
	}
	if (v->conn) {
		unregister_callbacks(v, v->conn);
		if (virConnectClose(v->conn) < 0)
			log_debug("libvirt: close: %s", virGetLastErrorMessage());
		v->conn = NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------ main side */

static struct virt *virt_alloc(const char *uri, const struct agent_config *cfg, char *err,
			       size_t errlen)
{
	struct virt *v = calloc(1, sizeof(*v));
	pthread_condattr_t ca;

	if (!v || strlcpy_checked(v->uri, uri, sizeof(v->uri)) < 0) {
		snprintf(err, errlen, "libvirt: out of memory or URI too long");
		free(v);
		return NULL;
	}
	v->cfg = cfg;
	for (int i = 0; i < EV_COUNT; i++)
		v->cb_ids[i] = -1;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->efd < 0 || pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&v->cond, &ca) != 0 || pthread_mutex_init(&v->lock, NULL) != 0) {
		snprintf(err, errlen, "libvirt: eventfd or thread sync: %s", strerror(errno));
		if (v->efd >= 0)
			close(v->efd);
		free(v);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	return v;
}

struct virt *virt_new(const char *uri, const struct agent_config *cfg, char *err,
		      size_t errlen)
{
	struct virt *v;
	int rc;

	if (libvirt_init(err, errlen) < 0 || !(v = virt_alloc(uri, cfg, err, errlen)))
		return NULL;
	if ((rc = pthread_create(&v->ev_thread, NULL, event_thread, v)) != 0) {
		snprintf(err, errlen, "libvirt: event thread: %s", strerror(rc));
		virt_free(v);
		return NULL;
	}
	v->ev_running = true;
	if ((rc = pthread_create(&v->rd_thread, NULL, reader_thread, v)) != 0) {
		snprintf(err, errlen, "libvirt: reader thread: %s", strerror(rc));
		virt_free(v);
		return NULL;
	}
	v->rd_running = true;
	return v;
}

void virt_free(struct virt *v)
{
	if (!v)
		return;
	if (v->rd_running) {
		pthread_mutex_lock(&v->lock);
		v->quit = true;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
		/* It stops after its current call. One stuck on a hung libvirtd
		 * is left with what it uses: only the exiting process frees. */
		if (!thread_join_within(v->rd_thread, STOP_WAIT_MS)) {
			log_warnx("libvirt reader stuck in a call to libvirtd; leaving it");
			return;
		}
	}
	stop_event_thread(v);
	if (v->fresh_ready)
		inventory_clear(&v->fresh);
	dom_xmls_free(v->fresh_xmls, v->fresh_n);
	dom_xmls_free(v->xmls, v->n_xmls);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	close(v->efd);
	free(v);
}

int virt_event_fd(const struct virt *v)
{
	return v->efd;
}

bool virt_wait_first(struct virt *v, long timeout_ms, char *err, size_t errlen)
{
	struct timespec ts;
	bool ready;

	deadline(&ts, now_mono_ms() + (uint64_t)timeout_ms);
	pthread_mutex_lock(&v->lock);
	while (!v->fresh_ready && v->attempts == 0)
		if (pthread_cond_timedwait(&v->cond, &v->lock, &ts) == ETIMEDOUT)
			break;
	ready = v->fresh_ready;
	if (!ready)
		snprintf(err, errlen, "libvirt %.200s: %s", v->uri,
			 v->last_error[0] ? v->last_error : "no answer");
	pthread_mutex_unlock(&v->lock);
	return ready;
}

int virt_take_inventory(struct virt *v, struct agent_state *held, struct inventory *out)
{
	uint64_t n;
	bool ready;

	if (read(v->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("libvirt: reading the event fd: %s", strerror(errno));
	pthread_mutex_lock(&v->lock);
	ready = v->fresh_ready;
	if (ready) {
		inventory_clear(out);
		*out = v->fresh;
		v->fresh = (struct inventory){ 0 };
		dom_xmls_free(v->xmls, v->n_xmls);
		v->xmls = v->fresh_xmls;
		v->n_xmls = v->fresh_n;
		v->fresh_xmls = NULL;
		v->fresh_n = 0;
		v->fresh_ready = false;
	}
	pthread_mutex_unlock(&v->lock);
	if (ready)
		virt_add_held(v->cfg, held, out, v->xmls, v->n_xmls);
	return ready;
}

void virt_request_reload(struct virt *v)
{
	uint64_t now = now_mono_ms();

	pthread_mutex_lock(&v->lock);
	if (v->connected) {
		reload_at(v, now);
	} else {
		/* Also a lost connection is retried now. */
		v->next_connect = now;
		v->backoff_ms = BACKOFF_MIN_MS;
	}
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

char *virt_iface_xml(const struct virt *v, const char *uuid, const struct mac *mac)
{
	return dom_xml_iface(v->xmls, v->n_xmls, uuid, mac);
}

json_t *virt_status(const struct virt *v)
{
	struct virt *m = (struct virt *)v;
	json_t *o;

	pthread_mutex_lock(&m->lock);
	o = json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I}", "uri", v->uri,
		      "connected", v->connected, "last_error", v->last_error,
		      "domains", (json_int_t)v->domains,
		      "reconnects", (json_int_t)(v->connects ? v->connects - 1 : 0),
		      "connected_since", (json_int_t)(v->connected ? v->connected_since : 0),
		      "last_read", (json_int_t)v->last_read_wall,
		      "events", (json_int_t)atomic_load(&v->events));
	pthread_mutex_unlock(&m->lock);
	return o;
}
