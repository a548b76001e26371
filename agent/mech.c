/* mech.c: the libvirt mechanisms (NIC detach with link-down fallback, power
 * off) that hold behind the nft cut.
 *
 * Why a worker thread: libvirt's detach call itself blocks for up to 5 s
 * when the guest ignores the unplug request (docs/testing-libvirt.md,
 * caveat 1), a shutdown is waited for up to shutdown_timeout_ms, and none
 * of it may stall the main loop (nft re-assertion, the controller link,
 * status). Driving those blocking calls as a non-blocking state machine
 * is not possible (libvirt has no asynchronous detach), so they run in one
 * worker thread with its OWN libvirt connection. The main thread keeps
 * every decision and all of the state:
 *
 *   main (mech_tick)                         worker
 *   - plans from state + inventory           - takes a job from the queue
 *   - saves the interface XML in the state,  - reads the live and
 *     persists, THEN queues the detach         persistent XML itself (never
 *   - records power/autostart, persists,       trusts the plan: restart
 *     then queues the power off                safety), acts, waits, checks
 *   - applies results to the state, saves,   - puts the result on the done
 *     re-acks changed mechanisms               list, writes the eventfd
 *
 * Queue and done list are guarded by one mutex (condvar wakes the worker);
 * results come back through an eventfd polled by main.c. One job per VM at
 * a time, interfaces before power (cut: detach, then power off; restore:
 * re-attach, then power on). A failed job is retried with backoff.
 *
 * Restart safety comes from the state file: an interface is "detaching"
 * from before the detach call until the result is applied, so an agent
 * killed in between finds it at start and detaches again (the worker sees
 * whether the NIC is still there); a held interface whose scope is no
 * longer cut is re-attached only if absent from the live XML (attaching a
 * present NIC fails with "Attempted double use of PCI Address"), else its
 * link is set up; the saved XML is forgotten only after that succeeded. */
#include "mech.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
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

#define POLL_STEP_MS 100
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define KEEPALIVE_S 5
#define KEEPALIVE_COUNT 3
#define STOP_WAIT_MS 6000 /* mech_free: its current call (libvirt waits 5 s for a detach) */
#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

enum job_kind { JOB_DETACH, JOB_RESTORE, JOB_POWER_OFF, JOB_STOP_AGAIN, JOB_POWER_ON };

static const char *const job_names[] = {
	[JOB_DETACH] = "detach", [JOB_RESTORE] = "restore", [JOB_POWER_OFF] = "power-off",
	[JOB_STOP_AGAIN] = "stop-again", [JOB_POWER_ON] = "power-on",
};

struct job {
	struct job *next;
	enum job_kind kind;
	char uuid[65];
	struct mac mac;
	char *xml;               /* RESTORE: the saved <interface> */
	bool power_on, autostart; /* POWER_ON */
	/* results, written by the worker */
	int rc;
	enum held_mech result;   /* DETACH: what holds */
	bool forced;             /* POWER_OFF: destroyed after the timeout */
	bool unplug_asked;       /* DETACH: accepted, never answered by the guest */
	bool by_link;            /* RESTORE: the NIC was there: link set up */
	int domain_id;           /* RESTORE: the running domain's id, or -1 */
	bool gone;               /* the domain is not defined here (any more) */
	uint64_t ms;
	char err[256];
};

struct slot {
	char uuid[65];
	bool busy;
	char what[96];
	uint64_t retry_at;
	unsigned fails;
};

struct mech {
	char uri[1024];
	long detach_timeout_ms, shutdown_timeout_ms;
	bool detach_enabled;
	pthread_t thread;
	bool thread_running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *queue, *queue_tail;  /* lock */
	struct job *done, *done_tail;    /* lock */
	unsigned queued;                 /* lock */
	bool running;                    /* lock */
	bool connected;                  /* lock */
	char last_error[400];            /* lock */
	atomic_bool quit;
	int efd;
	/* main thread only */
	bool dirty;
	uint64_t power_done_ms;  /* last power job applied (monotonic) */
	uint64_t inv_read_ms;    /* when the inventory planned from was read */
	struct slot *slots;
	size_t n_slots;
	unsigned long jobs_done, jobs_failed;
};

/* ------------------------------------------------------------ worker side */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void job_fail(struct job *j, const char *what)
{
	if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
		/* Undefined under our feet: see "gone" in apply_result. */
		j->gone = true;
		return;
	}
	j->rc = -1;
	snprintf(j->err, sizeof(j->err), "%s: %s", what, virGetLastErrorMessage());
}

static bool xml_is(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static xmlNode *xml_child(const xmlNode *p, const char *name)
{
	for (xmlNode *c = p ? p->children : NULL; c; c = c->next)
		if (xml_is(c, name))
			return c;
	return NULL;
}

static bool iface_has_mac(xmlNode *ifc, const struct mac *mac)
{
	xmlChar *a = xmlGetProp(xml_child(ifc, "mac"), BAD_CAST "address");
	struct mac m;
	bool same = a && mac_parse((const char *)a, &m) == 0 && mac_cmp(&m, mac) == 0;

	xmlFree(a);
	return same;
}

static char *node_dump(xmlDoc *doc, xmlNode *n)
{
	xmlBuffer *buf = xmlBufferCreate();
	char *out = NULL;

	if (buf && xmlNodeDump(buf, doc, n, 0, 0) > 0)
		out = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	return out;
}

/* 1 present (*out = its <interface> XML when out), 0 absent, -1 failed. */
static int find_iface(virDomainPtr d, unsigned flags, const struct mac *mac, char **out)
{
	char *xml = virDomainGetXMLDesc(d, flags);
	xmlDoc *doc;
	xmlNode *devices;
	int rc = 0;

	if (out)
		*out = NULL;
	if (!xml)
		return -1;
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain", NULL, XML_OPTS);
	free(xml);
	if (!doc)
		return -1;
	devices = xml_child(xmlDocGetRootElement(doc), "devices");
	for (xmlNode *c = devices ? devices->children : NULL; c && rc == 0; c = c->next) {
		if (!xml_is(c, "interface") || !iface_has_mac(c, mac))
			continue;
		rc = 1;
		if (out && !(*out = node_dump(doc, c)))
			rc = -1;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* <link state='up|down'/> on the live interface (VIR_DOMAIN_AFFECT_LIVE). */
static int set_link(virDomainPtr d, const char *iface_xml, const char *state)
{
	xmlDoc *doc = xmlReadMemory(iface_xml, (int)strlen(iface_xml), "interface", NULL,
				    XML_OPTS);
	xmlNode *root, *link;
	char *out;
	int rc;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	while ((link = xml_child(root, "link"))) {
		xmlUnlinkNode(link);
		xmlFreeNode(link);
	}
	link = xmlNewChild(root, NULL, BAD_CAST "link", NULL);
	if (!link || !xmlSetProp(link, BAD_CAST "state", BAD_CAST state)) {
		xmlFreeDoc(doc);
		return -1;
	}
	out = node_dump(doc, root);
	xmlFreeDoc(doc);
	if (!out)
		return -1;
	rc = virDomainUpdateDeviceFlags(d, out, VIR_DOMAIN_AFFECT_LIVE);
	free(out);
	return rc;
}

static bool domain_active(virDomainPtr d)
{
	return virDomainIsActive(d) == 1;
}

static void do_detach(struct mech *m, virDomainPtr d, struct job *j)
{
	bool active = domain_active(d);
	char *live = NULL, *conf = NULL;
	int inlive = 0, inconf;
	uint64_t t0 = now_mono_ms();

	if (active && (inlive = find_iface(d, 0, &j->mac, &live)) < 0)
		return job_fail(j, "reading the live XML");
	if ((inconf = find_iface(d, VIR_DOMAIN_XML_INACTIVE, &j->mac, &conf)) < 0) {
		free(live);
		return job_fail(j, "reading the persistent XML");
	}
	j->result = HELD_DETACH;
	if (!inlive && !inconf)
		goto out; /* already gone (a restarted agent finishing its work) */
	if (!inlive) {
		/* Shut off (or gone from the live domain already): config only. */
		if (virDomainDetachDeviceFlags(d, conf, VIR_DOMAIN_AFFECT_CONFIG) < 0)
			job_fail(j, "detaching from the persistent config");
		goto out;
	}
	/* ONE call for live and config: two calls could leave the config
	 * without the NIC while the live detach failed (testing-libvirt.md). */
	if (virDomainDetachDeviceFlags(d, live, VIR_DOMAIN_AFFECT_LIVE |
				       (inconf ? VIR_DOMAIN_AFFECT_CONFIG : 0)) < 0) {
		log_info("libvirt: %s: detach refused (%s); falling back to link down", j->uuid,
			 virGetLastErrorMessage());
	} else {
		/* Success does not mean gone: wait until the live XML says so. */
		for (;;) {
			int r = find_iface(d, 0, &j->mac, NULL);
			if (r == 0)
				goto out;
			if (now_mono_ms() - t0 >= (uint64_t)m->detach_timeout_ms ||
			    atomic_load(&m->quit) || !domain_active(d))
				break;
			sleep_ms(POLL_STEP_MS);
		}
		if (!domain_active(d))
			goto out; /* stopped meanwhile: its live XML is the config */
		log_info("libvirt: %s: the guest did not release the NIC in %ld ms; link down",
			 j->uuid, m->detach_timeout_ms);
		/* QEMU keeps the request and completes it at the guest's
		 * next reset, even after a restore: see HELD_UNPLUG_PENDING. */
		j->unplug_asked = true;
	}
	if (atomic_load(&m->quit)) {
		snprintf(j->err, sizeof(j->err), "agent stopping");
		j->rc = -1;
		goto out;
	}
	if (set_link(d, live, "down") < 0) {
		job_fail(j, "setting the link down");
		goto out;
	}
	j->result = HELD_LINK_DOWN;
	/* A refused detach left the persistent config alone: a guest reboot
	 * must not bring the NIC back either (nft still holds if it does). */
	free(conf);
	if (find_iface(d, VIR_DOMAIN_XML_INACTIVE, &j->mac, &conf) == 1 &&
	    virDomainDetachDeviceFlags(d, conf, VIR_DOMAIN_AFFECT_CONFIG) < 0)
		log_warnx("libvirt: %s: cannot remove the NIC from the persistent config: %s",
			  j->uuid, virGetLastErrorMessage());
out:
	j->ms = now_mono_ms() - t0;
	free(live);
	free(conf);
}

/* The saved XML without a <link state='down'/> (saved while an earlier
 * cut held it down): a restored NIC must come back up. */
static char *without_link_down(const char *xml)
{
	xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "interface", NULL, XML_OPTS);
	xmlNode *root, *link;
	char *out;

	if (!doc)
		return strdup(xml);
	root = xmlDocGetRootElement(doc);
	while ((link = xml_child(root, "link"))) {
		xmlUnlinkNode(link);
		xmlFreeNode(link);
	}
	out = node_dump(doc, root);
	xmlFreeDoc(doc);
	return out;
}

static void do_restore(virDomainPtr d, struct job *j)
{
	bool active = domain_active(d);
	char *live = NULL;
	int inlive = 0, inconf;
	uint64_t t0 = now_mono_ms();

	if (active && (inlive = find_iface(d, 0, &j->mac, &live)) < 0)
		return job_fail(j, "reading the live XML");
	if ((inconf = find_iface(d, VIR_DOMAIN_XML_INACTIVE, &j->mac, NULL)) < 0) {
		free(live);
		return job_fail(j, "reading the persistent XML");
	}
	if (strstr(j->xml, "<link")) {
		char *clean = without_link_down(j->xml);
		if (clean) {
			free(j->xml);
			j->xml = clean;
		}
	}
	j->domain_id = active ? (int)virDomainGetID(d) : -1;
	if (inlive) {
		/* Still there (link down, or re-attached before a restart). */
		j->by_link = true;
		if (set_link(d, live, "up") < 0)
			job_fail(j, "setting the link up");
	} else if (active) {
		if (virDomainAttachDeviceFlags(d, j->xml, VIR_DOMAIN_AFFECT_LIVE |
					       (inconf ? 0 : VIR_DOMAIN_AFFECT_CONFIG)) < 0)
			job_fail(j, "re-attaching the saved interface");
		else
			inconf = 1;
	}
	if (j->rc == 0 && !inconf &&
	    virDomainAttachDeviceFlags(d, j->xml, VIR_DOMAIN_AFFECT_CONFIG) < 0)
		job_fail(j, "re-attaching to the persistent config");
	j->ms = now_mono_ms() - t0;
	free(live);
}

static int set_autostart(virDomainPtr d, bool on)
{
	/* A transient domain has no autostart: nothing to hold. */
	if (virDomainIsPersistent(d) != 1)
		return 0;
	return virDomainSetAutostart(d, on ? 1 : 0);
}

static bool shut_off(virDomainPtr d)
{
	int state, reason;

	return virDomainGetState(d, &state, &reason, 0) == 0 && state == VIR_DOMAIN_SHUTOFF;
}

static void do_power_off(struct mech *m, virDomainPtr d, struct job *j)
{
	uint64_t t0 = now_mono_ms();

	if (set_autostart(d, false) < 0)
		return job_fail(j, "disabling autostart");
	if (!shut_off(d)) {
		/* Returns 0 even when the guest will ignore it: wait, then destroy. */
		if (virDomainShutdown(d) < 0)
			log_info("libvirt: %s: shutdown refused (%s); destroying", j->uuid,
				 virGetLastErrorMessage());
		else
			while (!shut_off(d) && !atomic_load(&m->quit) &&
			       now_mono_ms() - t0 < (uint64_t)m->shutdown_timeout_ms)
				sleep_ms(POLL_STEP_MS);
		if (!shut_off(d)) {
			if (atomic_load(&m->quit)) {
				snprintf(j->err, sizeof(j->err), "agent stopping");
				j->rc = -1;
				return;
			}
			j->forced = true;
			if (virDomainDestroy(d) < 0 && !shut_off(d))
				return job_fail(j, "destroying");
		}
	}
	j->ms = now_mono_ms() - t0;
}

static void do_job(struct mech *m, virConnectPtr *conn, struct job *j)
{
	virDomainPtr d;

	j->rc = 0;
	if (!*conn || virConnectIsAlive(*conn) != 1) {
		if (*conn && virConnectClose(*conn) < 0)
			log_debug("libvirt worker: close: %s", virGetLastErrorMessage());
		*conn = virConnectOpen(m->uri);
		pthread_mutex_lock(&m->lock);
		m->connected = *conn != NULL;
		pthread_mutex_unlock(&m->lock);
		if (!*conn)
			return job_fail(j, "connecting");
		if (virConnectSetKeepAlive(*conn, KEEPALIVE_S, KEEPALIVE_COUNT) < 0)
			log_debug("libvirt worker: no keepalive: %s", virGetLastErrorMessage());
	}
	/* A domain that left this host (undefined, migrated) has nothing
	 * here to cut or to give back: nft and the new host take over. */
	d = virDomainLookupByUUIDString(*conn, j->uuid);
	if (!d)
		return job_fail(j, "looking the domain up");
	switch (j->kind) {
	case JOB_DETACH:
		do_detach(m, d, j);
		break;
	case JOB_RESTORE:
		do_restore(d, j);
		break;
	case JOB_POWER_OFF:
		do_power_off(m, d, j);
		break;
	case JOB_STOP_AGAIN:
		if (set_autostart(d, false) < 0)
			log_debug("libvirt: %s: autostart: %s", j->uuid, virGetLastErrorMessage());
		if (!shut_off(d) && virDomainDestroy(d) < 0 && !shut_off(d))
			job_fail(j, "destroying");
		break;
	case JOB_POWER_ON:
		if (j->power_on && shut_off(d) && virDomainCreate(d) < 0)
			job_fail(j, "starting");
		else if (set_autostart(d, j->autostart) < 0)
			job_fail(j, "restoring autostart");
		break;
	}
	if (virDomainFree(d) < 0)
		log_debug("libvirt worker: virDomainFree: %s", virGetLastErrorMessage());
}

static void *worker(void *arg)
{
	struct mech *m = arg;
	virConnectPtr conn = NULL;
	uint64_t one = 1;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&m->lock);
		while (!m->queue && !atomic_load(&m->quit))
			pthread_cond_wait(&m->cond, &m->lock);
		if (atomic_load(&m->quit)) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		j = m->queue;
		m->queue = j->next;
		if (!m->queue)
			m->queue_tail = NULL;
		m->queued--;
		m->running = true;
		pthread_mutex_unlock(&m->lock);

		do_job(m, &conn, j);

		pthread_mutex_lock(&m->lock);
		m->running = false;
		if (j->rc < 0)
			snprintf(m->last_error, sizeof(m->last_error), "%s %s: %s",
				 job_names[j->kind], j->uuid, j->err);
		j->next = NULL;
		if (m->done_tail)
			m->done_tail->next = j;
		else
			m->done = j;
		m->done_tail = j;
		pthread_mutex_unlock(&m->lock);
		if (write(m->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("libvirt worker: eventfd: %s", strerror(errno));
	}
	if (conn && virConnectClose(conn) < 0)
		log_debug("libvirt worker: close: %s", virGetLastErrorMessage());
	return NULL;
}

/* -------------------------------------------------------------- main side */

struct mech *mech_new(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct mech *m = calloc(1, sizeof(*m));
	int rc;

	if (!m || strlcpy_checked(m->uri, cfg->libvirt_uri, sizeof(m->uri)) < 0) {
		snprintf(err, errlen, "mechanisms: out of memory");
		free(m);
		return NULL;
	}
	m->detach_timeout_ms = cfg->detach_timeout_ms;
	m->shutdown_timeout_ms = cfg->shutdown_timeout_ms;
	m->detach_enabled = cfg->mech_detach;
	m->dirty = true; /* power_done_ms 0: the read at start counts, a VM
			  * started while the agent was down is stopped */
	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	if (m->efd < 0) {
		snprintf(err, errlen, "mechanisms: eventfd: %s", strerror(errno));
		free(m);
		return NULL;
	}
	if ((rc = pthread_create(&m->thread, NULL, worker, m)) != 0) {
		snprintf(err, errlen, "mechanisms: worker thread: %s", strerror(rc));
		close(m->efd);
		free(m);
		return NULL;
	}
	m->thread_running = true;
	return m;
}

static void jobs_free(struct job *j)
{
	while (j) {
		struct job *next = j->next;
		free(j->xml);
		free(j);
		j = next;
	}
}

void mech_free(struct mech *m)
{
	if (!m)
		return;
	if (m->thread_running) {
		pthread_mutex_lock(&m->lock);
		atomic_store(&m->quit, true);
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		/* Its job's waits end on quit; a call stuck on a hung libvirtd
		 * does not: then the worker is left with what it uses (the
		 * state file says what the next start finishes or undoes). */
		if (!thread_join_within(m->thread, STOP_WAIT_MS)) {
			log_warnx("libvirt worker stuck in a call to libvirtd; leaving it");
			return;
		}
	}
	jobs_free(m->queue);
	jobs_free(m->done);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	close(m->efd);
	free(m->slots);
	free(m);
}

int mech_event_fd(const struct mech *m)
{
	return m->efd;
}

void mech_kick(struct mech *m)
{
	m->dirty = true;
}

static struct slot *slot_find(const struct mech *m, const char *uuid)
{
	for (size_t i = 0; i < m->n_slots; i++)
		if (strcmp(m->slots[i].uuid, uuid) == 0)
			return &m->slots[i];
	return NULL;
}

static struct slot *slot_get(struct mech *m, const char *uuid)
{
	struct slot *s = slot_find(m, uuid), *v;

	if (s)
		return s;
	v = realloc(m->slots, (m->n_slots + 1) * sizeof(*v));
	if (!v)
		return NULL;
	m->slots = v;
	s = &m->slots[m->n_slots++];
	memset(s, 0, sizeof(*s));
	snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
	return s;
}

/* Drops slots with nothing running and nothing to retry. */
static void slots_compact(struct mech *m)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n_slots; i++)
		if (m->slots[i].busy || m->slots[i].retry_at)
			m->slots[k++] = m->slots[i];
	m->n_slots = k;
}

static int queue_job(struct mech *m, enum job_kind kind, const struct vm_enforced *v,
		     const struct held_iface *h)
{
	struct job *j = calloc(1, sizeof(*j));
	struct slot *s = slot_get(m, v->uuid);
	char mac[MAC_STRLEN] = "";

	if (!j || !s) {
		free(j);
		return -1;
	}
	j->kind = kind;
	snprintf(j->uuid, sizeof(j->uuid), "%s", v->uuid);
	if (h) {
		j->mac = h->mac;
		mac_format(&h->mac, mac);
		if (kind == JOB_RESTORE && !(j->xml = strdup(h->xml))) {
			free(j);
			return -1;
		}
	}
	j->power_on = v->power.was_running;
	j->autostart = v->power.autostart;
	s->busy = true;
	s->retry_at = 0;
	snprintf(s->what, sizeof(s->what), "%s%s%s", job_names[kind], mac[0] ? " " : "", mac);
	log_debug("libvirt: VM %s: queued %s", v->uuid, s->what);
	pthread_mutex_lock(&m->lock);
	if (m->queue_tail)
		m->queue_tail->next = j;
	else
		m->queue = j;
	m->queue_tail = j;
	m->queued++;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* In the domain's own XML as of the last read (the inventory also lists
 * the interfaces cordon detached, from their saved XML). */
static bool iface_in_domain(struct virt *virt, const char *uuid, const struct mac *mac)
{
	char *xml = virt_iface_xml(virt, uuid, mac);

	free(xml);
	return xml != NULL;
}

struct changes {
	char **uuids;
	size_t n, cap;
};

static void changed_add(struct changes *c, const char *uuid)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->uuids[i], uuid) == 0)
			return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		char **v = realloc(c->uuids, cap * sizeof(*v));
		if (!v)
			return;
		c->uuids = v;
		c->cap = cap;
	}
	if ((c->uuids[c->n] = strdup(uuid)))
		c->n++;
}

/* Saves the XML of every interface in a cut scope that holds nothing yet.
 * 1 added (the state must be saved before any detach), 0 none. */
static int new_holds(struct mech *m, struct vm_enforced *v, const struct inv_vm *iv,
		     struct virt *virt)
{
	int added = 0;

	for (size_t i = 0; m->detach_enabled && i < iv->n_ifaces; i++) {
		const struct inv_iface *f = &iv->ifaces[i];
		int s = scope_index(f->scope);
		char *xml;

		/* smtp is a port filter on a NIC that stays: never detached. */
		if (s < 0 || s == scope_index("smtp") || !(v->scopes & (1u << s)) ||
		    state_held_find(v, &f->mac))
			continue;
		if (!(xml = virt_iface_xml(virt, v->uuid, &f->mac)))
			continue; /* not read yet: next inventory */
		if (state_held_add(v, &f->mac, s, xml))
			added = 1;
		free(xml);
	}
	return added;
}

/* A NIC restored by link up whose unplug request QEMU still holds.
 * 1 queued, 0 nothing to do, -1 plan again (the record was dropped). */
static int plan_unplug_pending(struct mech *m, struct enforcer *e, struct vm_enforced *v,
			       const struct inv_vm *iv, struct virt *virt, struct held_iface *h,
			       bool want)
{
	char mac[MAC_STRLEN];

	mac_format(&h->mac, mac);
	if (want) {
		/* Cut again: as any new cut (the saved XML is still its own). */
		h->mech = HELD_DETACHING;
		if (enforcer_save(e) < 0)
			return -1;
		return queue_job(m, JOB_DETACH, v, h) == 0;
	}
	if (iv->domain_id != h->domain_id) {
		/* Stopped or restarted: the request died with the QEMU process. */
		log_info("VM %s interface %s: domain restarted, no unplug pending any more",
			 v->uuid, mac);
		state_held_del(v, &h->mac);
		enforcer_save(e);
		return -1;
	}
	if (iface_in_domain(virt, v->uuid, &h->mac))
		return 0;
	/* Re-attached at once, the NIC is back before the rebooting guest
	 * scans its PCI bus: even a guest without hotplug sees it. */
	log_warnx("VM %s interface %s: a guest reset completed the unplug asked during an "
		  "earlier cut; re-attaching it", v->uuid, mac);
	return queue_job(m, JOB_RESTORE, v, h) == 0;
}

/* 1 queued a job for v, 0 nothing to do, -1 plan again next turn. */
static int plan_ifaces(struct mech *m, struct enforcer *e, struct vm_enforced *v,
		       const struct inv_vm *iv, struct virt *virt, struct changes *ch)
{
	char mac[MAC_STRLEN];
	int rc;

	for (size_t i = 0; i < v->n_held; i++) {
		struct held_iface *h = &v->held[i];
		bool want = m->detach_enabled && (v->scopes & (1u << h->scope));

		if (h->mech == HELD_UNPLUG_PENDING) {
			if ((rc = plan_unplug_pending(m, e, v, iv, virt, h, want)) != 0)
				return rc;
			continue;
		}
		if (!want)
			return queue_job(m, JOB_RESTORE, v, h) == 0;
		if (h->mech == HELD_DETACHING)
			return queue_job(m, JOB_DETACH, v, h) == 0;
		if (h->mech == HELD_LINK_DOWN && !iface_in_domain(virt, v->uuid, &h->mac)) {
			/* The pending unplug completed (guest reset): detached now. */
			mac_format(&h->mac, mac);
			log_info("VM %s interface %s: released by the guest; detach holds",
				 v->uuid, mac);
			h->mech = HELD_DETACH;
			h->unplug_pending = false;
			changed_add(ch, v->uuid);
			enforcer_save(e);
		}
	}
	return 0;
}

/* 1 queued a job for v, 0 nothing to do, -1 must wait (save failed). */
static int plan_vm(struct mech *m, struct enforcer *e, struct vm_enforced *v,
		   const struct inv_vm *iv, struct virt *virt, struct changes *ch)
{
	int rc;

	/* Never detach what is not saved: not only the holds this turn
	 * adds, but any left unsaved by a save that failed before. */
	if ((new_holds(m, v, iv, virt) || e->state_dirty) && enforcer_save(e) < 0)
		return -1;
	if ((rc = plan_ifaces(m, e, v, iv, virt, ch)) != 0)
		return rc;
	if (v->power_off) {
		if (!v->power.saved) {
			v->power.saved = true;
			v->power.was_running = strcmp(iv->state, "shut off") != 0;
			v->power.autostart = iv->autostart;
			if (enforcer_save(e) < 0)
				return -1;
		}
		if (!v->power.held)
			return queue_job(m, JOB_POWER_OFF, v, NULL) == 0;
		if (strcmp(iv->state, "shut off") != 0 && m->inv_read_ms > m->power_done_ms) {
			v->restarted++;
			log_warnx("VM %s (%s) was started while it must be off (%u time(s)): "
				  "stopping it again", iv->name, v->uuid, v->restarted);
			changed_add(ch, v->uuid);
			enforcer_save(e);
			return queue_job(m, JOB_STOP_AGAIN, v, NULL) == 0;
		}
	} else if (v->power.saved) {
		return queue_job(m, JOB_POWER_ON, v, NULL) == 0;
	}
	return 0;
}

/* The domain is not on this host any more: what cordon held on it here
 * is moot (the saved XML would re-attach to nothing). */
static void forget_gone(struct vm_enforced *v, const struct job *j, const char *mac)
{
	if (j->kind == JOB_DETACH || j->kind == JOB_RESTORE)
		state_held_del(v, &j->mac);
	else
		v->power = (struct power_hold){ 0 };
	log_info("VM %s is not defined on this host any more: %s%s%s dropped", v->uuid,
		 job_names[j->kind], j->kind <= JOB_RESTORE ? " " : "",
		 j->kind <= JOB_RESTORE ? mac : "");
}

/* A lifted VM whose domain left this host: drop the saved XML and power
 * record instead of retrying to give them back to nothing. */
static void forget_left_host(struct enforcer *e, struct vm_enforced *v, struct changes *ch)
{
	while (v->n_held)
		state_held_del(v, &v->held[0].mac);
	v->power = (struct power_hold){ 0 };
	log_info("VM %s is not defined on this host any more: its libvirt records are dropped",
		 v->uuid);
	enforcer_save(e);
	changed_add(ch, v->uuid);
}

/* An entry the controller no longer lists (lift_unlisted zeroed its
 * generation) once nothing is left to undo: it goes, as any lifted VM. */
static bool lifted_and_done(struct vm_enforced *v, void *arg)
{
	(void)arg;
	return v->generation == 0 && !v->scopes && !v->power_off && !v->n_held &&
	       !v->power.saved;
}

/* The restore is done; only a NIC whose unplug QEMU still holds stays
 * recorded (HELD_UNPLUG_PENDING), for as long as the domain runs. */
static void restored(struct vm_enforced *v, const struct job *j, const char *mac)
{
	struct held_iface *h = state_held_find(v, &j->mac);

	if (h && h->unplug_pending && j->by_link && j->domain_id >= 0) {
		h->mech = HELD_UNPLUG_PENDING;
		h->domain_id = j->domain_id;
		log_info("VM %s interface %s: restored by link up (%llu ms); the guest never "
			 "answered the unplug request: watching for its next reset", v->uuid, mac,
			 (unsigned long long)j->ms);
		return;
	}
	state_held_del(v, &j->mac);
	log_info("VM %s interface %s: restored (%llu ms)", v->uuid, mac,
		 (unsigned long long)j->ms);
}

static void apply_result(struct mech *m, struct enforcer *e, struct virt *virt,
			 struct job *j, struct changes *ch)
{
	struct slot *s = slot_find(m, j->uuid);
	struct vm_enforced *v = state_find(&e->state, j->uuid);
	char mac[MAC_STRLEN], before[128];
	struct held_iface *h;

	mac_format(&j->mac, mac);
	if (s)
		s->busy = false;
	if (j->kind == JOB_POWER_OFF || j->kind == JOB_STOP_AGAIN || j->kind == JOB_POWER_ON) {
		/* "Running" in an inventory read before this is stale. */
		m->power_done_ms = now_mono_ms();
		virt_request_reload(virt);
	}
	if (j->rc < 0) {
		m->jobs_failed++;
		if (s) {
			uint64_t delay = (uint64_t)RETRY_MIN_MS << (s->fails < 5 ? s->fails : 5);
			s->fails++;
			s->retry_at = now_mono_ms() + (delay > RETRY_MAX_MS ? RETRY_MAX_MS : delay);
		}
		log_warnx("libvirt: VM %s: %s%s%s failed: %s; retrying", j->uuid,
			  job_names[j->kind], j->kind <= JOB_RESTORE ? " " : "",
			  j->kind <= JOB_RESTORE ? mac : "", j->err);
		return;
	}
	m->jobs_done++;
	if (s)
		s->fails = 0;
	if (!v)
		return;
	snprintf(before, sizeof(before), "%s", enforcer_mechanisms(e, v));
	if (j->gone) {
		forget_gone(v, j, mac);
		enforcer_save(e);
		if (strcmp(before, enforcer_mechanisms(e, v)) != 0)
			changed_add(ch, v->uuid);
		return;
	}
	switch (j->kind) {
	case JOB_DETACH:
		if ((h = state_held_find(v, &j->mac))) {
			h->mech = j->result;
			h->unplug_pending = j->result == HELD_LINK_DOWN &&
					    (h->unplug_pending || j->unplug_asked);
		}
		log_info("VM %s interface %s: %s holds (%llu ms)", v->uuid, mac,
			 state_held_mech_name(j->result), (unsigned long long)j->ms);
		break;
	case JOB_RESTORE:
		restored(v, j, mac);
		virt_request_reload(virt); /* what is live now decides the next plan */
		break;
	case JOB_POWER_OFF:
		v->power.held = true;
		log_info("VM %s: shut off%s (%llu ms), autostart disabled", v->uuid,
			 j->forced ? " by destroy after the shutdown timeout" : "",
			 (unsigned long long)j->ms);
		break;
	case JOB_STOP_AGAIN:
		log_info("VM %s: stopped again", v->uuid);
		break;
	case JOB_POWER_ON:
		log_info("VM %s: power restored (%s, autostart %s)", v->uuid,
			 v->power.was_running ? "started" : "left off",
			 v->power.autostart ? "on" : "off");
		v->power = (struct power_hold){ 0 };
		break;
	}
	enforcer_save(e);
	if (strcmp(before, enforcer_mechanisms(e, v)) != 0)
		changed_add(ch, v->uuid);
}

void mech_tick(struct mech *m, struct enforcer *e, const struct inventory *inv,
	       struct virt *virt, char ***changed, size_t *n_changed)
{
	struct changes ch = { 0 };
	struct job *done;
	uint64_t n, now = now_mono_ms();
	bool due = m->dirty;

	m->inv_read_ms = inv->read_ms;

	if (read(m->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("mechanisms: eventfd: %s", strerror(errno));
	pthread_mutex_lock(&m->lock);
	done = m->done;
	m->done = m->done_tail = NULL;
	pthread_mutex_unlock(&m->lock);
	while (done) {
		struct job *next = done->next;
		apply_result(m, e, virt, done, &ch);
		free(done->xml);
		free(done);
		done = next;
		due = true;
	}
	for (size_t i = 0; i < m->n_slots && !due; i++)
		due = m->slots[i].retry_at && now >= m->slots[i].retry_at;
	if (due) {
		m->dirty = false;
		for (size_t i = 0; i < e->state.n; i++) {
			struct vm_enforced *v = &e->state.vms[i];
			const struct inv_vm *iv = inventory_find(inv, v->uuid);
			struct slot *s = slot_find(m, v->uuid);

			/* Not on this host (now): nothing libvirt can do. Once the
			 * controller lifts it too, its records here are moot. */
			/* An incomplete read may just have missed the domain. */
			if (!iv && inv->complete && !v->scopes && !v->power_off &&
			    (v->n_held || v->power.saved)) {
				forget_left_host(e, v, &ch);
				continue;
			}
			if (!iv || (s && (s->busy || (s->retry_at && now < s->retry_at))))
				continue;
			if (!v->n_held && !v->power_off && !v->power.saved && !v->scopes)
				continue;
			if (plan_vm(m, e, v, iv, virt, &ch) < 0)
				m->dirty = true;
		}
		slots_compact(m);
		size_t before = e->state.n;
		state_remove_if(&e->state, lifted_and_done, NULL);
		if (e->state.n != before)
			enforcer_save(e);
	}
	*changed = ch.uuids;
	*n_changed = ch.n;
}

const char *mech_pending(const struct mech *m, const char *uuid)
{
	const struct slot *s = slot_find(m, uuid);

	if (!s)
		return NULL;
	if (s->busy)
		return s->what;
	return s->retry_at ? "retry after a failure" : NULL;
}

unsigned long mech_jobs_failed(const struct mech *m)
{
	return m->jobs_failed;
}

json_t *mech_status(const struct mech *m)
{
	struct mech *mm = (struct mech *)m;
	json_t *o;

	pthread_mutex_lock(&mm->lock);
	o = json_pack("{s:s, s:b, s:I, s:b, s:b, s:s, s:I, s:I, s:I, s:I}", "mechanisms",
		      m->detach_enabled ? "nft,detach" : "nft", "detach", m->detach_enabled,
		      "queued", (json_int_t)m->queued, "running", m->running,
		      "connected", m->connected, "last_error", m->last_error,
		      "jobs_done", (json_int_t)m->jobs_done,
		      "jobs_failed", (json_int_t)m->jobs_failed,
		      "detach_timeout_ms", (json_int_t)m->detach_timeout_ms,
		      "shutdown_timeout_ms", (json_int_t)m->shutdown_timeout_ms);
	pthread_mutex_unlock(&mm->lock);
	return o;
}
