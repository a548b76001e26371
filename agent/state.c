#include "state.h"
#include "state_dump.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#include "codec.h"

#define STATE_VERSION 1

/* ---- helpers shared by load and save ---- */

__attribute__((format(printf, 3, 4))) static int
state_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return -1;
	/* A cut reason is still a reason: no need to check. */
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void vm_clear(struct vm_enforced *vm)
{
	for (int s = 0; s < SCOPE_COUNT; s++)
		mac_list_clear(&vm->macs[s]);
	for (size_t i = 0; i < vm->n_held; i++)
		free(vm->held[i].xml);
	free(vm->held);
	vm->held = NULL;
	vm->n_held = 0;
	free(vm->ports);
	vm->ports = NULL;
	vm->n_ports = 0;
}

const char *state_port_of(const struct vm_enforced *vm, const struct mac *mac)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		if (mac_cmp(&vm->ports[i].mac, mac) == 0)
			return vm->ports[i].port;
	return NULL;
}

static void port_forget(struct vm_enforced *vm, const struct mac *mac)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		if (mac_cmp(&vm->ports[i].mac, mac) == 0) {
			vm->ports[i] = vm->ports[--vm->n_ports];
			return;
		}
}

int state_port_set(struct vm_enforced *vm, const struct mac *mac, const char *port)
{
	struct vm_port *p;

	if (!port || !*port) {
		port_forget(vm, mac);
		return 0;
	}
	if (!ifname_valid(port))
		return -1;
	for (size_t i = 0; i < vm->n_ports; i++)
		if (mac_cmp(&vm->ports[i].mac, mac) == 0) {
			strcpy(vm->ports[i].port, port);
			return 0;
		}
	p = realloc(vm->ports, (vm->n_ports + 1) * sizeof(*p));
	if (!p)
		return -1;
	vm->ports = p;
	p[vm->n_ports].mac = *mac;
	strcpy(p[vm->n_ports++].port, port);
	return 0;
}

static const char *const held_names[] = {
	[HELD_DETACHING] = "detaching", [HELD_DETACH] = "detach",
	[HELD_LINK_DOWN] = "link-down", [HELD_UNPLUG_PENDING] = "unplug-pending",
};

const char *state_held_mech_name(enum held_mech m)
{
	return (unsigned)m < sizeof(held_names) / sizeof(held_names[0]) ? held_names[m] : "?";
}

struct held_iface *state_held_find(struct vm_enforced *vm, const struct mac *mac)
{
	for (size_t i = 0; i < vm->n_held; i++)
		if (mac_cmp(&vm->held[i].mac, mac) == 0)
			return &vm->held[i];
	return NULL;
}

struct held_iface *state_held_add(struct vm_enforced *vm, const struct mac *mac,
				  int scope, const char *xml)
{
	struct held_iface *h = state_held_find(vm, mac), *v;
	char *copy;

	if (h)
		return h;
	copy = strdup(xml ? xml : "");
	v = copy ? realloc(vm->held, (vm->n_held + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(copy);
		return NULL;
	}
	vm->held = v;
	h = &vm->held[vm->n_held++];
	memset(h, 0, sizeof(*h));
	h->mac = *mac;
	h->scope = scope;
	h->mech = HELD_DETACHING;
	h->domain_id = -1;
	h->xml = copy;
	return h;
}

void state_held_del(struct vm_enforced *vm, const struct mac *mac)
{
	struct held_iface *h = state_held_find(vm, mac);
	size_t i;

	if (!h)
		return;
	i = (size_t)(h - vm->held);
	free(h->xml);
	memmove(&vm->held[i], &vm->held[i + 1], (vm->n_held - i - 1) * sizeof(*h));
	vm->n_held--;
}

void state_clear(struct agent_state *state)
{
	for (size_t i = 0; i < state->n; i++)
		vm_clear(&state->vms[i]);
	free(state->vms);
	strindex_clear(&state->index);
	state->vms = NULL;
	state->n = state->cap = 0;
}

static const char *state_key(const void *array, size_t i)
{
	return ((const struct vm_enforced *)array)[i].uuid;
}

struct vm_enforced *state_find(struct agent_state *state, const char *uuid)
{
	size_t i = strindex_find(&state->index, state->vms, state->n, state_key, uuid);

	return i == STRINDEX_NONE ? NULL : &state->vms[i];
}

/* A new zeroed slot at the end, or NULL (errno ENOMEM). */
static struct vm_enforced *state_append(struct agent_state *state)
{
	if (state->n == state->cap) {
		size_t cap = state->cap ? state->cap * 2 : 8;
		struct vm_enforced *v;

		if (cap > SIZE_MAX / sizeof(*v)) {
			errno = ENOMEM;
			return NULL;
		}
		v = realloc(state->vms, cap * sizeof(*v));
		if (!v)
			return NULL;
		state->vms = v;
		state->cap = cap;
	}
	memset(&state->vms[state->n], 0, sizeof(state->vms[0]));
	return &state->vms[state->n++];
}

struct vm_enforced *state_upsert(struct agent_state *state, const char *uuid)
{
	struct vm_enforced *vm;

	/* Stricter than a length check: anything else could be saved but
	 * never loaded again, and the agent would start with nothing cut. */
	if (!codec_valid_uuid(uuid)) {
		errno = EINVAL;
		return NULL;
	}
	vm = state_find(state, uuid);
	if (vm)
		return vm;
	vm = state_append(state);
	if (!vm)
		return NULL;
	memcpy(vm->uuid, uuid, strlen(uuid) + 1);
	strindex_added(&state->index, state->vms, state->n, state_key, state->n - 1);
	return vm;
}

void state_remove_if(struct agent_state *state,
		     bool (*drop)(struct vm_enforced *vm, void *arg), void *arg)
{
	size_t kept = 0, n = state->n;

	for (size_t i = 0; i < n; i++) {
		if (drop(&state->vms[i], arg)) {
			vm_clear(&state->vms[i]);
			continue;
		}
		if (kept != i)
			state->vms[kept] = state->vms[i];
		kept++;
	}
	state->n = kept;
	if (kept != n)
		strindex_mark_stale(&state->index);
}

static bool uuid_is(struct vm_enforced *vm, void *uuid)
{
	return strcmp(vm->uuid, uuid) == 0;
}

void state_remove(struct agent_state *state, const char *uuid)
{
	state_remove_if(state, uuid_is, (void *)uuid);
}

/* ---- load ---- */

static int load_macs_list(json_t *arr, struct mac_list *list,
			  const char *where, char *err, size_t errlen)
{
	size_t i;
	json_t *item;

	if (!json_is_array(arr))
		return state_err(err, errlen, "%s: not an array", where);
	json_array_foreach(arr, i, item) {
		struct mac mac;
		const char *s = json_string_value(item);

		if (!s || mac_parse(s, &mac) < 0 || !mac_is_unicast(&mac))
			return state_err(err, errlen,
					 "%s[%zu]: not a unicast MAC address",
					 where, i);
		if (mac_list_add(list, &mac) < 0)
			return state_err(err, errlen, "%s: out of memory",
					 where);
	}
	/* mac_list_diff needs sorted lists; duplicates are harmless. */
	mac_list_sort_unique(list);
	return 0;
}

static int load_macs(json_t *obj, struct vm_enforced *vm, const char *where,
		     char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	char sub[128];

	if (!json_is_object(obj))
		return state_err(err, errlen, "%s.macs: not an object", where);
	json_object_foreach(obj, key, val) {
		int idx = scope_index(key);

		if (idx < 0)
			return state_err(err, errlen, "%s.macs: unknown scope "
					 "\"%.32s\"", where, key);
		if (snprintf(sub, sizeof(sub), "%s.macs.%s", where, key) < 0)
			return state_err(err, errlen, "%s: snprintf", where);
		if (load_macs_list(val, &vm->macs[idx], sub, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int load_scopes(json_t *arr, uint32_t *out, const char *where,
		       char *err, size_t errlen)
{
	size_t i;
	json_t *item;

	*out = 0;
	if (!json_is_array(arr))
		return state_err(err, errlen, "%s.scopes: not an array",
				 where);
	json_array_foreach(arr, i, item) {
		const char *s = json_string_value(item);
		int idx = s ? scope_index(s) : -1;

		if (idx < 0)
			return state_err(err, errlen,
					 "%s.scopes[%zu]: not a scope name",
					 where, i);
		if (*out & (1u << idx))
			return state_err(err, errlen,
					 "%s.scopes[%zu]: duplicate", where, i);
		*out |= 1u << idx;
	}
	return 0;
}

/* Every key a vm object may have; anything else is a typo or a newer
 * format, and guessing would risk lifting a cut. */
static int check_vm_keys(json_t *obj, const char *where, char *err,
			 size_t errlen)
{
	static const char *const known[] = { "uuid", "generation", "scopes",
					     "power_off", "macs", "held", "power",
					     "restarted_by_someone", "ports" };
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		size_t k = 0;

		while (k < sizeof(known) / sizeof(known[0]) &&
		       strcmp(key, known[k]) != 0)
			k++;
		if (k == sizeof(known) / sizeof(known[0]))
			return state_err(err, errlen, "%s: unknown key "
					 "\"%.32s\"", where, key);
	}
	return 0;
}

static int load_held_one(json_t *h, struct vm_enforced *vm, const char *where,
			 size_t i, char *err, size_t errlen)
{
	const char *mac_s = json_string_value(json_object_get(h, "mac"));
	const char *scope_s = json_string_value(json_object_get(h, "scope"));
	const char *mech_s = json_string_value(json_object_get(h, "mechanism"));
	const char *xml = json_string_value(json_object_get(h, "xml"));
	json_t *pending = json_object_get(h, "unplug_pending");
	json_t *domid = json_object_get(h, "domain_id");
	struct held_iface *hi;
	struct mac mac;
	int scope, m = -1;

	if (!json_is_object(h) || !mac_s || mac_parse(mac_s, &mac) < 0 ||
	    !mac_is_unicast(&mac))
		return state_err(err, errlen, "%s.held[%zu].mac: missing or not a MAC", where, i);
	scope = scope_s ? scope_index(scope_s) : -1;
	if (scope < 0)
		return state_err(err, errlen, "%s.held[%zu].scope: not a scope", where, i);
	for (int k = 0; mech_s && k <= HELD_UNPLUG_PENDING; k++)
		if (strcmp(mech_s, held_names[k]) == 0)
			m = k;
	if (m < 0)
		return state_err(err, errlen, "%s.held[%zu].mechanism: unknown", where, i);
	if (!xml || !*xml)
		return state_err(err, errlen, "%s.held[%zu].xml: missing", where, i);
	if (state_held_find(vm, &mac))
		return state_err(err, errlen, "%s.held[%zu]: duplicate MAC", where, i);
	if ((pending && !json_is_boolean(pending)) || (domid && !json_is_integer(domid)))
		return state_err(err, errlen, "%s.held[%zu]: unplug_pending or domain_id: wrong type",
				 where, i);
	hi = state_held_add(vm, &mac, scope, xml);
	if (!hi)
		return state_err(err, errlen, "%s: out of memory", where);
	hi->mech = (enum held_mech)m;
	hi->unplug_pending = json_is_true(pending);
	hi->domain_id = domid ? (int)json_integer_value(domid) : -1;
	return 0;
}

/* The optional libvirt parts: "held", "power", "restarted_by_someone". */
static int load_libvirt_parts(json_t *obj, struct vm_enforced *vm, const char *where,
			      char *err, size_t errlen)
{
	json_t *held = json_object_get(obj, "held"), *power = json_object_get(obj, "power");
	json_t *rs = json_object_get(obj, "restarted_by_someone"), *item;
	size_t i;

	if (held && !json_is_array(held))
		return state_err(err, errlen, "%s.held: not an array", where);
	json_array_foreach(held, i, item)
		if (load_held_one(item, vm, where, i, err, errlen) < 0)
			return -1;
	if (power) {
		static const char *const keys[] = { "held", "was_running", "autostart" };
		bool *dst[] = { &vm->power.held, &vm->power.was_running, &vm->power.autostart };
		if (!json_is_object(power))
			return state_err(err, errlen, "%s.power: not an object", where);
		for (int k = 0; k < 3; k++) {
			json_t *b = json_object_get(power, keys[k]);
			if (!json_is_boolean(b))
				return state_err(err, errlen, "%s.power.%s: missing or not a boolean",
						 where, keys[k]);
			*dst[k] = json_is_true(b);
		}
		vm->power.saved = true;
	}
	if (rs) {
		if (!json_is_integer(rs) || json_integer_value(rs) < 0 ||
		    json_integer_value(rs) > UINT32_MAX)
			return state_err(err, errlen, "%s.restarted_by_someone: not a count", where);
		vm->restarted = (uint32_t)json_integer_value(rs);
	}
	return 0;
}

/* "ports": { "52:54:00:00:00:01": "vnet3", ... }, optional. */
static int load_ports(json_t *obj, struct vm_enforced *vm, const char *where,
		      char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	struct mac mac;

	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return state_err(err, errlen, "%s.ports: not an object", where);
	json_object_foreach(obj, key, val) {
		if (mac_parse(key, &mac) < 0 || !mac_is_unicast(&mac))
			return state_err(err, errlen, "%s.ports: \"%.32s\" is not "
					 "a unicast MAC", where, key);
		if (!json_is_string(val) ||
		    state_port_set(vm, &mac, json_string_value(val)) < 0)
			return state_err(err, errlen, "%s.ports.%s: not a device "
					 "name", where, key);
	}
	return 0;
}

static int load_vm(json_t *obj, struct vm_enforced *vm, const char *where,
		   char *err, size_t errlen)
{
	json_t *uuid, *gen, *power;

	if (!json_is_object(obj))
		return state_err(err, errlen, "%s: not an object", where);
	if (check_vm_keys(obj, where, err, errlen) < 0)
		return -1;
	uuid = json_object_get(obj, "uuid");
	if (!json_is_string(uuid) || !codec_valid_uuid(json_string_value(uuid)))
		return state_err(err, errlen, "%s.uuid: missing or not a uuid",
				 where);
	memcpy(vm->uuid, json_string_value(uuid),
	       strlen(json_string_value(uuid)) + 1);
	gen = json_object_get(obj, "generation");
	if (!json_is_integer(gen) || json_integer_value(gen) < 0)
		return state_err(err, errlen, "%s.generation: missing or not "
				 "a non-negative integer", where);
	vm->generation = (uint64_t)json_integer_value(gen);
	power = json_object_get(obj, "power_off");
	if (!json_is_boolean(power))
		return state_err(err, errlen, "%s.power_off: missing or not "
				 "a boolean", where);
	vm->power_off = json_is_true(power);
	if (load_scopes(json_object_get(obj, "scopes"), &vm->scopes, where,
			err, errlen) < 0)
		return -1;
	if (load_macs(json_object_get(obj, "macs"), vm, where, err, errlen) < 0 ||
	    load_ports(json_object_get(obj, "ports"), vm, where, err, errlen) < 0)
		return -1;
	return load_libvirt_parts(obj, vm, where, err, errlen);
}

static int cmp_vm_ptr(const void *a, const void *b)
{
	const struct vm_enforced *const *x = a, *const *y = b;
	int c = strcmp((*x)->uuid, (*y)->uuid);

	return c ? c : (*x > *y) - (*x < *y);
}

/* Sorting pointers, not state_find per VM: O(n log n) for a big host. */
static int check_dup_uuids(const struct agent_state *st, char *err,
			   size_t errlen)
{
	const struct vm_enforced **p;
	int rc = 0;

	if (st->n < 2)
		return 0;
	p = calloc(st->n, sizeof(*p));
	if (!p)
		return state_err(err, errlen, "out of memory");
	for (size_t i = 0; i < st->n; i++)
		p[i] = &st->vms[i];
	qsort(p, st->n, sizeof(*p), cmp_vm_ptr);
	for (size_t i = 1; i < st->n && rc == 0; i++)
		if (strcmp(p[i - 1]->uuid, p[i]->uuid) == 0)
			rc = state_err(err, errlen, "vms[%zu].uuid: duplicate "
				       "of vms[%zu]", (size_t)(p[i] - st->vms),
				       (size_t)(p[i - 1] - st->vms));
	free(p);
	return rc;
}

static int load_vms(json_t *arr, struct agent_state *st, char *err,
		    size_t errlen)
{
	size_t i;
	json_t *item;
	char where[48];

	if (!json_is_array(arr))
		return state_err(err, errlen, "vms: missing or not an array");
	json_array_foreach(arr, i, item) {
		struct vm_enforced *vm = state_append(st);

		if (!vm)
			return state_err(err, errlen, "vms: out of memory");
		if (snprintf(where, sizeof(where), "vms[%zu]", i) < 0 ||
		    load_vm(item, vm, where, err, errlen) < 0)
			return -1;
	}
	return check_dup_uuids(st, err, errlen);
}

static int load_root(json_t *root, struct agent_state *st, char *err,
		     size_t errlen)
{
	json_t *ver;
	const char *key;
	json_t *val;

	if (!json_is_object(root))
		return state_err(err, errlen, "top level: not an object");
	json_object_foreach(root, key, val) {
		if (strcmp(key, "version") != 0 && strcmp(key, "vms") != 0)
			return state_err(err, errlen,
					 "unknown key \"%.32s\"", key);
	}
	ver = json_object_get(root, "version");
	if (!json_is_integer(ver))
		return state_err(err, errlen, "version: missing or not an "
				 "integer");
	if (json_integer_value(ver) != STATE_VERSION)
		return state_err(err, errlen, "version: %lld, expected %d",
				 (long long)json_integer_value(ver),
				 STATE_VERSION);
	return load_vms(json_object_get(root, "vms"), st, err, errlen);
}

int state_load(const char *path, struct agent_state *out, char *err,
	       size_t errlen)
{
	struct agent_state st = { 0 };
	json_error_t jerr;
	json_t *root;
	FILE *f;
	int fd, rc;

	/* *out may be uninitialised: overwrite, never free. */
	*out = (struct agent_state){ 0 };
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return state_err(err, errlen, "open: %s", strerror(errno));
	/* Through stdio: json_loadfd reads one byte per syscall, seconds
	 * for a big host. */
	f = fdopen(fd, "r");
	if (!f) {
		rc = errno;
		close(fd);
		return state_err(err, errlen, "fdopen: %s", strerror(rc));
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return state_err(err, errlen, "line %d column %d: %s",
				 jerr.line, jerr.column, jerr.text);
	rc = load_root(root, &st, err, errlen);
	json_decref(root);
	if (rc < 0) {
		state_clear(&st);
		return -1;
	}
	*out = st;
	return 0;
}

/* ---- save ---- */

/* Write, flush and close tmp; on failure it is removed. errno kept. */
static int write_tmp(const char *tmp, const char *text)
{
	int fd, saved;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -1;
	/* O_CREAT's mode does not apply to a tmp a crash left behind. */
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	/* close can report a deferred write error (NFS): it counts. */
	if (close(fd) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* The rename is only durable once the directory entry is on disk. */
static int fsync_dir_of(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int fd, rc, saved;

	if (!dir)
		return -1;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int state_write_atomic(const char *path, const char *text)
{
	char *tmp = NULL;
	int saved;

	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		errno = ENOMEM;
		return -1;
	}
	if (write_tmp(tmp, text) < 0)
		goto fail;
	if (rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	free(tmp);
	/* Replaced, but a crash could still bring the old file back: the
	 * caller must know the change is not yet durable. */
	return fsync_dir_of(path);
fail:
	saved = errno;
	free(tmp);
	errno = saved;
	return -1;
}

int state_save(const char *path, const struct agent_state *state)
{
	char *text = state_dump(state, STATE_VERSION);
	int rc, saved;

	if (!text)
		return -1;
	rc = state_write_atomic(path, text);
	saved = errno;
	free(text);
	errno = saved;
	return rc;
}
