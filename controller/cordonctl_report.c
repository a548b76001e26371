/* cordonctl report parse: one abuse report mail parsed offline, with the
 * mapping and rules cordond uses, shown as cordond will see it. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cordonctl.h"
#include "report_parse.h"
#include "termsafe.h"


static void report_usage(FILE *f)
{
	fprintf(f,
		"usage: cordonctl report parse [--types FILE] [--rules FILE] [--json] FILE|-\n"
		"\n"
		"Parses one abuse report mail (RFC 5322; FILE, or - for standard input) the way\n"
		"cordond will, without a controller, and shows what it found:\n"
		"  format    arf (RFC 5965 feedback report), xarf-v4 or xarf-v3 (X-ARF JSON, as\n"
		"            an attachment or the mail's text), xarf-0.2 (X-ARF YAML part), plain\n"
		"            (any other mail: addresses and URLs from its text), or not-mail\n"
		"  type      the format's own: ARF Feedback-Type, X-ARF category/type; for a\n"
		"            plain mail the name of the rule that matched (\"default\": none)\n"
		"  category  ours (a policy name) after the mapping or the rules\n"
		"  source    each IPv4/IPv6 address with the time it was reported at\n"
		"            (Arrival-Date, X-ARF timestamp/Date, else the mail's Date; - unknown)\n"
		"  ids       Message-ID, X-ARF report id, SHA-256 of the ARF original message\n"
		"            (the same original counts as the same report)\n"
		"  note      how it was parsed and anything odd (a part missing, a charset\n"
		"            that did not fit, evidence or message cut at its bound)\n"
		"Only the first 1 MiB of a message is parsed; MIME nesting deeper than %d\n"
		"levels or more than 1000 parts is refused.\n"
		"\n"
		"Options:\n"
		"  --types FILE  format types -> categories (default " DEFAULT_TYPES ")\n"
		"  --rules FILE  plain-mail rules (default " DEFAULT_RULES ")\n"
		"  --json        every field, the evidence text too, as one JSON object\n"
		"\n"
		"Exit status: 0 parsed, 65 not a mail (or refused: the reason on stderr),\n"
		"1 a file or configuration that cannot be read, 2 usage error.\n"
		"docs/reports.md describes the formats, the mapping and the rules files.\n",
		REPORT_DEPTH_MAX_DEFAULT);
}

/* The rest of a pipe is read and counted, so the writer (an MTA, cat)
 * sees its message taken, not a broken pipe. -1 on a read error. */
static int drain(FILE *f, size_t *total)
{
	char sink[65536];
	size_t n;

	while ((n = fread(sink, 1, sizeof(sink), f)) > 0)
		*total += n;
	return ferror(f) ? -1 : 0;
}

char *report_read_message(const char *path, size_t cap, size_t *len, size_t *total)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;

	if (!f) {
		fprintf(stderr, "cordonctl: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap + 1);
	*len = buf ? fread(buf, 1, cap + 1, f) : 0;
	*total = *len;
	if (buf && (ferror(f) || drain(f, total) < 0)) {
		fprintf(stderr, "cordonctl: cannot read %s: %s\n", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else if (!buf) {
		fprintf(stderr, "cordonctl: out of memory\n");
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

static void print_field(const json_t *r, const char *label, const char *key)
{
	const char *v = json_string_value(json_object_get(r, key));

	if (v)
		printf("%-16s %s\n", label, v);
}

/* Text form of report_parsed_json(); strings are already terminal-safe. */
static void print_report(const json_t *r)
{
	size_t i;
	json_t *v;

	print_field(r, "format:", "format");
	print_field(r, "type:", "type");
	print_field(r, "category:", "category");
	json_array_foreach(json_object_get(r, "sources"), i, v) {
		const char *at = json_string_value(json_object_get(v, "at"));

		printf("%-16s %s at %s\n", "source:", json_string_value(json_object_get(v, "ip")),
		       at ? at : "-");
	}
	json_array_foreach(json_object_get(r, "urls"), i, v)
		printf("%-16s %s\n", "url:", json_string_value(v));
	print_field(r, "message-id:", "message_id");
	print_field(r, "report-id:", "report_id");
	print_field(r, "original-sha256:", "original_sha256");
	print_field(r, "reported-domain:", "reported_domain");
	print_field(r, "subject:", "subject");
	print_field(r, "from:", "from");
	print_field(r, "date:", "date");
	v = json_object_get(r, "evidence");
	if (json_is_string(v))
		printf("%-16s %zu bytes (--json shows it)\n", "evidence:", json_string_length(v));
	print_field(r, "note:", "note");
}

static int show(const struct ctl_opts *o, const struct report_parsed *r)
{
	json_t *j = report_parsed_json(r);
	int rc = 0;

	if (!j) {
		fprintf(stderr, "cordonctl: out of memory\n");
		return EXIT_REFUSED;
	}
	if (o->json)
		print_json(j);
	else
		rc = print_safe(print_report, j);
	json_decref(j);
	return rc;
}

static int parse_file(const struct ctl_opts *o, const char *path, struct report_config *cfg)
{
	struct report_parsed r;
	char err[512];
	size_t len, total;
	char *msg = report_read_message(path, cfg->size_cap, &len, &total);
	int rc;

	if (!msg)
		return EXIT_REFUSED;
	rc = report_parse(msg, len, cfg, &r, err, sizeof(err));
	free(msg);
	rc = show(o, &r) ? EXIT_REFUSED : rc < 0 ? EXIT_NOT_MAIL : 0;
	if (rc == EXIT_NOT_MAIL) {
		fprintf(stderr, "cordonctl: %s: ", path);
		termsafe_fputs(err, 0, stderr);
		fputc('\n', stderr);
	}
	report_parsed_free(&r);
	return rc;
}

struct report_config *report_load_config(const char *types, const char *rules)
{
	char err[512];
	struct report_config *cfg = report_config_load(types, rules, err, sizeof(err));

	if (!cfg) {
		fputs("cordonctl: ", stderr);
		termsafe_fputs(err, 0, stderr);
		fputs(access(types, F_OK) != 0 || access(rules, F_OK) != 0
			      ? " (give --types/--rules, or install conf/ with make install)\n"
			      : "\n", stderr);
	}
	return cfg;
}

int report_conf_args(int argc, char **argv, void (*usage)(FILE *f), const char **types,
		     const char **rules)
{
	static const struct option opts[] = {
		{ "types", required_argument, NULL, 't' },
		{ "rules", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*types = DEFAULT_TYPES;
	*rules = DEFAULT_RULES;
	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't': *types = optarg; break;
		case 'r': *rules = optarg; break;
		case 'h': usage(stdout); return 1;
		default: bad_option(argv); return -1;
		}
	}
	return 0;
}

static int report_parse_cmd(const struct ctl_opts *o, int argc, char **argv)
{
	const char *types, *rules;
	struct report_config *cfg;
	int rc = report_conf_args(argc, argv, report_usage, &types, &rules);

	if (rc != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	if (optind != argc - 1) {
		fprintf(stderr, "cordonctl: usage: cordonctl report parse [--types FILE] [--rules FILE] "
			"[--json] FILE|- (cordonctl report --help)\n");
		return EXIT_USAGE;
	}
	cfg = report_load_config(types, rules);
	if (!cfg)
		return EXIT_REFUSED;
	rc = parse_file(o, argv[optind], cfg);
	report_config_free(cfg);
	return rc;
}

int cmd_report(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct ctl_opts *o, int argc, char **argv);
	} subs[] = {
		{ "parse", report_parse_cmd }, { "ingest", report_ingest_cmd },
		{ "list", report_list_cmd },   { "show", report_show_cmd },
		{ "attach", report_attach_cmd },
	};

	for (size_t i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(o, argc - 1, argv + 1);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		report_usage(stdout);
		return 0;
	}
	fprintf(stderr, "cordonctl: usage: cordonctl report parse|ingest|list|show|attach ..."
		" (cordonctl report --help)\n");
	return EXIT_USAGE;
}
