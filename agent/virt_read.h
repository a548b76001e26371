/* virt_read.c: one complete read of the host's domains from libvirt. */
#ifndef CORDON_AGENT_VIRT_READ_H
#define CORDON_AGENT_VIRT_READ_H

#include <libvirt/libvirt.h>
#include <stddef.h>

#include "config.h"
#include "inventory.h"
#include "state.h"

/* Namespace of the metadata element a provisioning system writes into the
 * domain XML to give each interface its addresses (docs/interfaces.md):
 *   <cordon:vm xmlns:cordon="https://cordon.dev/xmlns/vm/1">
 *     <cordon:interface mac="52:54:00:..."><cordon:ip>A</cordon:ip>...
 */
#define CORDON_VM_XMLNS "https://cordon.dev/xmlns/vm/1"

/* One domain as read: its XML (live when running) and the cordon metadata
 * text it was given (NULL if none or unusable). */
struct dom_xml {
	char uuid[65];
	char *xml;
	char *md;
};

/* Every domain over c, running or defined. 0: *out and *xmls (*n of them)
 * are the caller's; -1 with err and nothing to free. */
int virt_read_domains(virConnectPtr c, const struct agent_config *cfg, struct inventory *out,
		      struct dom_xml **xmls, size_t *n, char *err, size_t errlen);
void dom_xmls_free(struct dom_xml *x, size_t n);

/* What virt_read_domains does with each domain's text (and the fuzz
 * target, fuzz/fuzz_virt_xml.c). The interfaces of a domain XML into vm
 * (zeroed; inventory_vm_free() it either way): 0, or -1 with why. */
int virt_domain_parse(const char *xml, const struct agent_config *cfg,
		      struct inv_vm *vm, char *why, size_t len);
/* The addresses of the cordon metadata text onto vm's interfaces: 0, or
 * -1 with why when it is not usable. */
int virt_metadata_apply(const char *md, struct inv_vm *vm, char *why, size_t len);

/* Lists the interfaces cordon detached (their XML saved in held) in their
 * VM, with their metadata addresses, so a cut VM keeps its interface,
 * scope and addresses in the inventory. */
void virt_add_held(const struct agent_config *cfg, struct agent_state *held,
		   struct inventory *inv, const struct dom_xml *xmls, size_t n);

/* The <interface> element with this MAC in that domain's XML, malloc'ed;
 * NULL if unknown. */
char *dom_xml_iface(const struct dom_xml *xmls, size_t n, const char *uuid,
		    const struct mac *mac);

#endif
