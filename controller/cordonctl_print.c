#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cordonctl.h"
#include "cordonctl_fields.h"
#include "termsafe.h"
#include "util.h"

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && *s ? s : "-";
}

static json_int_t num(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* "public,private" from a JSON array of strings, or "-". */
static const char *join(const json_t *arr, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "",
				 json_string_value(v));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "-");
	return buf;
}

static const char *ago(json_int_t t, char *buf, size_t len)
{
	long d = (long)(time(NULL) - t);

	if (t == 0)
		snprintf(buf, len, "never");
	else if (d < 120)
		snprintf(buf, len, "%lds ago", d < 0 ? 0 : d);
	else if (d < 7200)
		snprintf(buf, len, "%ldm ago", d / 60);
	else
		snprintf(buf, len, "%ldh ago", d / 3600);
	return buf;
}

void print_json(const json_t *result)
{
	json_dumpf(result, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
}

int print_safe(void (*print)(const json_t *result), const json_t *result)
{
	/* Free text printed as blocks of lines (evidence, policy and ladder
	 * texts): each line is escaped, the line breaks stay. */
	static const char *const blocks[] = { "evidence", "text", NULL };
	json_t *safe = termsafe_json(result, blocks);

	if (!safe) {
		fprintf(stderr, "cordonctl: out of memory\n");
		return EXIT_REFUSED;
	}
	print(safe);
	json_decref(safe);
	return 0;
}

/* Steps that fail and are retried (listed up to the controller's limit). */
static void print_failing(const json_t *f)
{
	size_t i;
	json_t *s;
	char next[32];

	printf("failing steps  %lld\n", (long long)num(f, "count"));
	json_array_foreach(json_object_get(f, "steps"), i, s)
		printf("  case %lld step %lld (%s): %lld attempt(s), next try %s: %s\n",
		       (long long)num(s, "case"), (long long)num(s, "step"), str(s, "action"),
		       (long long)num(s, "attempts"),
		       format_time_utc(num(s, "next_try"), next, sizeof(next)), str(s, "last_error"));
}

/* Role, term, leader, lease, database: absent from a cordond before HA. */
static void print_controller_role(const json_t *c)
{
	if (!c)
		return;
	printf("instance       %s, %s, term %lld, store %s (%s)\n", str(c, "instance"),
	       str(c, "role"), (long long)num(c, "term"), str(c, "store"), str(c, "database"));
	if (strcmp(str(c, "store"), "sqlite") == 0)
		return;
	if (strcmp(str(c, "role"), "leader") == 0) {
		printf("lease          %lld ms left of %lld\n", (long long)num(c, "lease_left_ms"),
		       (long long)num(c, "lease_ms"));
		return;
	}
	printf("leader         %s at %s\n", str(c, "leader"), str(c, "leader_endpoint"));
	printf("not acting     %s\n", str(c, "not_acting"));
}

void print_status(const json_t *r)
{
	char when[32];

	printf("cordond %s, up since %s\n", str(r, "version"),
	       format_time_utc(num(r, "started"), when, sizeof(when)));
	printf("listening on   %s\n", str(r, "listen"));
	print_controller_role(json_object_get(r, "controller"));
	if (json_object_get(r, "database_error")) {
		printf("database       cannot be read: %s\n", str(r, "database_error"));
		return;
	}
	printf("agents         %lld connected of %lld known\n",
	       (long long)num(r, "agents_connected"), (long long)num(r, "agents_known"));
	printf("VMs            %lld\n", (long long)num(r, "vms"));
	printf("enforced       %lld\n", (long long)num(r, "enforced"));
	printf("pending        %lld (waiting for an agent's ack)\n", (long long)num(r, "pending"));
	printf("errors         %lld (acked with an agent error: cordonctl vms)\n",
	       (long long)num(r, "errors"));
	if (json_is_true(json_object_get(r, "test_clock")))
		printf("clock          TEST CLOCK enabled\n");
	printf("cases          %lld open, %lld of them on an older ladder than their policy\n",
	       (long long)num(r, "cases_open"), (long long)num(r, "cases_old_ladder"));
	print_failing(json_object_get(r, "steps_failing"));
}

void print_agents(const json_t *r)
{
	size_t i;
	json_t *a;
	char seen[32];

	if (json_array_size(r) == 0) {
		printf("no agents have connected yet\n");
		return;
	}
	printf("%-20s %-13s %-10s %-8s %5s %5s %8s %7s %6s\n", "HOST", "STATE", "LAST-SEEN",
	       "VERSION", "PROTO", "VMS", "ENFORCED", "PENDING", "ERRORS");
	/* A host that could not read its whole inventory keeps its VMs
	 * (and cuts) whatever it lists: the admin must know. So must they
	 * of one refused (its protocol): it gets no desired state. */
	json_array_foreach(r, i, a) {
		/* Both absent from a cordond older than protocol 2. */
		const char *state = json_string_value(json_object_get(a, "state"));
		const char *refused = json_string_value(json_object_get(a, "refused"));
		char proto[16] = "-";
		if (num(a, "protocol") > 0)
			snprintf(proto, sizeof(proto), "%lld", (long long)num(a, "protocol"));
		printf("%-20s %-13s %-10s %-8s %5s %5lld %8lld %7lld %6lld%s%s%s\n", str(a, "host"),
		       state ? state : json_is_true(json_object_get(a, "connected")) ? "connected" : "disconnected",
		       ago(num(a, "last_seen"), seen, sizeof(seen)), str(a, "version"), proto,
		       (long long)num(a, "vms"), (long long)num(a, "enforced"),
		       (long long)num(a, "pending"), (long long)num(a, "errors"),
		       json_is_false(json_object_get(a, "inventory_complete")) ?
		       "  inventory incomplete" : "",
		       refused && refused[0] ? "  refused: " : "", refused ? refused : "");
	}
}

static const char *vm_cut(const json_t *vm, char *buf, size_t len)
{
	join(json_object_get(vm, "scopes"), buf, len);
	return buf;
}

void print_vms(const json_t *r)
{
	size_t i;
	json_t *vm;
	char ips[256], cut[64];

	if (json_array_size(r) == 0) {
		printf("no VMs in the agents' inventory yet\n");
		return;
	}
	printf("%-36s %-16s %-12s %-27s %-16s %-5s %-9s %6s %6s\n", "UUID", "NAME", "HOST",
	       "IPS", "CUT", "POWER", "STATE", "GEN", "ACKED");
	json_array_foreach(r, i, vm)
		printf("%-36s %-16s %-12s %-27s %-16s %-5s %-9s %6lld %6lld\n",
		       str(vm, "uuid"), str(vm, "name"), str(vm, "host"),
		       join(json_object_get(vm, "ips"), ips, sizeof(ips)),
		       vm_cut(vm, cut, sizeof(cut)),
		       json_is_true(json_object_get(vm, "power_off")) ? "off" : "-",
		       strcmp(str(vm, "state"), "none") == 0 ? "-" : str(vm, "state"),
		       (long long)num(vm, "generation"), (long long)num(vm, "acked_generation"));
}

static bool has_string(const json_t *arr, const char *want)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_string_value(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	return false;
}

/* Whether the VM's desired cut covers this interface: its own scope, and
 * smtp for a public interface (the agent filters mail on public ones). */
static bool iface_cut(const json_t *vm, const json_t *ifc)
{
	const json_t *scopes = json_object_get(vm, "scopes");
	const char *scope = str(ifc, "scope");

	return has_string(scopes, scope) ||
	       (strcmp(scope, "public") == 0 && has_string(scopes, "smtp"));
}

/* A cut interface without a port can only be cut by its MAC, which the
 * tenant may change at will: the operator must see the cut can be escaped. */
static void print_interfaces(const json_t *vm)
{
	size_t i;
	json_t *ifc;
	char ips[256];

	printf("interfaces:\n");
	printf("  %-17s  %-10s %-8s %-15s %s\n", "MAC", "BRIDGE", "SCOPE", "PORT", "IPS");
	json_array_foreach(json_object_get(vm, "interfaces"), i, ifc) {
		const char *port = json_string_value(json_object_get(ifc, "port"));
		bool mac_only = (!port || !*port) && iface_cut(vm, ifc);

		printf("  %-17s  %-10s %-8s %-15s %s%s\n", str(ifc, "mac"), str(ifc, "bridge"),
		       str(ifc, "scope"), str(ifc, "port"),
		       join(json_object_get(ifc, "ips"), ips, sizeof(ips)),
		       mac_only ? "  mac-only (spoofable)" : "");
	}
}

/* Every host that lists the VM gets its cut and acks it on its own: a
 * second host is a live migration, a stale definition, or a lie. */
static void print_hosts(const json_t *vm)
{
	const json_t *hosts = json_object_get(vm, "hosts");
	size_t i;
	json_t *h;

	if (json_array_size(hosts) < 2)
		return;
	printf("listed by   %zu hosts (each enforces it on its own ports):\n",
	       json_array_size(hosts));
	json_array_foreach(hosts, i, h)
		printf("  %-16s %-10s acked generation %lld, %s%s%s\n", str(h, "host"),
		       str(h, "vm_state"), (long long)num(h, "acked_generation"),
		       str(h, "mechanisms"), json_string_value(json_object_get(h, "error")) ?
		       ", error: " : "", json_string_value(json_object_get(h, "error")) ?
		       str(h, "error") : "");
}

void print_vm_show(const json_t *vm)
{
	size_t i;
	json_t *h;
	char cut[64], when[32], by[32];

	printf("uuid        %s\nname        %s\nhost        %s\ncontact     %s\n", str(vm, "uuid"),
	       str(vm, "name"), str(vm, "host"), str(vm, "contact"));
	print_hosts(vm);
	print_interfaces(vm);
	printf("desired     cut %s%s (generation %lld)\n", vm_cut(vm, cut, sizeof(cut)),
	       json_is_true(json_object_get(vm, "power_off")) ? ", power off" : "",
	       (long long)num(vm, "generation"));
	printf("acked       generation %lld at %s\n", (long long)num(vm, "acked_generation"),
	       format_time_utc(num(vm, "acked_at"), when, sizeof(when)));
	printf("state       %s\n", str(vm, "state"));
	printf("mechanisms  %s\n", str(vm, "mechanisms"));
	if (json_string_value(json_object_get(vm, "error")))
		printf("agent error %s\n", str(vm, "error"));
	printf("holds:\n");
	json_array_foreach(json_object_get(vm, "holds"), i, h) {
		if (strcmp(str(h, "kind"), "case") == 0) {
			printf("  case %lld (%s): %s%s since %s\n", (long long)num(h, "case"),
			       str(h, "category"), str(h, "scopes"),
			       json_is_true(json_object_get(h, "power_off")) ? ", power off" : "",
			       format_time_utc(num(h, "since"), when, sizeof(when)));
			continue;
		}
		printf("  %s: cut %s%s since %s by %s%s%s\n", str(h, "kind"), str(h, "scopes"),
		       json_is_true(json_object_get(h, "power_off")) ? ", power off" : "",
		       format_time_utc(num(h, "since"), when, sizeof(when)),
		       who(h, by, sizeof(by)), json_string_value(json_object_get(h, "reason")) ?
		       ", reason: " : "", json_string_value(json_object_get(h, "reason")) ?
		       str(h, "reason") : "");
	}
	if (json_array_size(json_object_get(vm, "holds")) == 0)
		printf("  none\n");
}

void print_change(const json_t *vm)
{
	char cut[64];

	printf("%s (%s): cut %s%s, generation %lld, %s\n", str(vm, "name"), str(vm, "uuid"),
	       vm_cut(vm, cut, sizeof(cut)),
	       json_is_true(json_object_get(vm, "power_off")) ? ", power off" : "",
	       (long long)num(vm, "generation"),
	       strcmp(str(vm, "state"), "pending") == 0 ? "sent, waiting for the agent's ack" :
	       str(vm, "state"));
}
