/* cordonctl case ..., audit, clock, policy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cordonctl.h"
#include "policy.h"
#include "termsafe.h"
#include "utf8.h"
#include "util.h"

#define EVIDENCE_MAX 65536

/* Reads FILE or - (stdin), at most EVIDENCE_MAX bytes. */
static char *read_evidence(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "cordonctl: cannot read evidence %s: %m\n", path);
		return NULL;
	}
	buf = malloc(EVIDENCE_MAX + 2);
	n = buf ? fread(buf, 1, EVIDENCE_MAX + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf)
		return NULL;
	if (n > EVIDENCE_MAX) {
		fprintf(stderr, "cordonctl: evidence %s is larger than %d bytes\n", path, EVIDENCE_MAX);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* JSON carries UTF-8 only: say which value is not, before sending. */
static int open_args_utf8(const struct option *opts, const char *const v[6], const char *evidence)
{
	for (int i = 0; i < 5; i++)
		if (v[i] && !utf8_valid(v[i])) {
			fprintf(stderr, "cordonctl: --%s is not UTF-8 text\n", opts[i].name);
			return -1;
		}
	if (evidence && !utf8_valid(evidence)) {
		fprintf(stderr, "cordonctl: evidence %s is not UTF-8 text (convert it first, "
			"e.g. iconv -f latin1 -t utf-8)\n", v[5]);
		return -1;
	}
	return 0;
}

static int case_open(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "category", required_argument, NULL, 'c' }, { "vm", required_argument, NULL, 'v' },
		{ "ip", required_argument, NULL, 'i' }, { "contact", required_argument, NULL, 'm' },
		{ "source", required_argument, NULL, 's' }, { "evidence", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	const char *v[6] = { 0 }, *keys = "cvimse";
	char *evidence = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *k = c > 0 ? strchr(keys, c) : NULL;
		if (!k)
			return bad_option(argv);
		v[k - keys] = optarg;
	}
	if (optind != argc || !v[0] || !v[1] == !v[2]) {
		fprintf(stderr, "cordonctl: usage: cordonctl case open --category CAT (--vm VM | --ip IP)"
			" [--contact EMAIL] [--source TEXT] [--evidence FILE|-]\n");
		return EXIT_USAGE;
	}
	if (v[5] && !(evidence = read_evidence(v[5])))
		return EXIT_USAGE;
	if (open_args_utf8(opts, v, evidence) < 0) {
		free(evidence);
		return EXIT_USAGE;
	}
	json_t *req = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?}", "cmd", "case_open",
		"category", v[0], "vm", v[1], "ip", v[2], "contact", v[3], "source", v[4],
		"evidence", evidence);
	free(evidence);
	return run_simple(o, req, print_case_opened);
}

static int parse_case_id(const char *text, json_int_t *id)
{
	long v;

	if (parse_long(text, 1, 0x7fffffffffffL, &v) < 0) {
		fprintf(stderr, "cordonctl: '%s' is not a case id\n", text);
		return -1;
	}
	*id = v;
	return 0;
}

/* case respond|resume|escalate|resolve|called ID [--note TEXT] */
static int case_action(const struct ctl_opts *o, const char *action, int argc, char **argv)
{
	static const struct option opts[] = { { "note", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	const char *note = NULL;
	char cmd[32];
	json_int_t id;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'n')
			return bad_option(argv);
		note = optarg;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "cordonctl: usage: cordonctl case %s ID%s\n", action,
			strcmp(action, "resume") && strcmp(action, "escalate") ? " --note TEXT" : "");
		return EXIT_USAGE;
	}
	if (parse_case_id(argv[optind], &id) < 0)
		return EXIT_USAGE;
	snprintf(cmd, sizeof(cmd), "case_%s", action);
	return run_simple(o, json_pack("{s:s, s:I, s:s?}", "cmd", cmd, "id", id, "note", note),
			  print_done);
}

static int case_note(const struct ctl_opts *o, int argc, char **argv)
{
	json_int_t id;

	if (argc != 3) {
		fprintf(stderr, "cordonctl: usage: cordonctl case note ID TEXT\n");
		return EXIT_USAGE;
	}
	if (parse_case_id(argv[1], &id) < 0)
		return EXIT_USAGE;
	return run_simple(o, json_pack("{s:s, s:I, s:s}", "cmd", "case_note", "id", id,
				       "text", argv[2]), print_done);
}

static int case_replan(const struct ctl_opts *o, int argc, char **argv)
{
	json_int_t id;

	if (argc != 2) {
		fprintf(stderr, "cordonctl: usage: cordonctl case replan ID\n");
		return EXIT_USAGE;
	}
	if (parse_case_id(argv[1], &id) < 0)
		return EXIT_USAGE;
	return run_simple(o, json_pack("{s:s, s:I}", "cmd", "case_replan", "id", id), print_replan);
}

static int case_list(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = { { "state", required_argument, NULL, 's' },
					      { NULL, 0, NULL, 0 } };
	const char *state = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's')
			return bad_option(argv);
		state = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "cordonctl: usage: cordonctl case list [--state open|responded|resolved|all]\n");
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:s?}", "cmd", "case_list", "state", state),
			  print_case_list);
}

int cmd_case(const struct ctl_opts *o, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	json_int_t id;

	if (strcmp(sub, "open") == 0)
		return case_open(o, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return case_list(o, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0 && argc == 3) {
		if (parse_case_id(argv[2], &id) < 0)
			return EXIT_USAGE;
		return run_simple(o, json_pack("{s:s, s:I}", "cmd", "case_show", "id", id),
				  print_case_show);
	}
	if (strcmp(sub, "note") == 0)
		return case_note(o, argc - 1, argv + 1);
	if (strcmp(sub, "replan") == 0)
		return case_replan(o, argc - 1, argv + 1);
	if (!strcmp(sub, "respond") || !strcmp(sub, "resume") || !strcmp(sub, "escalate") ||
	    !strcmp(sub, "resolve") || !strcmp(sub, "called"))
		return case_action(o, sub, argc - 1, argv + 1);
	fprintf(stderr, "cordonctl: usage: cordonctl case open|list|show|respond|resume|escalate|"
		"note|resolve|called|replan ... (cordonctl --help)\n");
	return EXIT_USAGE;
}

int cmd_audit(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = { { "case", required_argument, NULL, 'c' },
					      { "since", required_argument, NULL, 's' },
					      { NULL, 0, NULL, 0 } };
	const char *since = NULL;
	json_int_t id = 0;
	int64_t t;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c' && parse_case_id(optarg, &id) == 0)
			continue;
		if (c == 's' && parse_time_utc(optarg, &t) == 0) {
			since = optarg;
			continue;
		}
		if (c == 's')
			fprintf(stderr, "cordonctl: invalid --since '%s' (e.g. 2026-11-23T09:00:00Z)\n",
				optarg);
		else
			bad_option(argv);
		return EXIT_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "cordonctl: usage: cordonctl audit [--case ID] [--since TIME]\n");
		return EXIT_USAGE;
	}
	json_t *req = json_pack("{s:s, s:s?}", "cmd", "audit", "since", since);
	if (id)
		json_object_set_new(req, "case", json_integer(id));
	return run_simple(o, req, print_audit);
}

int cmd_clock(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "show") == 0)
		return run_simple(o, json_pack("{s:s, s:s}", "cmd", "clock", "action", "show"),
				  print_clock);
	if (argc != 3 || (strcmp(argv[1], "set") && strcmp(argv[1], "advance"))) {
		fprintf(stderr, "cordonctl: usage: cordonctl clock set TIME | clock advance DURATION"
			" | clock show\n");
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:s, s:s}", "cmd", "clock", "action", argv[1],
				       "value", argv[2]), print_clock);
}

/* Local: parses a policy file the way cordond would, no controller needed. */
static int policy_check(const char *path)
{
	char err[512];
	struct policy *p = policy_load(path, err, sizeof(err));

	/* The file may be someone else's: its text is shown escaped. */
	if (!p) {
		fputs("cordonctl: ", stderr);
		termsafe_fputs(err, 0, stderr);
		fputc('\n', stderr);
		return EXIT_REFUSED;
	}
	printf("%s: category ", path);
	termsafe_fputs(policy_category(p), 0, stdout);
	printf(", %zu steps, %s clock: OK\n", policy_n_steps(p),
	       policy_clock(p) == POLICY_CLOCK_BUSINESS ? "business" : "wall");
	policy_free(p);
	return 0;
}

int cmd_policy(const struct ctl_opts *o, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return run_simple(o, json_pack("{s:s}", "cmd", "policy_list"), print_policy_list);
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return run_simple(o, json_pack("{s:s, s:s}", "cmd", "policy_show", "category", argv[2]),
				  print_policy_show);
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return policy_check(argv[2]);
	fprintf(stderr, "cordonctl: usage: cordonctl policy list | policy show CATEGORY | policy check FILE\n");
	return EXIT_USAGE;
}
