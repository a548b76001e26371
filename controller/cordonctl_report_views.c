/* cordonctl report list, show, attach: the stored report mails, as the
 * abuse desk reviews them. */
#include <getopt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cordonctl.h"
#include "util.h"

static int report_id_arg(const char *s, long *id)
{
	if (parse_long(s, 1, 1000000000000L, id) < 0) {
		fprintf(stderr, "cordonctl: '%s' is not a report id (cordonctl report list shows them)\n",
			s);
		return -1;
	}
	return 0;
}

int report_list_cmd(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unmatched", no_argument, NULL, 'u' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	bool unmatched = false;
	long limit = 100;
	int c;

	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "ul:", opts, NULL)) != -1) {
		if (c == 'u') {
			unmatched = true;
		} else if (c == 'l') {
			if (parse_long(optarg, 1, 10000, &limit) < 0) {
				fprintf(stderr, "cordonctl: --limit '%s' is not 1 to 10000\n", optarg);
				return EXIT_USAGE;
			}
		} else {
			return bad_option(argv);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cordonctl: usage: cordonctl report list [--unmatched] [--limit N]\n");
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:b, s:I}", "cmd", "report_list", "unmatched",
				       unmatched, "limit", (json_int_t)limit),
			  print_report_list);
}

/* The stored message itself, byte for byte, on stdout. */
static int show_raw(const struct ctl_opts *o, long id)
{
	int status;
	json_t *r;
	const char *b64;
	guchar *raw;
	gsize n;

	r = ctl_call(o, json_pack("{s:s, s:I, s:b}", "cmd", "report_show", "report",
				  (json_int_t)id, "raw", 1), &status);
	if (!r)
		return status;
	b64 = json_string_value(json_object_get(r, "raw"));
	raw = g_base64_decode(b64 ? b64 : "", &n);
	status = fwrite(raw, 1, n, stdout) == n ? 0 : EXIT_REFUSED;
	g_free(raw);
	json_decref(r);
	return status;
}

int report_show_cmd(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	bool raw = false;
	long id;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "r", opts, NULL)) != -1) {
		if (c == 'r')
			raw = true;
		else
			return bad_option(argv);
	}
	if (optind != argc - 1) {
		fprintf(stderr, "cordonctl: usage: cordonctl report show ID [--raw]\n");
		return EXIT_USAGE;
	}
	if (report_id_arg(argv[optind], &id) < 0)
		return EXIT_USAGE;
	if (raw)
		return show_raw(o, id);
	return run_simple(o, json_pack("{s:s, s:I}", "cmd", "report_show", "report", (json_int_t)id),
			  print_report_show);
}

int report_attach_cmd(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "case", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	long id, case_id = 0;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c != 'c')
			return bad_option(argv);
		if (parse_long(optarg, 1, 1000000000000L, &case_id) < 0) {
			fprintf(stderr, "cordonctl: --case '%s' is not a case id\n", optarg);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !case_id) {
		fprintf(stderr, "cordonctl: usage: cordonctl report attach ID --case N\n");
		return EXIT_USAGE;
	}
	if (report_id_arg(argv[optind], &id) < 0)
		return EXIT_USAGE;
	return run_simple(o, json_pack("{s:s, s:I, s:I}", "cmd", "report_attach", "report",
				       (json_int_t)id, "case", (json_int_t)case_id),
			  print_report_attached);
}
