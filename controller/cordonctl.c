/* cordonctl: the operators' command line, over cordond's control socket. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_roles.h"
#include "cordonctl.h"
#include "jsonsock.h"
#include "keys.h"
#include "mac.h"
#include "termsafe.h"
#include "util.h"

#define DEFAULT_SOCKET "/run/cordon/control.sock"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cordonctl [--socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"Operate cordon: see agents and VMs, suspend and restore VMs' network.\n"
		"VM is a uuid, a name or an IP address from the agents' inventory.\n"
		"\n"
		"Commands:\n"
		"  status                          controller summary: agents, VMs, cases, steps\n"
		"                                  that fail (retried with backoff) and their error\n"
		"  agents                          hypervisor agents: link, VMs, enforced, pending\n"
		"  vms                             every VM with what is cut and whether it holds\n"
		"  vm show VM                      one VM: interfaces, desired and acked state, holds\n"
		"  suspend VM --scope SCOPE [--reason TEXT]\n"
		"                                  cut the VM's network: SCOPE is public, private,\n"
		"                                  smtp (outbound 25/465/587) or all (public+private);\n"
		"                                  a list like public,smtp is accepted\n"
		"  restore VM                      lift the manual suspend of the VM\n"
		"  poweroff VM [--reason TEXT]     power the VM off (graceful shutdown, then\n"
		"                                  destroy; autostart off while enforced)\n"
		"  poweron VM                      lift the manual power-off (the agent powers on\n"
		"                                  only what cordon powered off)\n"
		"  keygen --out FILE               create the controller's CURVE key pair\n"
		"\n"
		"Abuse cases (each category's ladder is a policy file on the controller):\n"
		"  case open --category CAT (--vm VM | --ip IP) [--contact EMAIL]\n"
		"            [--source TEXT] [--evidence FILE|-]\n"
		"                                  open a case (a new report joins the open case\n"
		"                                  of the same category on the same VM); prints its id\n"
		"  case list [--state open|responded|resolved|all]\n"
		"                                  cases with their next step, due time, calls to make\n"
		"  case show ID                    events, reports, every step with its due time,\n"
		"                                  the ladder the case follows (kept from its\n"
		"                                  opening) and whether the policy changed since\n"
		"  case respond ID --note TEXT     the customer answered: automatic escalation stops\n"
		"  case resume ID                  escalation restarts (overdue steps run at once)\n"
		"  case escalate ID                run the next step now\n"
		"  case note ID TEXT               add a note to the case's history\n"
		"  case called ID [--note TEXT]    the call task(s) of the case are done\n"
		"  case resolve ID --note TEXT     the customer's written confirmation / root cause;\n"
		"                                  lifts what this case imposed (other cases stay)\n"
		"  case replan ID                  the open case follows its category's current\n"
		"                                  policy: fired steps stay fired (matched by action),\n"
		"                                  the others are planned anew, overdue ones run now\n"
		"  audit [--case ID] [--since TIME] every change: when, who (uid), what\n"
		"  policy list | policy show CAT   the ladders the controller runs\n"
		"  policy check FILE               validate a policy file (errors name file:line)\n"
		"  report parse FILE|-             parse an abuse report mail offline as cordond\n"
		"                                  will: format, category, sources, ids (cordonctl\n"
		"                                  report --help); exit 65 when it is not mail\n"
		"  report ingest [FILE|-]          store a report mail (the MTA pipe): matched to\n"
		"                                  the VM that held the address then; exit 0\n"
		"                                  stored, 65 not mail (stored), 75 retry later\n"
		"  report list [--unmatched]       stored reports (--unmatched: to review)\n"
		"  report show ID [--raw]          a report's parse and matches (--raw: the mail)\n"
		"  report attach ID --case N       count an unmatched report in case N\n"
		"  backup [--store PATH] [--force] FILE\n"
		"                                  consistent copy of the store while cordond runs,\n"
		"                                  checked; written by cordonctl as the caller\n"
		"  prune [--dry-run]               remove now what is older than cordond.conf's\n"
		"                                  retain_* keys (resolved cases with their rows,\n"
		"                                  audit, notifications, report mails); --dry-run\n"
		"                                  counts it and changes nothing\n"
		"  clock show | clock set TIME | clock advance DURATION\n"
		"                                  the controller's clock (set/advance only with\n"
		"                                  cordond --test-clock); TIME like 2026-11-23T05:00:00Z\n"
		"\n"
		"Options:\n"
		"  --socket PATH   control socket (default $CORDON_SOCKET or " DEFAULT_SOCKET ");\n"
		"                  read commands fall back to the read-only socket beside it\n"
		"                  (control.sock -> control-ro.sock) when it refuses access\n"
		"  --json          machine-readable output for scripts\n"
		"  -V, --version   print the version and exit\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 done, 1 refused by the controller, 2 usage error,\n"
		"3 controller unreachable. Suspend and restore return once the change is\n"
		"stored and sent; `cordonctl vms` shows 'pending' until the agent acks it.\n");
}

/* A read command from a user outside the control socket's group (EACCES)
 * goes to the read-only socket beside it. */
static json_t *send_request(const struct ctl_opts *o, const json_t *req, int *unreachable,
			    char *err, size_t errlen)
{
	char ro[108];
	json_t *reply = jsonsock_call(o->socket, req, 30000, unreachable, err, errlen);

	if (reply || *unreachable != EACCES || !control_request_is_read(req) ||
	    control_socket_sibling(o->socket, "ro", ro, sizeof(ro)) < 0)
		return reply;
	reply = jsonsock_call(ro, req, 30000, unreachable, err, errlen);
	if (*unreachable == EACCES)
		snprintf(err, errlen, "permission denied on %s and %s", o->socket, ro);
	return reply;
}

static const char *unanswered_hint(int unreachable)
{
	if (unreachable == EACCES)
		return " (the control socket is for cordond's control_group, the read-only one"
		       " for its readonly_group)";
	if (unreachable)
		return " (is cordond running? use --socket PATH or $CORDON_SOCKET)";
	return " (the request was sent: cordond may have done it; see cordonctl audit)";
}

/* The "result" of reply (taken), or NULL with the reason printed: no reply
 * (err, unreachable as jsonsock_call says) or the controller's error.
 * *status: 0, EXIT_UNREACHABLE or EXIT_REFUSED. */
static json_t *reply_result(json_t *reply, const char *err, int unreachable, int *status)
{
	json_t *result = NULL;
	const char *e;

	if (!reply) {
		/* Sent but unanswered (cordond died or hung meanwhile): it may
		 * have done it, and the operator must not assume either way. */
		fputs("cordonctl: ", stderr);
		termsafe_fputs(err, 0, stderr);
		fprintf(stderr, "%s\n", unanswered_hint(unreachable));
		*status = unreachable ? EXIT_UNREACHABLE : EXIT_REFUSED;
		return NULL;
	}
	if (json_is_true(json_object_get(reply, "ok"))) {
		result = json_incref(json_object_get(reply, "result"));
		*status = 0;
	} else {
		/* It may quote what the operator gave or an agent's name. */
		e = json_string_value(json_object_get(reply, "error"));
		fputs("cordonctl: ", stderr);
		termsafe_fputs(e ? e : "request failed", 0, stderr);
		fputc('\n', stderr);
		*status = EXIT_REFUSED;
	}
	json_decref(reply);
	return result;
}

/* Sends req (stolen) and returns the "result" of a successful reply; prints
 * the error and sets *status otherwise. */
json_t *ctl_call(const struct ctl_opts *o, json_t *req, int *status)
{
	char err[512];
	int unreachable;
	json_t *reply = send_request(o, req, &unreachable, err, sizeof(err));

	json_decref(req);
	return reply_result(reply, err, unreachable, status);
}

json_t *ctl_call_socket(const char *socket, json_t *req, int *unreachable)
{
	char err[512];
	int status;
	json_t *reply = jsonsock_call(socket, req, 30000, unreachable, err, sizeof(err));

	json_decref(req);
	return reply_result(reply, err, *unreachable, &status);
}

int run_simple(const struct ctl_opts *o, json_t *req,
		      void (*print)(const json_t *result))
{
	int status;
	json_t *result;

	if (!req) { /* json_pack refused a value: JSON carries UTF-8 only */
		fprintf(stderr, "cordonctl: an argument is not UTF-8 text; nothing was sent\n");
		return EXIT_USAGE;
	}
	result = ctl_call(o, req, &status);

	if (!result)
		return status;
	if (o->json)
		print_json(result);
	else
		status = print_safe(print, result);
	json_decref(result);
	return status;
}

static int cmd_vm(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "show") != 0) {
		fprintf(stderr, "cordonctl: usage: cordonctl vm show VM\n");
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:s}", "cmd", "vm_show", "vm", argv[2]),
			  print_vm_show);
}

static int cmd_suspend(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scope", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scope = NULL, *reason = NULL;
	uint32_t mask;
	int c;

	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "s:r:", opts, NULL)) != -1) {
		if (c == 's')
			scope = optarg;
		else if (c == 'r')
			reason = optarg;
		else
			return bad_option(argv);
	}
	if (optind != argc - 1 || !scope) {
		fprintf(stderr, "cordonctl: usage: cordonctl suspend VM --scope public|private|smtp|all [--reason TEXT]\n");
		return EXIT_USAGE;
	}
	if (scope_mask_parse(scope, &mask) < 0) {
		fprintf(stderr, "cordonctl: invalid scope '%s' (expected public, private, smtp or all)\n",
			scope);
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:s, s:s, s:s?}", "cmd", "suspend",
				       "vm", argv[optind], "scope", scope, "reason", reason),
			  print_change);
}

/* restore VM, poweron VM */
static int cmd_lift(const struct ctl_opts *o, const char *cmd, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "cordonctl: usage: cordonctl %s VM\n", cmd);
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:s}", "cmd", cmd, "vm", argv[1]), print_change);
}

static int cmd_poweroff(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return bad_option(argv);
		reason = optarg;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "cordonctl: usage: cordonctl poweroff VM [--reason TEXT]\n");
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:s, s:s?}", "cmd", "poweroff", "vm", argv[optind],
				       "reason", reason), print_change);
}

static int dispatch(const struct ctl_opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "status") == 0 && argc == 1)
		return run_simple(o, json_pack("{s:s}", "cmd", "status"), print_status);
	if (strcmp(cmd, "agents") == 0 && argc == 1)
		return run_simple(o, json_pack("{s:s}", "cmd", "agents"), print_agents);
	if (strcmp(cmd, "vms") == 0 && argc == 1)
		return run_simple(o, json_pack("{s:s}", "cmd", "vms"), print_vms);
	if (strcmp(cmd, "vm") == 0)
		return cmd_vm(o, argc, argv);
	if (strcmp(cmd, "suspend") == 0)
		return cmd_suspend(o, argc, argv);
	if (strcmp(cmd, "restore") == 0 || strcmp(cmd, "poweron") == 0)
		return cmd_lift(o, cmd, argc, argv);
	if (strcmp(cmd, "poweroff") == 0)
		return cmd_poweroff(o, argc, argv);
	if (strcmp(cmd, "case") == 0)
		return cmd_case(o, argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(o, argc, argv);
	if (strcmp(cmd, "clock") == 0)
		return cmd_clock(o, argc, argv);
	if (strcmp(cmd, "policy") == 0)
		return cmd_policy(o, argc, argv);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(o, argc, argv);
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(o, argc, argv);
	if (strcmp(cmd, "prune") == 0)
		return cmd_prune(o, argc, argv);
	if (strcmp(cmd, "keygen") == 0)
		return keys_keygen_main("cordonctl", argc, argv);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && (!strcmp(cmd, "status") || !strcmp(cmd, "agents") || !strcmp(cmd, "vms"))) {
		fprintf(stderr, "cordonctl: unexpected argument '%s' for '%s' (cordonctl --help)\n",
			argv[1], cmd);
		return EXIT_USAGE;
	}
	fprintf(stderr, "cordonctl: unknown command '%s' (cordonctl --help lists them)\n", cmd);
	return EXIT_USAGE;
}

int bad_option(char **argv)
{
	const char *opt = optind > 0 ? argv[optind - 1] : "?";

	if (optopt && optopt != '?' && strncmp(opt, "--", 2) != 0)
		fprintf(stderr, "cordonctl: unknown option '-%c' or missing value (cordonctl --help)\n",
			optopt);
	else
		fprintf(stderr, "cordonctl: unknown option '%s' or missing value (cordonctl --help)\n",
			opt);
	return EXIT_USAGE;
}

/* --json is accepted anywhere ("cordonctl vms --json"): remove it from
 * argv, except where it is the value of an option. */
static int take_json_flag(int argc, char **argv, int *json)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *prev = argv[i - 1];
		int is_value = strcmp(prev, "--reason") == 0 || strcmp(prev, "--out") == 0 ||
			       strcmp(prev, "--store") == 0 ||
			       strcmp(prev, "--socket") == 0 || strcmp(prev, "--scope") == 0;
		if (strcmp(argv[i], "--json") == 0 && !is_value) {
			*json = 1;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = { .socket = getenv("CORDON_SOCKET") };
	int c;

	if (!o.socket || !*o.socket)
		o.socket = DEFAULT_SOCKET;
	opterr = 0; /* one-line errors of our own, naming the option */
	argc = take_json_flag(argc, argv, &o.json);
	/* '+': stop at the command; its own options are parsed later. */
	while ((c = getopt_long(argc, argv, "+jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'S': o.socket = optarg; break;
		case 'j': o.json = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cordonctl %s\n", CORDON_VERSION); return 0;
		default: return bad_option(argv);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(&o, argc - optind, argv + optind);
}
