/* cordonctl prune [--dry-run]: a retention pass now (retention.c), or
 * what it would remove. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "cordonctl.h"
#include "cordonctl_fields.h"

static const char *retention_text(const json_t *r, const char *key, char *buf, size_t len)
{
	long seconds = (long)i_(r, key);

	if (!seconds)
		return "forever";
	calendar_duration_format(seconds, buf, len);
	return buf;
}

static void print_prune(const json_t *r)
{
	const json_t *n = json_object_get(r, "removed"), *keep = json_object_get(r, "retention");
	bool dry = json_is_true(json_object_get(r, "dry_run"));
	char c[CAL_DURATION_STRLEN], a[CAL_DURATION_STRLEN], no[CAL_DURATION_STRLEN],
		re[CAL_DURATION_STRLEN];

	if (json_is_true(json_object_get(r, "keeps_all"))) {
		printf("nothing to prune: every retain_* key of cordond.conf is forever\n");
		return;
	}
	printf("%s:\n", dry ? "would remove (dry run, nothing changed)" : "removed");
	printf("  resolved cases   %8lld  (%lld rows with them)   retain_resolved_cases %s\n",
	       i_(n, "cases"), i_(n, "case_rows"),
	       retention_text(keep, "resolved_cases", c, sizeof(c)));
	printf("  notifications    %8lld                         retain_notifications %s\n",
	       i_(n, "notifications"), retention_text(keep, "notifications", no, sizeof(no)));
	printf("  audit rows       %8lld                         retain_audit %s\n",
	       i_(n, "audit"), retention_text(keep, "audit", a, sizeof(a)));
	printf("  report mails     %8lld  (%lld rows with them)   retain_reports %s\n",
	       i_(n, "reports"), i_(n, "report_rows"),
	       retention_text(keep, "reports", re, sizeof(re)));
	printf("  rows in all      %8lld\n", i_(n, "rows"));
	if (json_is_true(json_object_get(r, "more")))
		printf("more is due: cordond goes on pruning in the background (see its log)\n");
}

int cmd_prune(const struct ctl_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int c, dry_run = 0;

	optind = 0; /* full getopt reset: main() parsed with "+" */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'n')
			return bad_option(argv);
		dry_run = 1;
	}
	if (optind != argc) {
		fprintf(stderr, "cordonctl: usage: cordonctl prune [--dry-run] [--json]\n");
		return EXIT_USAGE;
	}
	return run_simple(o, json_pack("{s:s, s:b}", "cmd", "prune", "dry_run", dry_run),
			  print_prune);
}
