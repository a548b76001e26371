/* state_dump.c: the state file's text, written straight into a buffer.
 *
 * The file is rewritten whole on every change (state.c: tmp, fsync,
 * rename), so its cost is paid per cut: building a jansson tree of every
 * VM and freeing it again took ~9 us a VM (0.94 s at 100k VMs). The layout
 * is the one state_load reads (jansson), field for field. */
#include "state_dump.h"

#include "codec.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void out_reserve(struct out *o, size_t more)
{
	size_t cap = o->cap ? o->cap : 4096;
	char *b;

	if (o->failed || o->len + more + 1 <= o->cap)
		return;
	while (cap < o->len + more + 1)
		cap *= 2;
	b = realloc(o->buf, cap);
	if (!b) {
		o->failed = true;
		return;
	}
	o->buf = b;
	o->cap = cap;
}

static void out_raw(struct out *o, const char *s, size_t n)
{
	out_reserve(o, n);
	if (o->failed)
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_lit(struct out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control characters escaped;
 * other bytes as they are (UTF-8 checked by the caller where it matters). */
static void out_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	out_raw(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		out_raw(o, run, (size_t)(s - run));
		if (c == '"' || c == '\\')
			out_raw(o, (char[]){ '\\', (char)c }, 2);
		else
			out_raw(o, esc, sizeof(esc));
		run = s + 1;
	}
	out_raw(o, run, (size_t)(s - run));
	out_raw(o, "\"", 1);
}

static void out_int(struct out *o, long long v)
{
	char b[24];

	out_raw(o, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

static void out_bool(struct out *o, bool v)
{
	out_lit(o, v ? "true" : "false");
}

static void out_mac(struct out *o, const struct mac *m)
{
	char b[MAC_STRLEN + 2] = "\"";

	mac_format(m, b + 1);
	b[MAC_STRLEN] = '"';
	out_raw(o, b, MAC_STRLEN + 1);
}

static void dump_macs(struct out *o, const struct vm_enforced *vm)
{
	out_lit(o, ", \"macs\": {");
	for (int s = 0; s < SCOPE_COUNT; s++) {
		out_lit(o, s ? ", " : "");
		out_str(o, scope_name(s));
		out_lit(o, ": [");
		for (size_t i = 0; i < vm->macs[s].n; i++) {
			out_lit(o, i ? ", " : "");
			out_mac(o, &vm->macs[s].v[i]);
		}
		out_lit(o, "]");
	}
	out_lit(o, "}");
}

static void dump_held(struct out *o, const struct vm_enforced *vm)
{
	out_lit(o, ", \"held\": [");
	for (size_t i = 0; i < vm->n_held; i++) {
		const struct held_iface *h = &vm->held[i];
		out_lit(o, i ? ", {\"mac\": " : "{\"mac\": ");
		out_mac(o, &h->mac);
		out_lit(o, ", \"scope\": ");
		out_str(o, scope_name(h->scope));
		out_lit(o, ", \"mechanism\": ");
		out_str(o, state_held_mech_name(h->mech));
		out_lit(o, ", \"xml\": ");
		out_str(o, h->xml);
		out_lit(o, ", \"unplug_pending\": ");
		out_bool(o, h->unplug_pending);
		out_lit(o, ", \"domain_id\": ");
		out_int(o, h->domain_id);
		out_lit(o, "}");
	}
	out_lit(o, "]");
}

static void dump_vm(struct out *o, const struct vm_enforced *vm)
{
	out_lit(o, "{\"uuid\": ");
	out_str(o, vm->uuid);
	out_lit(o, ", \"generation\": ");
	out_int(o, (long long)vm->generation); /* <= INT64_MAX: vm_saveable */
	out_lit(o, ", \"scopes\": [");
	for (int s = 0, n = 0; s < SCOPE_COUNT; s++)
		if (vm->scopes & (1u << s)) {
			out_lit(o, n++ ? ", " : "");
			out_str(o, scope_name(s));
		}
	out_lit(o, "], \"power_off\": ");
	out_bool(o, vm->power_off);
	dump_macs(o, vm);
	/* Written only when used: files without libvirt stay as they were. */
	if (vm->n_held)
		dump_held(o, vm);
	if (vm->power.saved) {
		out_lit(o, ", \"power\": {\"held\": ");
		out_bool(o, vm->power.held);
		out_lit(o, ", \"was_running\": ");
		out_bool(o, vm->power.was_running);
		out_lit(o, ", \"autostart\": ");
		out_bool(o, vm->power.autostart);
		out_lit(o, "}");
	}
	if (vm->n_ports) {
		out_lit(o, ", \"ports\": {");
		for (size_t i = 0; i < vm->n_ports; i++) {
			out_lit(o, i ? ", " : "");
			out_mac(o, &vm->ports[i].mac);
			out_lit(o, ": ");
			out_str(o, vm->ports[i].port);
		}
		out_lit(o, "}");
	}
	if (vm->restarted) {
		out_lit(o, ", \"restarted_by_someone\": ");
		out_int(o, vm->restarted);
	}
	out_lit(o, "}");
}

/* ASCII (ports, XML as libvirt writes it) is valid as it is; anything else
 * is checked by jansson, which refuses on load what is not UTF-8. */
static bool utf8_ok(const char *s)
{
	const char *p = s;
	json_t *j;
	bool ok;

	while (*p && !((unsigned char)*p & 0x80))
		p++;
	if (!*p)
		return true;
	j = json_string(s);
	ok = j != NULL;
	json_decref(j);
	return ok;
}

/* Refuse to write what state_load would refuse to read: a file the agent
 * cannot load at start means no cuts re-applied. */
static bool vm_saveable(const struct vm_enforced *vm)
{
	if (!codec_valid_uuid(vm->uuid) || vm->generation > INT64_MAX ||
	    (vm->scopes & ~(uint32_t)SCOPE_ALL))
		return false;
	for (int s = 0; s < SCOPE_COUNT; s++)
		for (size_t i = 0; i < vm->macs[s].n; i++)
			if (!mac_is_unicast(&vm->macs[s].v[i]))
				return false;
	for (size_t i = 0; i < vm->n_held; i++)
		if (!mac_is_unicast(&vm->held[i].mac) || !vm->held[i].xml ||
		    !vm->held[i].xml[0] || vm->held[i].scope < 0 ||
		    vm->held[i].scope >= SCOPE_COUNT || !utf8_ok(vm->held[i].xml))
			return false;
	for (size_t i = 0; i < vm->n_ports; i++)
		if (!utf8_ok(vm->ports[i].port))
			return false;
	return true;
}

char *state_dump(const struct agent_state *state, int version)
{
	struct out o = { 0 };

	for (size_t i = 0; i < state->n; i++)
		if (!vm_saveable(&state->vms[i])) {
			errno = EINVAL;
			return NULL;
		}
	out_lit(&o, "{\"version\": ");
	out_int(&o, version);
	out_lit(&o, ", \"vms\": [");
	for (size_t i = 0; i < state->n; i++) {
		out_lit(&o, i ? ",\n " : "\n ");
		dump_vm(&o, &state->vms[i]);
	}
	out_lit(&o, "]}");
	if (o.failed) {
		free(o.buf);
		errno = ENOMEM;
		return NULL;
	}
	return o.buf;
}
