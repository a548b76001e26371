/* `cordon-agent status`: asks the running agent and prints its answer. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "jsonsock.h"
#include "termsafe.h"
#include "util.h"

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : "-";
}

static json_int_t num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* "protocol     2 (controller: 3, speaking 2)": during a rolling upgrade
 * the admin sees which side is behind. */
static void print_protocol(const json_t *c)
{
	printf("protocol     %lld", (long long)num(c, "protocol"));
	if (num(c, "controller_protocol"))
		printf(" (controller: %lld, speaking %lld)", (long long)num(c, "controller_protocol"),
		       (long long)num(c, "protocol_spoken"));
	printf("\n");
}

/* "endpoints    tcp://a:7440, tcp://b:7440 (2 configured)", only with
 * more than one: the line above says which is in use. */
static void print_endpoints(const json_t *c)
{
	json_t *list = json_object_get(c, "endpoints"), *e;
	size_t i;

	if (json_array_size(list) < 2)
		return;
	printf("endpoints   ");
	json_array_foreach(list, i, e)
		printf("%s %s", i ? "," : "", json_string_value(e) ? json_string_value(e) : "?");
	printf(" (%zu configured)\n", json_array_size(list));
}

/* "term         3 (newest accepted), 2 older message(s) ignored" */
static void print_term(const json_t *c)
{
	printf("term         %lld (newest accepted)", (long long)num(c, "term"));
	if (num(c, "stale_term_messages"))
		printf(", %lld desired set(s) of an older term ignored",
		       (long long)num(c, "stale_term_messages"));
	printf("\n");
}

static void print_link(const json_t *c)
{
	char when[32];
	json_int_t hb = num(c, "last_heartbeat");

	printf("controller   %s: %s\n", str(c, "endpoint"), str(c, "link"));
	if (strcmp(str(c, "link"), "connected") != 0)
		printf("             %s\n", str(c, "detail"));
	print_endpoints(c);
	print_term(c);
	print_protocol(c);
	printf("heartbeat    %s", format_time_utc(hb, when, sizeof(when)));
	if (hb)
		printf(" (%llds ago)", (long long)(time(NULL) - hb));
	printf("\n");
}

static void print_nft(const json_t *n)
{
	json_t *el = json_object_get(n, "elements");

	printf("nft table    %s %s: %s; %lld port(s) cut, %lld missing\n",
	       str(n, "family"), str(n, "table"),
	       json_is_true(json_object_get(n, "healthy")) ? "healthy" : "NOT HEALTHY",
	       (long long)num(n, "ports_cut"), (long long)num(n, "ports_missing"));
	if (json_is_true(json_object_get(n, "bridge_table")))
		printf("             bridge %s: MACs cut with no known port (spoofable) "
		       "public %lld, private %lld, smtp %lld\n", str(n, "table"),
		       (long long)num(el, "public"), (long long)num(el, "private"),
		       (long long)num(el, "smtp"));
	printf("tampering    %lld time(s)", (long long)num(n, "tamper_count"));
	if (num(n, "tamper_count")) {
		char when[32];
		printf(", last %s", format_time_utc(num(n, "last_tamper"), when, sizeof(when)));
	}
	printf("\n");
	if (strcmp(str(n, "last_error"), "-") != 0)
		printf("last error   %s\n", str(n, "last_error"));
}

static void print_mech(const json_t *m)
{
	if (!json_is_object(m))
		return;
	printf("mechanisms   %s: %lld job(s) queued, %s; %lld done, %lld failed\n",
	       str(m, "mechanisms"), (long long)num(m, "queued"),
	       json_is_true(json_object_get(m, "running")) ? "one running" : "none running",
	       (long long)num(m, "jobs_done"), (long long)num(m, "jobs_failed"));
	if (strcmp(str(m, "last_error"), "-") != 0)
		printf("             last error: %s\n", str(m, "last_error"));
}

/* Only with [agent] inventory = libvirt. */
static void print_libvirt(const json_t *l)
{
	char when[32];

	if (!json_is_object(l))
		return;
	printf("libvirt      %s: %s, %lld domain(s), %lld reconnect(s), %lld event(s)\n",
	       str(l, "uri"),
	       json_is_true(json_object_get(l, "connected")) ? "connected" : "NOT CONNECTED",
	       (long long)num(l, "domains"), (long long)num(l, "reconnects"),
	       (long long)num(l, "events"));
	printf("             last read %s", format_time_utc(num(l, "last_read"), when, sizeof(when)));
	if (strcmp(str(l, "last_error"), "-") != 0)
		printf("; last error: %s", str(l, "last_error"));
	printf("\n");
}

/* One line per cut interface: where its cut holds. */
static void print_ifaces(const json_t *ifaces)
{
	size_t i, j;
	json_t *f, *s;

	json_array_foreach(ifaces, i, f) {
		char cut[64] = "";
		const char *how = str(f, "enforcement");
		json_array_foreach(json_object_get(f, "scopes"), j, s) {
			if (j)
				strcat(cut, ",");
			strncat(cut, json_string_value(s), sizeof(cut) - strlen(cut) - 2);
		}
		if (strcmp(how, "mac-only") == 0)
			printf("%-36s %s %-16s mac-only (spoofable): no known port\n", "",
			       str(f, "mac"), cut);
		else
			printf("%-36s %s %-16s %s %s\n", "", str(f, "mac"), cut,
			       strcmp(how, "port") == 0 ? "port" : "port missing:",
			       str(f, "port"));
	}
}

static void print_vms(const json_t *vms)
{
	size_t i, j;
	json_t *v, *s;

	if (json_array_size(vms) == 0) {
		printf("enforced     none\n");
		return;
	}
	printf("\n%-36s %-16s %-16s %-12s %s\n", "VM", "NAME", "CUT", "MECHANISMS", "GEN");
	json_array_foreach(vms, i, v) {
		char cut[64] = "";
		json_array_foreach(json_object_get(v, "scopes"), j, s) {
			if (j)
				strcat(cut, ",");
			strncat(cut, json_string_value(s), sizeof(cut) - strlen(cut) - 2);
		}
		printf("%-36s %-16s %-16s %-12s %lld%s\n", str(v, "uuid"), str(v, "name"),
		       cut[0] ? cut : "-", str(v, "mechanisms"), (long long)num(v, "generation"),
		       json_is_true(json_object_get(v, "in_inventory")) ? "" : "  (not in inventory)");
		print_ifaces(json_object_get(v, "interfaces"));
		if (json_string_value(json_object_get(v, "pending")))
			printf("%-36s pending: %s\n", "", str(v, "pending"));
		json_array_foreach(json_object_get(v, "held"), j, s)
			if (strcmp(str(s, "mechanism"), "unplug-pending") == 0)
				printf("%-36s %s: restored, but QEMU still holds the unplug asked "
				       "during the cut; re-attached if a reset completes it\n", "",
				       str(s, "mac"));
		if (num(v, "restarted_by_someone"))
			printf("%-36s started by someone %lld time(s) while it had to be off\n", "",
			       (long long)num(v, "restarted_by_someone"));
	}
}

static void print_status(const json_t *st)
{
	json_t *p = json_object_get(st, "pending");

	printf("cordon-agent %s on host %s\n", str(st, "version"), str(st, "host_id"));
	print_link(json_object_get(st, "controller"));
	print_nft(json_object_get(st, "nft"));
	printf("inventory    %lld VM(s) (%s); enforced on %lld\n",
	       (long long)num(st, "inventory_vms"), str(st, "inventory_source"),
	       (long long)num(st, "enforced_count"));
	print_libvirt(json_object_get(st, "libvirt"));
	print_mech(json_object_get(st, "mech"));
	printf("pending      %lld ack(s)%s%s\n", (long long)num(p, "acks"),
	       json_is_true(json_object_get(p, "state_unsaved")) ? ", STATE FILE NOT SAVED" : "",
	       json_is_true(json_object_get(p, "kernel_unsynced")) ? ", KERNEL NOT IN SYNC" : "");
	print_vms(json_object_get(st, "vms"));
}

/* VM names, ports and errors come from libvirt, inventory files and the
 * kernel: the text is printed from a terminal-safe copy. */
static int print_safe(const json_t *st)
{
	json_t *safe = termsafe_json(st, NULL);

	if (!safe) {
		fprintf(stderr, "cordon-agent: out of memory\n");
		return -1;
	}
	print_status(safe);
	json_decref(safe);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cordon-agent status [-c FILE | --socket PATH] [--json]\n"
		"\n"
		"Shows what this host's agent enforces: controller link and last heartbeat,\n"
		"the nftables table's health and tamper count, the libvirt link (with\n"
		"inventory = libvirt), pending work, and every VM it cuts with scopes and\n"
		"mechanisms.\n");
}

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_config cfg;
	const char *socket_path = NULL, *config = AGENT_DEFAULT_CONFIG;
	char err[512];
	int c, json = 0, unreachable;
	json_t *req, *st;

	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'S': socket_path = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	agent_config_defaults(&cfg);
	if (!socket_path) {
		if (agent_config_load(config, &cfg, err, sizeof(err)) < 0 && strcmp(config, AGENT_DEFAULT_CONFIG) != 0) {
			fprintf(stderr, "cordon-agent: %s\n", err);
			return 1;
		}
		socket_path = cfg.status_socket;
	}
	req = json_pack("{s:s}", "cmd", "status");
	st = jsonsock_call(socket_path, req, 5000, &unreachable, err, sizeof(err));
	json_decref(req);
	if (!st) {
		fputs("cordon-agent: ", stderr);
		termsafe_fputs(err, 0, stderr);
		fprintf(stderr, "%s\n",
			unreachable ? " (is cordon-agent running? use --socket PATH)" : "");
		return unreachable ? 3 : 1;
	}
	if (json) {
		json_dumpf(st, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else if (print_safe(st) < 0) {
		json_decref(st);
		return 1;
	}
	json_decref(st);
	return 0;
}
