/* virt_read.c: one complete read of a host's domains from libvirt into an
 * inventory: interfaces from the domain XML, scopes from the [scopes] map,
 * addresses from the cordon metadata element (docs/interfaces.md) and from
 * libvirt's lease/ARP sources. All or nothing: a read that fails half way
 * returns -1 and the caller keeps its last good inventory. A domain whose
 * XML cannot be understood is logged and left out, which lifts nothing:
 * the enforcer keeps the MACs of VMs it cannot find.
 *
 * Called from virt.c's reader thread; nothing here keeps state. */
#include "virt_read.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "util.h"

#define MAX_XML_BYTES (16 << 20)
#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

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

int virt_domain_parse(const char *xml, const struct agent_config *cfg,
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
	ifc = inventory_vm_iface(vm, &mac);
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

/* <cordon:contact>: a bad one costs the VM its contact only (logged once,
 * on the pass that applies). */
static void metadata_contact(xmlNode *n, struct inv_vm *vm, bool apply)
{
	xmlChar *content = xmlNodeGetContent(n);
	const char *s = content ? (const char *)content : "";
	const char *bad;

	while (isspace((unsigned char)*s))
		s++;
	if (apply) {
		bad = contact_problem(s);
		if (bad)
			log_warnx("libvirt: VM %s: <contact> ignored: it %s", vm->name, bad);
		else
			strcpy(vm->contact, s);
	}
	xmlFree(content);
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
		else if (is_md_elem(c, "contact"))
			metadata_contact(c, vm, apply);
	xmlFreeDoc(doc);
	return rc;
}

int virt_metadata_apply(const char *md, struct inv_vm *vm, char *why, size_t len)
{
	/* Checked whole first: a bad element costs every address, not some. */
	if (parse_metadata(md, vm, false, why, len) < 0)
		return -1;
	return parse_metadata(md, vm, true, why, len);
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

/* Bad metadata costs the VM its addresses, not its place (and cuts).
 * Returns the metadata text when used (kept for the held interfaces). */
static char *read_metadata(virDomainPtr dom, struct inv_vm *vm, bool active)
{
	char *md = get_metadata(dom, active);
	char why[256];

	if (!md)
		return NULL;
	if (virt_metadata_apply(md, vm, why, sizeof(why)) < 0) {
		log_warnx("libvirt: VM %s: cordon metadata ignored: %s", vm->name, why);
		free(md);
		return NULL;
	}
	return md;
}

/* ---------------------------------------------------- lease/ARP addresses */

static void add_guest_iface(struct inv_vm *vm, const virDomainInterface *gi)
{
	struct inv_iface *ifc;
	struct mac mac;

	if (!gi->hwaddr || mac_parse(gi->hwaddr, &mac) < 0 || !(ifc = inventory_vm_iface(vm, &mac)))
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

/* A port is a device that exists while the domain runs; a stopped
 * domain's interfaces are cut by MAC until it runs again. */
static void clear_ports(struct inv_vm *vm)
{
	for (size_t i = 0; i < vm->n_ifaces; i++)
		vm->ifaces[i].target[0] = '\0';
}

/* 0 read, 1 skip (odd or gone; why says which), -1 libvirt failed. */
static int read_domain(virDomainPtr dom, const struct agent_config *cfg, struct inv_vm *vm,
		       struct dom_xml *out, char *why, size_t len)
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
	vm->domain_id = state == VIR_DOMAIN_SHUTOFF ? -1 : (int)virDomainGetID(dom);
	if (!(xml = virDomainGetXMLDesc(dom, 0)))
		return api_failed(name, why, len);
	rc = virt_domain_parse(xml, cfg, vm, why, len);
	if (rc < 0) {
		free(xml);
		return 1;
	}
	if (state == VIR_DOMAIN_SHUTOFF)
		clear_ports(vm); /* a configured <target dev> names no device yet */
	out->xml = xml;
	out->md = read_metadata(dom, vm, state != VIR_DOMAIN_SHUTOFF);
	if (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_PAUSED) {
		guest_addresses(dom, vm, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE);
		guest_addresses(dom, vm, VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP);
	}
	return 0;
}

static int collect(virDomainPtr *doms, int n, const struct agent_config *cfg,
		   struct inventory *inv, struct dom_xml *xmls, char *err, size_t errlen)
{
	inv->complete = true;
	inv->vms = calloc((size_t)n + 1, sizeof(*inv->vms));
	if (!inv->vms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct inv_vm *vm = &inv->vms[inv->n];
		char why[512] = "";
		int rc = read_domain(doms[i], cfg, vm, &xmls[inv->n], why, sizeof(why));

		if (rc == 0) {
			memcpy(xmls[inv->n].uuid, vm->uuid, sizeof(vm->uuid));
			inv->n++;
			continue;
		}
		inventory_vm_free(vm);
		memset(vm, 0, sizeof(*vm));
		if (rc < 0) {
			snprintf(err, errlen, "%s", why);
			return -1;
		}
		if (why[0]) {
			/* Its cut (if any) must not be lifted for being absent. */
			log_warnx("libvirt: domain %s skipped: %s; this host's inventory is "
				  "incomplete", virDomainGetName(doms[i]), why);
			inv->complete = false;
		}
	}
	return 0;
}

int virt_read_domains(virConnectPtr c, const struct agent_config *cfg, struct inventory *out,
		      struct dom_xml **xmls_out, size_t *n_out, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	virDomainPtr *doms = NULL;
	struct dom_xml *xmls;
	int n = virConnectListAllDomains(c, &doms, 0), rc;

	if (n < 0) {
		snprintf(err, errlen, "listing domains: %s", virGetLastErrorMessage());
		return -1;
	}
	xmls = calloc((size_t)n + 1, sizeof(*xmls));
	rc = xmls ? collect(doms, n, cfg, &inv, xmls, err, errlen) : -1;
	if (!xmls)
		snprintf(err, errlen, "out of memory");
	for (int i = 0; i < n; i++)
		if (virDomainFree(doms[i]) < 0)
			log_debug("libvirt: virDomainFree: %s", virGetLastErrorMessage());
	free(doms);
	/* A connection lost half way may have hidden domains: all or nothing. */
	if (rc == 0 && virConnectIsAlive(c) != 1) {
		snprintf(err, errlen, "connection lost while reading");
		rc = -1;
	}
	if (rc < 0 || inventory_finish(&inv, err, errlen) < 0) {
		inventory_clear(&inv);
		dom_xmls_free(xmls, (size_t)n);
		return -1;
	}
	*out = inv;
	*xmls_out = xmls;
	*n_out = inv.n;
	return 0;
}

void dom_xmls_free(struct dom_xml *x, size_t n)
{
	for (size_t i = 0; x && i < n; i++) {
		free(x[i].xml);
		free(x[i].md);
	}
	free(x);
}

static const struct dom_xml *dom_xml_find(const struct dom_xml *x, size_t n, const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(x[i].uuid, uuid) == 0)
			return &x[i];
	return NULL;
}

/* Interfaces cordon detached (their saved XML in the agent state) are
 * listed as if still in the domain, so the VM keeps its interface, scope
 * and metadata addresses in the inventory while it is cut. */
static void add_held(const struct agent_config *cfg, const struct vm_enforced *e,
		     struct inv_vm *vm)
{
	for (size_t i = 0; i < e->n_held; i++) {
		struct inv_iface *ifs;
		xmlDoc *doc;
		char why[256];

		if (inventory_vm_iface(vm, &e->held[i].mac) || vm->n_ifaces >= CORDON_MAX_IFACES ||
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


void virt_add_held(const struct agent_config *cfg, struct agent_state *held,
		   struct inventory *inv, const struct dom_xml *xmls, size_t n_xmls)
{
	for (size_t i = 0; held && i < held->n; i++) {
		struct inv_vm *vm;
		const struct dom_xml *x;
		char why[256];

		if (!held->vms[i].n_held || !(vm = inventory_find_mut(inv, held->vms[i].uuid)))
			continue;
		add_held(cfg, &held->vms[i], vm);
		/* Their addresses too (adding is idempotent). */
		x = dom_xml_find(xmls, n_xmls, vm->uuid);
		if (x && x->md && parse_metadata(x->md, vm, true, why, sizeof(why)) < 0)
			log_debug("libvirt: VM %s: metadata: %s", vm->name, why);
	}
}

char *dom_xml_iface(const struct dom_xml *xmls, size_t n, const char *uuid,
		    const struct mac *mac)
{
	const struct dom_xml *x = dom_xml_find(xmls, n, uuid);
	char why[256], text[32];
	xmlDoc *doc;
	xmlNode *devices;
	char *out = NULL;
	struct mac m;

	if (!x || !x->xml || !(doc = parse_xml(x->xml, "domain", why, sizeof(why))))
		return NULL;
	devices = child_elem(xmlDocGetRootElement(doc), "devices");
	for (xmlNode *c = devices ? devices->children : NULL; c && !out; c = c->next) {
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
