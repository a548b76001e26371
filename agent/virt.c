/* virt.c: the host's VMs from libvirt, kept current by libvirt's events.
 *
 * Threads: libvirt's default event loop (needed for domain events and for
 * noticing a closed connection) runs in one thread of ours. Its callbacks
 * only set flags and write the eventfd the main loop polls; every libvirt
 * API call (connect, list, XML) is made by the main thread, which owns all
 * fields of struct virt except the atomics. So no lock is needed, and a
 * slow read never delays the event thread.
 *
 * Failing closed: if libvirtd goes away or a read fails half way, the last
 * good inventory stays (the caller keeps it); only a complete read replaces
 * it. A domain whose XML cannot be understood is logged and left out, which
 * lifts nothing either: the enforcer keeps the MACs of VMs it cannot find. */
#include "virt.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 2000    /* a restarted libvirtd is found within 2 s */
#define SETTLE_MS 20          /* after the first event: let a burst arrive */
#define COALESCE_MS 100       /* at most one re-read per this */
#define RETRY_READ_MS 1000    /* a read failed on a live connection */
#define RESYNC_MS 60000       /* re-read anyway: lease/ARP addresses change */
#define KEEPALIVE_S 5         /* a hung libvirtd is dropped after ~20 s */
#define KEEPALIVE_COUNT 3
#define MAX_XML_BYTES (16 << 20)
#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

enum { EV_LIFECYCLE, EV_DEVICE_ADDED, EV_DEVICE_REMOVED, EV_METADATA, EV_COUNT };

struct virt {
	char uri[1024];
	virConnectPtr conn;
	int cb_ids[EV_COUNT];
	bool close_cb;
	int efd;
	pthread_t thread;
	bool thread_running;
	atomic_bool quit;         /* main -> event thread */
	atomic_bool lost;         /* event thread -> main: connection closed */
	atomic_uint events;       /* domain events seen, for status */
	uint64_t backoff_ms, next_connect;
	bool failing;             /* connect failures logged once */
	bool reload_pending;
	uint64_t reload_due, last_read;
	unsigned connects;
	size_t domains;
	int64_t connected_since, last_read_wall;
	char last_error[512];
	/* Domain XML of the last good read, by uuid: mech.c saves an
	 * interface's live XML from it before detaching. */
	struct dom_xml *xmls;
	size_t n_xmls;
};

struct dom_xml {
	char uuid[65];
	char *xml;
};

static void xmls_free(struct dom_xml *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(x[i].xml);
	free(x);
}

/* ------------------------------------------------------ event thread side */

static void wake(struct virt *v)
{
	uint64_t one = 1;

	atomic_fetch_add(&v->events, 1);
	/* EAGAIN only if the counter is saturated: the main loop wakes anyway. */
	if (write(v->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("libvirt: writing the event fd: %s", strerror(errno));
}

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
	(void)c;
	log_debug("libvirt: domain %s: lifecycle event %d/%d", virDomainGetName(d), event, detail);
	wake(opaque);
	return 0;
}

static void on_device(virConnectPtr c, virDomainPtr d, const char *alias, void *opaque)
{
	(void)c;
	log_debug("libvirt: domain %s: device %s added or removed", virDomainGetName(d), alias);
	wake(opaque);
}

static void on_metadata(virConnectPtr c, virDomainPtr d, int type, const char *nsuri,
			void *opaque)
{
	(void)c;
	(void)type;
	log_debug("libvirt: domain %s: metadata %s changed", virDomainGetName(d),
		  nsuri ? nsuri : "-");
	wake(opaque);
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	struct virt *v = opaque;

	(void)c;
	log_debug("libvirt: connection closed (reason %d)", reason);
	atomic_store(&v->lost, true);
	wake(v);
}

static void *event_thread(void *arg)
{
	struct virt *v = arg;

	while (!atomic_load(&v->quit))
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

static void stop_thread(struct virt *v)
{
	int rc;

	if (!v->thread_running)
		return;
	atomic_store(&v->quit, true);
	/* A zero timeout makes virEventRunDefaultImpl return; quit is then seen. */
	if (virEventAddTimeout(0, wake_loop, NULL, NULL) < 0) {
		log_warnx("cannot wake libvirt's event loop; leaving its thread");
		return;
	}
	if ((rc = pthread_join(v->thread, NULL)) != 0)
		log_warnx("joining libvirt's event thread: %s", strerror(rc));
	v->thread_running = false;
}

/* ------------------------------------------------------------ connection */

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

static void set_error(struct virt *v, const char *what)
{
	snprintf(v->last_error, sizeof(v->last_error), "%s", what);
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

static void connect_failed(struct virt *v, uint64_t now, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s: %s", what, virGetLastErrorMessage());
	set_error(v, msg);
	if (!v->failing)
		log_warnx("libvirt %s: %s; retrying (up to every %d ms)", v->uri, msg,
			  BACKOFF_MAX_MS);
	else
		log_debug("libvirt %s: %s", v->uri, msg);
	v->failing = true;
	v->next_connect = now + v->backoff_ms;
	v->backoff_ms = v->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : v->backoff_ms * 2;
}

static void request_reload_at(struct virt *v, uint64_t due)
{
	if (v->reload_pending && v->reload_due <= due)
		return;
	v->reload_pending = true;
	v->reload_due = due;
}

static int virt_connect(struct virt *v, uint64_t now)
{
	virConnectPtr c = virConnectOpen(v->uri);

	if (!c) {
		connect_failed(v, now, "cannot connect");
		return -1;
	}
	/* Without keepalive a hung (not dead) libvirtd is never noticed. */
	if (virConnectSetKeepAlive(c, KEEPALIVE_S, KEEPALIVE_COUNT) < 0)
		log_debug("libvirt: no keepalive: %s", virGetLastErrorMessage());
	if (register_callbacks(v, c) < 0) {
		connect_failed(v, now, "cannot register for events");
		unregister_callbacks(v, c);
		if (virConnectClose(c) < 0)
			log_debug("libvirt: close: %s", virGetLastErrorMessage());
		return -1;
	}
	v->conn = c;
	v->connects++;
	v->failing = false;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->connected_since = (int64_t)(now_wall_ms() / 1000);
	log_info("libvirt %s: connected%s", v->uri, v->connects > 1 ? " again" : "");
	/* Whatever happened while we were away: read everything now. */
	request_reload_at(v, now);
	return 0;
}

static void disconnect(struct virt *v, const char *why)
{
	if (!v->conn)
		return;
	unregister_callbacks(v, v->conn);
	if (virConnectClose(v->conn) < 0)
		log_debug("libvirt: close: %s", virGetLastErrorMessage());
	v->conn = NULL;
	set_error(v, why);
	log_warnx("libvirt %s: %s; keeping the last inventory (%zu VM(s)), reconnecting",
		  v->uri, why, v->domains);
	v->backoff_ms = BACKOFF_MIN_MS;
	v->next_connect = now_mono_ms() + BACKOFF_MIN_MS;
	v->reload_pending = false;
}

struct virt *virt_new(const char *uri, char *err, size_t errlen)
{
	struct virt *v;
	int rc;

	if (libvirt_init(err, errlen) < 0)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v || strlcpy_checked(v->uri, uri, sizeof(v->uri)) < 0) {
		snprintf(err, errlen, "libvirt: out of memory or URI too long");
		free(v);
		return NULL;
	}
	for (int i = 0; i < EV_COUNT; i++)
		v->cb_ids[i] = -1;
	v->backoff_ms = BACKOFF_MIN_MS;
	v->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->efd < 0) {
		snprintf(err, errlen, "libvirt: eventfd: %s", strerror(errno));
		free(v);
		return NULL;
	}
	if ((rc = pthread_create(&v->thread, NULL, event_thread, v)) != 0) {
		snprintf(err, errlen, "libvirt: event thread: %s", strerror(rc));
		close(v->efd);
		free(v);
		return NULL;
	}
	v->thread_running = true;
	return v;
}

void virt_free(struct virt *v)
{
	if (!v)
		return;
	if (v->conn) {
		unregister_callbacks(v, v->conn);
		if (virConnectClose(v->conn) < 0)
			log_debug("libvirt: close: %s", virGetLastErrorMessage());
		v->conn = NULL;
	}
	stop_thread(v);
	close(v->efd);
	xmls_free(v->xmls, v->n_xmls);
	free(v);
}

int virt_event_fd(const struct virt *v)
{
	return v->efd;
}

bool virt_connected(const struct virt *v)
{
	return v->conn != NULL;
}

void virt_handle_wakeup(struct virt *v)
{
	uint64_t n;

	if (read(v->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("libvirt: reading the event fd");
	/* The close callback may be late for an old connection: ask. */
	if (atomic_exchange(&v->lost, false) && v->conn && virConnectIsAlive(v->conn) != 1) {
		disconnect(v, "libvirtd closed the connection");
		return;
	}
	if (v->conn) {
		uint64_t now = now_mono_ms(), due = now + SETTLE_MS;
		if (due < v->last_read + COALESCE_MS)
			due = v->last_read + COALESCE_MS;
		request_reload_at(v, due);
	}
}

void virt_request_reload(struct virt *v)
{
	uint64_t now = now_mono_ms();

	if (v->conn) {
		request_reload_at(v, now);
		return;
	}
	v->next_connect = now;
	v->backoff_ms = BACKOFF_MIN_MS;
}

bool virt_tick(struct virt *v, uint64_t now)
{
	if (!v->conn && (now < v->next_connect || virt_connect(v, now) < 0))
		return false;
	if (!v->reload_pending && now - v->last_read >= RESYNC_MS)
		request_reload_at(v, now);
	return v->reload_pending && now >= v->reload_due;
}

long virt_timeout_ms(const struct virt *v, uint64_t now, long max_ms)
{
	uint64_t due;

	if (!v->conn)
		due = v->next_connect;
	else if (v->reload_pending)
		due = v->reload_due;
	else
		return max_ms;
	if (due <= now)
		return 0;
	return due - now < (uint64_t)max_ms ? (long)(due - now) : max_ms;
}

/* ------------------------------------------------------------ XML helpers */

static bool is_elem(const xmlNode *n, const char *name, const char *ns)
{
	if (!n || n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST name) != 0)
		return false;
	if (!ns)
		return n->ns == NULL;
	return n->ns && n->ns->href && xmlStrcmp(n->ns->href, BAD_CAST ns) == 0;
}

/* First child element NAME in no namespace (domain XML has none). */
static xmlNode *child_elem(const xmlNode *parent, const char *name)
{
	for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
		if (is_elem(c, name, NULL))
			return c;
	return NULL;
}

/* Attribute into dst: 1 copied, 0 absent (dst ""), -1 too long. */
static int prop_copy(xmlNode *n, const char *attr, char *dst, size_t len)
{
	xmlChar *p = n ? xmlGetProp(n, BAD_CAST attr) : NULL;
	int rc;

	dst[0] = '\0';
	if (!p)
		return 0;
	rc = strlcpy_checked(dst, (const char *)p, len) < 0 ? -1 : 1;
	xmlFree(p);
	if (rc < 0)
		dst[0] = '\0';
	return rc;
}

static const char *xml_error(void)
{
	const xmlError *e = xmlGetLastError();

	return e && e->message ? e->message : "unknown XML error";
}

static xmlDoc *parse_xml(const char *text, const char *what, char *why, size_t len)
{
	size_t n = strlen(text);
	xmlDoc *doc;

	if (n > MAX_XML_BYTES) {
		snprintf(why, len, "%s XML is larger than %d bytes", what, MAX_XML_BYTES);
		return NULL;
	}
	xmlResetLastError();
	doc = xmlReadMemory(text, (int)n, what, NULL, XML_OPTS);
	if (!doc)
		snprintf(why, len, "%s XML does not parse: %s", what, xml_error());
	return doc;
}

/* An element of the cordon metadata. virDomainGetMetadata selects it by
 * namespace and returns it with the namespace stripped (<vm><interface>..);
 * the namespaced form is accepted too. */
static bool is_md_elem(const xmlNode *n, const char *name)
{
	return is_elem(n, name, NULL) || is_elem(n, name, CORDON_VM_XMLNS);
}

static struct inv_iface *find_iface(struct inv_vm *vm, const struct mac *mac)
{
	for (size_t i = 0; i < vm->n_ifaces; i++)
		if (mac_cmp(&vm->ifaces[i].mac, mac) == 0)
			return &vm->ifaces[i];
	return NULL;
}

/* ------------------------------------------------------------ domain XML */

/* The name the [scopes] map is asked about: the network for type
 * "network", the bridge for "bridge", the host device for "direct". */
static int source_name(xmlNode *src, struct inv_iface *ifc)
{
	static const char *const order[] = { "bridge", "network", "dev" };
	const char *attr = NULL;
	int rc = 0;

	if (strcmp(ifc->type, "network") == 0)
		attr = "network";
	else if (strcmp(ifc->type, "bridge") == 0)
		attr = "bridge";
	else if (strcmp(ifc->type, "direct") == 0)
		attr = "dev";
	if (attr)
		return prop_copy(src, attr, ifc->bridge, sizeof(ifc->bridge)) < 0 ? -1 : 0;
	for (size_t i = 0; i < 3 && rc == 0; i++)
		rc = prop_copy(src, order[i], ifc->bridge, sizeof(ifc->bridge));
	return rc < 0 ? -1 : 0;
}

static void set_scope(const struct agent_config *cfg, xmlNode *src, struct inv_iface *ifc)
{
	const char *s = agent_config_scope_find(cfg, ifc->bridge);
	char live_bridge[64];

	/* A running domain's network interface also names the network's bridge:
	 * the map may list that instead of the network. */
	if (!s && strcmp(ifc->type, "network") == 0 &&
	    prop_copy(src, "bridge", live_bridge, sizeof(live_bridge)) == 1)
		s = agent_config_scope_find(cfg, live_bridge);
	ifc->unmapped = s == NULL;
	strcpy(ifc->scope, s ? s : cfg->unmapped_scope);
}

static int parse_iface(xmlNode *n, const struct agent_config *cfg, struct inv_iface *ifc,
		       char *why, size_t len)
{
	xmlNode *mac = child_elem(n, "mac"), *src = child_elem(n, "source");
	char text[32];

	if (prop_copy(n, "type", ifc->type, sizeof(ifc->type)) < 0 ||
	    prop_copy(mac, "address", text, sizeof(text)) != 1 ||
	    mac_parse(text, &ifc->mac) < 0 || !mac_is_unicast(&ifc->mac)) {
		snprintf(why, len, "an <interface> without a valid type or <mac address=>");
		return -1;
	}
	mac_format(&ifc->mac, ifc->mac_text);
	if (source_name(src, ifc) < 0 ||
	    prop_copy(child_elem(n, "target"), "dev", ifc->target, sizeof(ifc->target)) < 0 ||
	    prop_copy(child_elem(n, "model"), "type", ifc->model, sizeof(ifc->model)) < 0) {
		snprintf(why, len, "interface %s: source, target or model name too long",
			 ifc->mac_text);
		return -1;
	}
	set_scope(cfg, src, ifc);
	return 0;
}

static int parse_interfaces(xmlNode *devices, const struct agent_config *cfg,
			    struct inv_vm *vm, char *why, size_t len)
{
	size_t n = 0;

	for (xmlNode *c = devices->children; c; c = c->next)
		n += is_elem(c, "interface", NULL);
	if (n > CORDON_MAX_IFACES) {
		snprintf(why, len, "%zu interfaces (at most %d)", n, CORDON_MAX_IFACES);
		return -1;
	}
	vm->ifaces = calloc(n + 1, sizeof(*vm->ifaces));
	if (!vm->ifaces) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (xmlNode *c = devices->children; c; c = c->next) {
		if (!is_elem(c, "interface", NULL))
			continue;
		vm->n_ifaces++; /* counted first, so a failure frees it too */
		if (parse_iface(c, cfg, &vm->ifaces[vm->n_ifaces - 1], why, len) < 0)
			return -1;
	}
	return 0;
}

static int parse_domain_xml(const char *xml, const struct agent_config *cfg,
			    struct inv_vm *vm, char *why, size_t len)
{
	xmlDoc *doc = parse_xml(xml, "domain", why, len);
	xmlNode *root, *devices;
	int rc = -1;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "domain", NULL)) {
		snprintf(why, len, "domain XML has no <domain> root");
	} else {
		devices = child_elem(root, "devices");
		rc = devices ? parse_interfaces(devices, cfg, vm, why, len) : 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* ------------------------------------------------------- cordon metadata */

static bool valid_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* <cordon:ip>: checked on the first pass, added on the second. */
static int metadata_ip(xmlNode *n, struct inv_iface *ifc, bool apply, char *why, size_t len)
{
	xmlChar *content = xmlNodeGetContent(n);
	const char *s = content ? (const char *)content : "";
	char ip[64];
	size_t l;
	int rc = 0;

	while (isspace((unsigned char)*s))
		s++;
	l = strcspn(s, " \t\r\n");
	if (l == 0 || l >= sizeof(ip) || s[l + strspn(s + l, " \t\r\n")] != '\0') {
		snprintf(why, len, "<ip> must hold one address");
		rc = -1;
	} else {
		memcpy(ip, s, l);
		ip[l] = '\0';
		if (!valid_ip(ip)) {
			snprintf(why, len, "<ip>%s</ip> is not an IP address", ip);
			rc = -1;
		} else if (apply && ifc && inventory_iface_add_ip(ifc, ip) < 0) {
			snprintf(why, len, "more than %d addresses on one interface", CORDON_MAX_IPS);
			rc = -1;
		}
	}
	xmlFree(content);
	return rc;
}

static int metadata_iface(xmlNode *n, struct inv_vm *vm, bool apply, char *why, size_t len)
{
	char text[32];
	struct mac mac;
	struct inv_iface *ifc;
	int n_ips = 0;

	if (prop_copy(n, "mac", text, sizeof(text)) != 1 || mac_parse(text, &mac) < 0) {
		snprintf(why, len, "<interface> without a valid mac=\"...\"");
		return -1;
	}
	/* NULL: the domain has no such NIC (now); its addresses are checked
	 * but not used. */
	ifc = find_iface(vm, &mac);
	for (xmlNode *c = n->children; c; c = c->next) {
		if (!is_md_elem(c, "ip"))
			continue;
		if (++n_ips > CORDON_MAX_IPS) {
			snprintf(why, len, "more than %d addresses for %s", CORDON_MAX_IPS, text);
			return -1;
		}
		if (metadata_ip(c, ifc, apply, why, len) < 0)
			return -1;
	}
	return 0;
}

static int parse_metadata(const char *md, struct inv_vm *vm, bool apply, char *why, size_t len)
{
	xmlDoc *doc = parse_xml(md, "metadata", why, len);
	xmlNode *root;
	int rc = 0;

	if (!doc)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (!is_md_elem(root, "vm")) {
		snprintf(why, len, "root element is not <vm>");
		rc = -1;
	}
	for (xmlNode *c = rc == 0 ? root->children : NULL; c && rc == 0; c = c->next)
		if (is_md_elem(c, "interface"))
			rc = metadata_iface(c, vm, apply, why, len);
	xmlFreeDoc(doc);
	return rc;
}

static char *get_metadata(virDomainPtr dom, bool active)
{
	char *md = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, CORDON_VM_XMLNS,
					VIR_DOMAIN_AFFECT_CURRENT);
	virErrorPtr e;

	if (md)
		return md;
	e = virGetLastError();
	if (!e || e->code != VIR_ERR_NO_DOMAIN_METADATA) {
		log_debug("libvirt: %s: metadata: %s", virDomainGetName(dom),
			  virGetLastErrorMessage());
		return NULL;
	}
	/* Written with --config only while the domain ran: not live yet. */
	return active ? virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, CORDON_VM_XMLNS,
					     VIR_DOMAIN_AFFECT_CONFIG) : NULL;
}

/* Bad metadata costs the VM its addresses, not its place (and cuts). */
static void read_metadata(virDomainPtr dom, struct inv_vm *vm, bool active)
{
	char *md = get_metadata(dom, active);
	char why[256];

	if (!md)
		return;
	if (parse_metadata(md, vm, false, why, sizeof(why)) < 0 ||
	    parse_metadata(md, vm, true, why, sizeof(why)) < 0)
		log_warnx("libvirt: VM %s: cordon metadata ignored: %s", vm->name, why);
	free(md);
}

/* ---------------------------------------------------- lease/ARP addresses */

static void add_guest_iface(struct inv_vm *vm, const virDomainInterface *gi)
{
	struct inv_iface *ifc;
	struct mac mac;

	if (!gi->hwaddr || mac_parse(gi->hwaddr, &mac) < 0 || !(ifc = find_iface(vm, &mac)))
		return;
	for (unsigned j = 0; j < gi->naddrs; j++)
		if (gi->addrs[j].addr && inventory_iface_add_ip(ifc, gi->addrs[j].addr) < 0)
			log_debug("libvirt: VM %s: address %s not used", vm->name,
				  gi->addrs[j].addr);
}

/* Failures are normal here (no libvirt network, no ARP entry yet). */
static void guest_addresses(virDomainPtr dom, struct inv_vm *vm, unsigned source)
{
	virDomainInterfacePtr *ifs = NULL;
	int n = virDomainInterfaceAddresses(dom, &ifs, source, 0);

	if (n < 0) {
		log_debug("libvirt: VM %s: addresses (source %u): %s", vm->name, source,
			  virGetLastErrorMessage());
		return;
	}
	for (int i = 0; i < n; i++) {
		add_guest_iface(vm, ifs[i]);
		virDomainInterfaceFree(ifs[i]);
	}
	free(ifs);
}

/* ------------------------------------------------------------- inventory */

static const char *state_name(int state)
{
	/* As virsh prints them. */
	switch (state) {
	case VIR_DOMAIN_RUNNING: return "running";
	case VIR_DOMAIN_BLOCKED: return "idle";
	case VIR_DOMAIN_PAUSED: return "paused";
	case VIR_DOMAIN_SHUTDOWN: return "in shutdown";
	case VIR_DOMAIN_SHUTOFF: return "shut off";
	case VIR_DOMAIN_CRASHED: return "crashed";
	case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
	default: return "no state";
	}
}

/* 1 (skip) when the domain vanished meanwhile, else -1 (abort the read). */
static int api_failed(const char *what, char *why, size_t len)
{
	virErrorPtr e = virGetLastError();

	if (e && e->code == VIR_ERR_NO_DOMAIN) {
		why[0] = '\0';
		return 1;
	}
	snprintf(why, len, "%s: %s", what, virGetLastErrorMessage());
	return -1;
}

/* 0 read, 1 skip (odd or gone; why says which), -1 libvirt failed. */
/* Interfaces cordon detached (their saved XML in the agent state) are
 * listed as if still in the domain, so the VM keeps its interface, scope
 * and metadata addresses in the inventory while it is cut. */
static void add_held(const struct agent_config *cfg, struct agent_state *held,
		     struct inv_vm *vm)
{
	struct vm_enforced *e = held ? state_find(held, vm->uuid) : NULL;

	for (size_t i = 0; e && i < e->n_held; i++) {
		struct inv_iface *ifs;
		xmlDoc *doc;
		char why[256];

		if (find_iface(vm, &e->held[i].mac) || vm->n_ifaces >= CORDON_MAX_IFACES ||
		    !(doc = parse_xml(e->held[i].xml, "saved interface", why, sizeof(why))))
			continue;
		ifs = realloc(vm->ifaces, (vm->n_ifaces + 2) * sizeof(*ifs));
		if (ifs) {
			vm->ifaces = ifs;
			memset(&ifs[vm->n_ifaces], 0, 2 * sizeof(*ifs));
			if (parse_iface(xmlDocGetRootElement(doc), cfg, &ifs[vm->n_ifaces], why,
					sizeof(why)) == 0)
				vm->n_ifaces++;
			else
				memset(&ifs[vm->n_ifaces], 0, sizeof(*ifs));
		}
		xmlFreeDoc(doc);
	}
}

static int read_domain(virDomainPtr dom, const struct agent_config *cfg, struct inv_vm *vm,
		       struct agent_state *held, char **xml_out, char *why, size_t len)
{
	const char *name = virDomainGetName(dom);
	int state, reason, autostart = 0, rc;
	char *xml;

	if (virDomainGetUUIDString(dom, vm->uuid) < 0 || !name)
		return api_failed("domain uuid", why, len);
	if (!codec_valid_uuid(vm->uuid) || strlcpy_checked(vm->name, name, sizeof(vm->name)) < 0) {
		snprintf(why, len, "%s: uuid or name not usable", vm->uuid);
		return 1;
	}
	if (virDomainGetState(dom, &state, &reason, 0) < 0 ||
	    virDomainGetAutostart(dom, &autostart) < 0)
		return api_failed(name, why, len);
	strcpy(vm->state, state_name(state));
	vm->autostart = autostart != 0;
	if (!(xml = virDomainGetXMLDesc(dom, 0)))
		return api_failed(name, why, len);
	rc = parse_domain_xml(xml, cfg, vm, why, len);
	if (rc < 0) {
		free(xml);
		return 1;
	}
	*xml_out = xml;
	add_held(cfg, held, vm);
	read_metadata(dom, vm, state != VIR_DOMAIN_SHUTOFF);
	if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED) {
		guest_addresses(dom, vm, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE);
		guest_addresses(dom, vm, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP);
	}
	return 0;
}

static int collect(virDomainPtr *doms, int n, const struct agent_config *cfg,
		   struct agent_state *held, struct inventory *inv, struct dom_xml *xmls,
		   char *err, size_t errlen)
{
	inv->vms = calloc((size_t)n + 1, sizeof(*inv->vms));
	if (!inv->vms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct inv_vm *vm = &inv->vms[inv->n];
		char why[512] = "";
		char *xml = NULL;
		int rc = read_domain(doms[i], cfg, vm, held, &xml, why, sizeof(why));

		if (rc == 0) {
			memcpy(xmls[inv->n].uuid, vm->uuid, sizeof(vm->uuid));
			xmls[inv->n].xml = xml;
			inv->n++;
			continue;
		}
		inventory_vm_free(vm);
		memset(vm, 0, sizeof(*vm));
		if (rc < 0) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		if (why[0])
			log_warnx("libvirt: domain %s skipped: %s", virDomainGetName(doms[i]), why);
	}
	return 0;
}

static int read_failed(struct virt *v, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "libvirt %s: %s", v->uri, what);
	set_error(v, what);
	if (virConnectIsAlive(v->conn) != 1)
		disconnect(v, what);
	else
		request_reload_at(v, now_mono_ms() + RETRY_READ_MS);
	return -1;
}

int virt_read_inventory(struct virt *v, const struct agent_config *cfg,
			struct agent_state *held, struct inventory *out, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	virDomainPtr *doms = NULL;
	struct dom_xml *xmls;
	char why[512];
	int n, rc;

	v->reload_pending = false;
	v->last_read = now_mono_ms();
	if (!v->conn) {
		snprintf(err, errlen, "libvirt %s: not connected (%s)", v->uri, v->last_error);
		return -1;
	}
	n = virConnectListAllDomains(v->conn, &doms, 0);
	if (n < 0) {
		snprintf(why, sizeof(why), "listing domains: %s", virGetLastErrorMessage());
		return read_failed(v, why, err, errlen);
	}
	xmls = calloc((size_t)n + 1, sizeof(*xmls));
	rc = xmls ? collect(doms, n, cfg, held, &inv, xmls, why, sizeof(why)) : -1;
	if (!xmls)
		snprintf(why, sizeof(why), "out of memory");
	for (int i = 0; i < n; i++)
		if (virDomainFree(doms[i]) < 0)
			log_debug("libvirt: virDomainFree: %s", virGetLastErrorMessage());
	free(doms);
	/* A connection lost half way may have hidden domains: all or nothing. */
	if (rc == 0 && virConnectIsAlive(v->conn) != 1) {
		snprintf(why, sizeof(why), "connection lost while reading");
		rc = -1;
	}
	if (rc < 0 || inventory_finish(&inv, why, sizeof(why)) < 0) {
		inventory_clear(&inv);
		xmls_free(xmls, (size_t)(n > 0 ? n : 0));
		return read_failed(v, why, err, errlen);
	}
	inventory_clear(out);
	*out = inv;
	xmls_free(v->xmls, v->n_xmls);
	v->xmls = xmls;
	v->n_xmls = (size_t)n;
	v->domains = inv.n;
	v->last_read_wall = (int64_t)(now_wall_ms() / 1000);
	return 0;
}

char *virt_iface_xml(const struct virt *v, const char *uuid, const struct mac *mac)
{
	char why[256];
	xmlDoc *doc;
	xmlNode *devices;
	char *out = NULL;

	for (size_t i = 0; i < v->n_xmls; i++) {
		if (!v->xmls[i].xml || strcmp(v->xmls[i].uuid, uuid) != 0)
			continue;
		if (!(doc = parse_xml(v->xmls[i].xml, "domain", why, sizeof(why))))
			return NULL;
		devices = child_elem(xmlDocGetRootElement(doc), "devices");
		for (xmlNode *c = devices ? devices->children : NULL; c && !out; c = c->next) {
			char text[32];
			struct mac m;
			xmlBuffer *buf;
			if (!is_elem(c, "interface", NULL) ||
			    prop_copy(child_elem(c, "mac"), "address", text, sizeof(text)) != 1 ||
			    mac_parse(text, &m) < 0 || mac_cmp(&m, mac) != 0)
				continue;
			buf = xmlBufferCreate();
			if (buf && xmlNodeDump(buf, doc, c, 0, 0) > 0)
				out = strdup((const char *)xmlBufferContent(buf));
			xmlBufferFree(buf);
		}
		xmlFreeDoc(doc);
		return out;
	}
	return NULL;
}

json_t *virt_status(const struct virt *v)
{
	return json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I}", "uri", v->uri,
			 "connected", v->conn != NULL, "last_error", v->last_error,
			 "domains", (json_int_t)v->domains,
			 "reconnects", (json_int_t)(v->connects ? v->connects - 1 : 0),
			 "connected_since", (json_int_t)(v->conn ? v->connected_since : 0),
			 "last_read", (json_int_t)v->last_read_wall,
			 "events", (json_int_t)atomic_load(&v->events));
}
