#include "codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mac.h"
#include "utf8.h"

/* Room for the deepest path, "inventory.vms[N].interfaces[N].ips[N]",
 * whatever the indices. */
#define PATH_MAX_LEN 128

struct vctx {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 4, 5))) static int
fail(struct vctx *v, const char *path, const char *field, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!v->err || v->errlen == 0)
		return -1;
	n = snprintf(v->err, v->errlen, "%s%s%s: ", path,
		     *path && *field ? "." : "", field);
	if (n < 0 || (size_t)n >= v->errlen)
		return -1;
	/* A cut reason still names the field: no need to check. */
	va_start(ap, fmt);
	(void)vsnprintf(v->err + n, v->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* p = base + name + "[i]", e.g. "hello.vms[3]". */
static const char *elem_path(char p[PATH_MAX_LEN], const char *base,
			     const char *name, size_t i)
{
	int n = snprintf(p, PATH_MAX_LEN, "%s%s[%zu]", base, name, i);

	/* Cannot happen with our paths; a cut path would only shorten the
	 * reason, never change the verdict. */
	if (n < 0 || n >= PATH_MAX_LEN)
		p[PATH_MAX_LEN - 1] = '\0';
	return p;
}

static int check_str(struct vctx *v, const char *path, const char *field,
		     const char *s)
{
	size_t len = strnlen(s, CORDON_MAX_STR + 1);

	if (len > CORDON_MAX_STR)
		return fail(v, path, field, "longer than %d bytes",
			    CORDON_MAX_STR);
	/* proto3 strings must be UTF-8, and jansson (status, cordonctl
	 * --json) refuses anything else: better refused here than half-way. */
	if (!utf8_valid(s))
		return fail(v, path, field, "not valid UTF-8");
	return 0;
}

static int check_count(struct vctx *v, const char *path, const char *field,
		       size_t n, size_t limit)
{
	if (n > limit)
		return fail(v, path, field, "%zu items, limit %zu", n, limit);
	return 0;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

int codec_valid_host_id(const char *s)
{
	size_t len = strspn(s, ALNUM "._-");

	/* "." and ".." would name directories if the id is ever a path part. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	return len >= 1 && len <= 64 && s[len] == '\0';
}

int codec_valid_uuid(const char *s)
{
	size_t len = strspn(s, ALNUM "-");

	return len >= 1 && len <= 64 && s[len] == '\0';
}

static int check_uuid(struct vctx *v, const char *path, const char *field,
		      const char *s)
{
	if (!codec_valid_uuid(s))
		return fail(v, path, field,
			    "not a uuid (1-64 of A-Z a-z 0-9 -)");
	return 0;
}

static int check_ip(struct vctx *v, const char *path, const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, addr) == 1 ||
	    inet_pton(AF_INET6, s, addr) == 1)
		return 0;
	return fail(v, path, "", "not an IPv4 or IPv6 address");
}

static int check_mac(struct vctx *v, const char *path, const char *s)
{
	struct mac mac;

	if (mac_parse(s, &mac) < 0)
		return fail(v, path, "mac", "not a MAC address");
	if (!mac_is_unicast(&mac))
		return fail(v, path, "mac", "not a unicast MAC address");
	return 0;
}

static int check_iface(struct vctx *v, const char *path,
		       const Cordon__Interface *ifc)
{
	char p[PATH_MAX_LEN];

	if (check_mac(v, path, ifc->mac) < 0 ||
	    check_str(v, path, "bridge", ifc->bridge) < 0 ||
	    check_str(v, path, "target", ifc->target) < 0 ||
	    check_str(v, path, "model", ifc->model) < 0 ||
	    check_count(v, path, "ips", ifc->n_ips, CORDON_MAX_IPS) < 0)
		return -1;
	if (strcmp(ifc->scope, "") != 0 && strcmp(ifc->scope, "public") != 0 &&
	    strcmp(ifc->scope, "private") != 0)
		return fail(v, path, "scope",
			    "not \"public\", \"private\" or \"\"");
	for (size_t i = 0; i < ifc->n_ips; i++) {
		if (check_ip(v, elem_path(p, path, ".ips", i), ifc->ips[i]) < 0)
			return -1;
	}
	return 0;
}

static int check_vm(struct vctx *v, const char *path, const Cordon__Vm *vm)
{
	char p[PATH_MAX_LEN];

	if (check_uuid(v, path, "uuid", vm->uuid) < 0 ||
	    check_str(v, path, "name", vm->name) < 0 ||
	    check_str(v, path, "state", vm->state) < 0 ||
	    check_str(v, path, "contact", vm->contact) < 0 ||
	    check_count(v, path, "interfaces", vm->n_interfaces,
			CORDON_MAX_IFACES) < 0)
		return -1;
	for (size_t i = 0; i < vm->n_interfaces; i++) {
		if (check_iface(v, elem_path(p, path, ".interfaces", i),
				vm->interfaces[i]) < 0)
			return -1;
	}
	return 0;
}

/* Scope bits a newer controller may send that this build does not know:
 * passed on in a desired state (the agent cuts everything it knows for
 * them, enforce.c), refused anywhere else. */
enum scope_bits { KNOWN_SCOPES_ONLY, FUTURE_SCOPES_OK };

static int check_vmstate(struct vctx *v, const char *path,
			 const Cordon__VmState *st, enum scope_bits bits)
{
	if (check_uuid(v, path, "uuid", st->uuid) < 0 ||
	    check_str(v, path, "mechanisms", st->mechanisms) < 0 ||
	    check_str(v, path, "error", st->error) < 0)
		return -1;
	if (bits == KNOWN_SCOPES_ONLY && (st->scopes & ~(uint32_t)SCOPE_ALL))
		return fail(v, path, "scopes", "unknown bits 0x%x",
			    st->scopes & ~(uint32_t)SCOPE_ALL);
	return 0;
}

struct uuid_ref {
	const char *uuid;
	size_t idx;
};

static int uuid_ref_cmp(const void *a, const void *b)
{
	const struct uuid_ref *x = a, *y = b;
	int c = strcmp(x->uuid, y->uuid);

	if (c)
		return c;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The element types differ but all carry a uuid: the caller says how to
 * reach the i-th one. */
typedef const char *(*uuid_of_fn)(const void *items, size_t i);

static const char *vm_uuid(const void *items, size_t i)
{
	return ((Cordon__Vm *const *)items)[i]->uuid;
}

static const char *vmstate_uuid(const void *items, size_t i)
{
	return ((Cordon__VmState *const *)items)[i]->uuid;
}

static const char *str_uuid(const void *items, size_t i)
{
	return ((char *const *)items)[i];
}

/* Sorting keeps a 1M-item message O(n log n); the index tie-break names
 * the first occurrence in the reason. field is "uuid", or "" when the
 * items are uuids themselves. */
static int check_no_dup(struct vctx *v, const char *path, const char *field,
			const void *items, size_t n, uuid_of_fn uuid_of)
{
	char p[PATH_MAX_LEN];
	struct uuid_ref *refs;
	int rc = 0;

	if (n < 2)
		return 0;
	refs = calloc(n, sizeof(*refs));
	if (!refs)
		return fail(v, path, "", "out of memory checking uuids");
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct uuid_ref){ uuid_of(items, i), i };
	qsort(refs, n, sizeof(*refs), uuid_ref_cmp);
	for (size_t i = 1; i < n && rc == 0; i++) {
		if (strcmp(refs[i - 1].uuid, refs[i].uuid) != 0)
			continue;
		rc = fail(v, elem_path(p, path, "", refs[i].idx), field,
			  "duplicate of %s[%zu]", path, refs[i - 1].idx);
	}
	free(refs);
	return rc;
}

static int check_vms(struct vctx *v, const char *path, Cordon__Vm **vms,
		     size_t n)
{
	char p[PATH_MAX_LEN];

	if (check_count(v, path, "", n, CORDON_MAX_ITEMS) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (check_vm(v, elem_path(p, path, "", i), vms[i]) < 0)
			return -1;
	}
	return check_no_dup(v, path, "uuid", vms, n, vm_uuid);
}

static int check_vmstates(struct vctx *v, const char *path,
			  Cordon__VmState **sts, size_t n, enum scope_bits bits)
{
	char p[PATH_MAX_LEN];

	if (check_count(v, path, "", n, CORDON_MAX_ITEMS) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (check_vmstate(v, elem_path(p, path, "", i), sts[i], bits) < 0)
			return -1;
	}
	return check_no_dup(v, path, "uuid", sts, n, vmstate_uuid);
}

static int check_hello(struct vctx *v, const Cordon__Hello *h)
{
	if (!codec_valid_host_id(h->host_id))
		return fail(v, "hello", "host_id",
			    "not a host id (1-64 of A-Z a-z 0-9 . _ -)");
	if (check_str(v, "hello", "version", h->version) < 0 ||
	    check_vms(v, "hello.vms", h->vms, h->n_vms) < 0)
		return -1;
	return check_vmstates(v, "hello.enforced", h->enforced, h->n_enforced,
			      KNOWN_SCOPES_ONLY);
}

/* The leader's endpoint is only compared with the agent's own list, and
 * logged: printable ASCII without spaces is all it needs to be, so a
 * newer controller's endpoint syntax still gets through. */
static int check_not_leader(struct vctx *v, const Cordon__NotLeader *nl)
{
	if (check_str(v, "not_leader", "leader", nl->leader) < 0)
		return -1;
	for (const char *p = nl->leader; *p; p++)
		if (*p <= ' ' || *p > '~')
			return fail(v, "not_leader", "leader",
				    "not printable ASCII without spaces");
	return 0;
}

static int check_inventory(struct vctx *v, const Cordon__Inventory *inv)
{
	char p[PATH_MAX_LEN];

	if (check_vms(v, "inventory.vms", inv->vms, inv->n_vms) < 0 ||
	    check_count(v, "inventory", "removed", inv->n_removed,
			CORDON_MAX_ITEMS) < 0)
		return -1;
	for (size_t i = 0; i < inv->n_removed; i++) {
		if (check_uuid(v, elem_path(p, "inventory.removed", "", i), "",
			       inv->removed[i]) < 0)
			return -1;
	}
	return check_no_dup(v, "inventory.removed", "", inv->removed,
			    inv->n_removed, str_uuid);
}

/* Highest field number protobuf allows (2^29 - 1). */
#define PB_MAX_FIELD 0x1fffffffu

/* protobuf-c keeps unknown fields for re-encoding, but accepts a field
 * number 0 spelled as a non-minimal varint: such a message could not be
 * sent on again. Walk every sub-message through the descriptors. */
static int check_unknown(struct vctx *v, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		uint32_t tag = m->unknown_fields[i].tag;

		if (tag == 0 || tag > PB_MAX_FIELD)
			return fail(v, "envelope", "",
				    "invalid field number %u in %s", tag,
				    d->short_name);
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		ProtobufCMessage *const *subs;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		subs = (ProtobufCMessage *const *)(base + f->offset);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			subs = *(ProtobufCMessage *const *const *)subs;
		} else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			   *(const uint32_t *)(base + f->quantifier_offset) !=
				   f->id) {
			continue;
		}
		for (size_t k = 0; k < n; k++)
			if (subs[k] && check_unknown(v, subs[k]) < 0)
				return -1;
	}
	return 0;
}

static int check_body(struct vctx *v, const Cordon__Envelope *env)
{
	switch (env->body_case) {
	case CORDON__ENVELOPE__BODY_HELLO:
		return check_hello(v, env->hello);
	case CORDON__ENVELOPE__BODY_DESIRED:
		return check_vmstates(v, "desired.vms", env->desired->vms,
				      env->desired->n_vms, FUTURE_SCOPES_OK);
	case CORDON__ENVELOPE__BODY_ACK:
		return check_vmstates(v, "ack.vms", env->ack->vms,
				      env->ack->n_vms, KNOWN_SCOPES_ONLY);
	case CORDON__ENVELOPE__BODY_REFUSED:
		return check_str(v, "refused", "reason", env->refused->reason);
	case CORDON__ENVELOPE__BODY_INVENTORY:
		return check_inventory(v, env->inventory);
	case CORDON__ENVELOPE__BODY_NOT_LEADER:
		return check_not_leader(v, env->not_leader);
	case CORDON__ENVELOPE__BODY_HEARTBEAT:
	case CORDON__ENVELOPE__BODY_HELLO_REQUIRED:
		return 0;
	case CORDON__ENVELOPE__BODY__NOT_SET:
		return fail(v, "envelope", "body", "not set");
	default:
		/* protobuf-c only sets known cases; belt and braces. */
		return fail(v, "envelope", "body", "unknown case %d",
			    (int)env->body_case);
	}
}

/* protobuf-c allocates every element on its own: two bytes on the wire (an
 * empty sub-message) cost about a hundred here, so a full-size message of
 * empty items would take gigabytes before the item limits could refuse it.
 * The decoder gets a budget proportional to the message instead. */
struct decode_budget {
	size_t left;
	int exceeded;
};

static void *budget_alloc(void *data, size_t size)
{
	struct decode_budget *b = data;
	size_t cost = size + 16; /* malloc's own header and rounding, about */

	if (cost < size || cost > b->left) {
		b->exceeded = 1;
		return NULL;
	}
	b->left -= cost; /* never given back: what the decoder frees it still had */
	return malloc(size);
}

static void budget_free(void *data, void *ptr)
{
	(void)data;
	free(ptr); /* what codec_free (the default allocator) expects */
}

size_t codec_decode_budget(size_t len)
{
	return len * CORDON_DECODE_FACTOR + CORDON_DECODE_SLACK;
}

static Cordon__Envelope *envelope_unpack_budgeted(const void *buf, size_t len,
						  struct vctx *v)
{
	struct decode_budget b = { codec_decode_budget(len), 0 };
	ProtobufCAllocator alloc = { budget_alloc, budget_free, &b };
	Cordon__Envelope *env = cordon__envelope__unpack(&alloc, len, buf);

	if (!env && b.exceeded)
		fail(v, "envelope", "", "decoding %zu bytes needs more than %zu bytes of memory "
		     "(too many items)", len, codec_decode_budget(len));
	else if (!env)
		fail(v, "envelope", "", "malformed protobuf");
	return env;
}

bool codec_version_readable(uint32_t stamp)
{
	return stamp >= CORDON_PROTO_MIN && stamp <= CORDON_PROTO_READ_MAX;
}

bool codec_version_compatible(uint32_t peer_version)
{
	return peer_version + 1 >= CORDON_PROTO_VERSION &&
	       peer_version <= CORDON_PROTO_VERSION + 1u;
}

uint32_t codec_negotiate(uint32_t peer_version)
{
	return peer_version < CORDON_PROTO_VERSION ? peer_version :
						     CORDON_PROTO_VERSION;
}

/* A protocol-1 sender sets neither sender field: its own version is its
 * stamp. */
static void peer_versions(const Cordon__Envelope *env, struct codec_peer *peer)
{
	peer->stamp = env->version;
	peer->version = env->sender_version ? env->sender_version : env->version;
	peer->version_refused = !codec_version_readable(env->version);
}

Cordon__Envelope *codec_decode_peer(const void *buf, size_t len,
				    struct codec_peer *peer, char *err,
				    size_t errlen)
{
	struct vctx v = { err, errlen };
	struct codec_peer seen;
	Cordon__Envelope *env;

	if (!peer)
		peer = &seen;
	memset(peer, 0, sizeof(*peer));
	if (len == 0) {
		fail(&v, "envelope", "", "empty message");
		return NULL;
	}
	if (len > CORDON_MAX_MSG) {
		fail(&v, "envelope", "", "%zu bytes, limit %d", len,
		     CORDON_MAX_MSG);
		return NULL;
	}
	env = envelope_unpack_budgeted(buf, len, &v);
	if (!env)
		return NULL;
	peer_versions(env, peer);
	if (peer->version_refused) {
		fail(&v, "envelope", "version",
		     "protocol %u (stamped %u), this build (protocol %d) talks with %d-%d",
		     peer->version, peer->stamp, CORDON_PROTO_VERSION, CORDON_PROTO_MIN,
		     CORDON_PROTO_READ_MAX);
		codec_free(env);
		return NULL;
	}
	if (check_body(&v, env) < 0 || check_unknown(&v, &env->base) < 0) {
		codec_free(env);
		return NULL;
	}
	return env;
}

Cordon__Envelope *codec_decode(const void *buf, size_t len, char *err,
			       size_t errlen)
{
	return codec_decode_peer(buf, len, NULL, err, errlen);
}

void codec_free(Cordon__Envelope *env)
{
	if (env)
		cordon__envelope__free_unpacked(env, NULL);
}

#ifdef CORDON_PROTO_VERSION_OVERRIDE
/* A test build plays a newer peer: every envelope also carries a field
 * this schema does not have (number 1000, varint 1), which receivers must
 * ignore. */
static const uint8_t future_field[] = { 0xc0, 0x3e, 0x01 };
#define FUTURE_FIELD_LEN sizeof(future_field)
#else
static const uint8_t future_field[1];
#define FUTURE_FIELD_LEN 0
#endif

int codec_encode_as(Cordon__Envelope *env, uint32_t version, uint8_t **out,
		    size_t *len)
{
	size_t size, packed;
	uint8_t *buf;

	env->version = version;
	env->sender_version = CORDON_PROTO_VERSION;
	env->sender_min = CORDON_PROTO_MIN;
	size = cordon__envelope__get_packed_size(env);
	/* The peer would refuse it (and ZMQ_MAXMSGSIZE drop the link). */
	if (size + FUTURE_FIELD_LEN > CORDON_MAX_MSG) {
		errno = EMSGSIZE;
		return -1;
	}
	buf = malloc(size + FUTURE_FIELD_LEN + 1); /* never malloc(0) */
	if (!buf)
		return -1;
	packed = cordon__envelope__pack(env, buf);
	if (packed != size) {
		free(buf);
		errno = EPROTO;
		return -1;
	}
	/* Fields may come in any order: appended is as good as inside. */
	memcpy(buf + size, future_field, FUTURE_FIELD_LEN);
	*out = buf;
	*len = size + FUTURE_FIELD_LEN;
	return 0;
}

int codec_encode(Cordon__Envelope *env, uint8_t **out, size_t *len)
{
	return codec_encode_as(env, CORDON_PROTO_VERSION, out, len);
}

const char *codec_body_name(const Cordon__Envelope *env)
{
	switch (env->body_case) {
	case CORDON__ENVELOPE__BODY_HELLO:
		return "hello";
	case CORDON__ENVELOPE__BODY_DESIRED:
		return "desired";
	case CORDON__ENVELOPE__BODY_ACK:
		return "ack";
	case CORDON__ENVELOPE__BODY_HEARTBEAT:
		return "heartbeat";
	case CORDON__ENVELOPE__BODY_REFUSED:
		return "refused";
	case CORDON__ENVELOPE__BODY_HELLO_REQUIRED:
		return "hello_required";
	case CORDON__ENVELOPE__BODY_INVENTORY:
		return "inventory";
	case CORDON__ENVELOPE__BODY_NOT_LEADER:
		return "not_leader";
	default:
		return "unknown";
	}
}
